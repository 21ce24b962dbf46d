import { createReadStream } from 'node:fs';
import { stat } from 'node:fs/promises';
import { createServer, request, type Server } from 'node:http';
import { extname, join, normalize, sep } from 'node:path';

const TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.json': 'application/json',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.ico': 'image/x-icon',
  '.woff2': 'font/woff2',
  '.map': 'application/json',
};

/**
 * What nginx does in the web-ui container, for the local stack: serves the Vite build in `root`
 * (unknown paths fall back to index.html for client-side routes), answers `/healthz` itself and
 * proxies `/api/` to the API server.
 */
export function startWebServer(opts: { root: string; port: number; host: string; apiUrl: string | undefined }): Promise<Server> {
  const server = createServer((req, res) => {
    const path = decodeURIComponent((req.url ?? '/').split('?')[0]!);
    if (path === '/healthz') {
      res.writeHead(200, { 'content-type': 'application/json' }).end('{"status":"ok"}');
      return;
    }
    if (path.startsWith('/api/')) {
      if (!opts.apiUrl) {
        res.writeHead(502, { 'content-type': 'application/json' }).end('{"error":"the API server is not running in this stack"}');
        return;
      }
      const target = new URL(req.url ?? '/', opts.apiUrl);
      const upstream = request(target, { method: req.method, headers: { ...req.headers, host: target.host } }, (up) => {
        res.writeHead(up.statusCode ?? 502, up.headers);
        up.pipe(res);
      });
      upstream.on('error', () => {
        if (!res.headersSent) res.writeHead(502, { 'content-type': 'application/json' });
        res.end('{"error":"API server unreachable"}');
      });
      req.pipe(upstream);
      return;
    }
    const file = normalize(join(opts.root, path));
    if (!file.startsWith(opts.root + sep) && file !== opts.root) {
      res.writeHead(400).end();
      return;
    }
    void stat(file)
      .then((s) => (s.isFile() ? file : join(opts.root, 'index.html')))
      .catch(() => join(opts.root, 'index.html'))
      .then((served) => {
        res.writeHead(200, { 'content-type': TYPES[extname(served)] ?? 'application/octet-stream' });
        createReadStream(served)
          .on('error', () => res.end())
          .pipe(res);
      });
  });
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(opts.port, opts.host, () => resolve(server));
  });
}
