import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { request } from 'node:http';
import { readFile, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freePort, tempDir } from '@idra/testkit';
import { parseServerOptions, type ServerOptions } from '../src/options.ts';
import { startTestServer, type TestServer } from '@idra/api-server/testing';

const NGINX = ['/usr/sbin/nginx', '/usr/bin/nginx'].find((p) => spawnSync(p, ['-v']).status === 0);
const TEMPLATE = resolve(import.meta.dirname, '../../../deploy/docker/web-ui/default.conf.template');

/** Login attempts with a different forged X-Forwarded-For each time; the statuses answered. */
async function forgedLogins(base: string, n: number, forwardedFor: (i: number) => string): Promise<number[]> {
  const statuses: number[] = [];
  for (let i = 0; i < n; i++) {
    const r = await fetch(`${base}/api/v1/auth/login`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-forwarded-for': forwardedFor(i) },
      body: JSON.stringify({ username: 'admin', password: `guess-${i}` }),
    });
    statuses.push(r.status);
  }
  return statuses;
}

/** One login with `password` sent from the local address `from` (any of 127.0.0.0/8 on Linux): its status. */
function loginFrom(base: string, from: string, password: string): Promise<number> {
  const body = JSON.stringify({ username: 'admin', password });
  return new Promise((resolve, reject) => {
    const req = request(
      `${base}/api/v1/auth/login`,
      { method: 'POST', localAddress: from, headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) } },
      (res) => {
        res.resume();
        res.on('end', () => resolve(res.statusCode!));
      },
    );
    req.on('error', reject);
    req.end(body);
  });
}

const trustFrom = (value: string): ServerOptions['trustProxy'] => (parseServerOptions([], { IDRA_API_TRUST_PROXY: value }) as ServerOptions).trustProxy;

describe('login limits behind a reverse proxy cannot be dodged with a forged X-Forwarded-For', () => {
  let s: TestServer;
  let base: string;
  beforeAll(async () => {
    // IDRA_API_TRUST_PROXY=true, as deployments behind one proxy set it.
    s = await startTestServer({ loginRateLimit: 3, trustProxy: trustFrom('true') }, { users: false });
    base = await s.app.listen({ host: '127.0.0.1', port: 0 });
  });
  afterAll(async () => s.close());

  it('counts the address the proxy saw, not the ones the client wrote', async () => {
    // What a proxy appending to the header ($proxy_add_x_forwarded_for) forwards for a client at
    // 203.0.113.7 that sends a new forged address each time.
    const statuses = await forgedLogins(base, 6, (i) => `10.66.0.${i}, 203.0.113.7`);
    expect(statuses).toEqual([401, 401, 401, 429, 429, 429]);
  });

  it.skipIf(!NGINX)(
    NGINX
      ? 'the shipped nginx config in front of the API: rotating forged headers still hit the limit, and another address is not locked out'
      : 'nginx in front (nginx is not installed)',
    async () => {
      const proxied = await startTestServer({ loginRateLimit: 3, trustProxy: trustFrom('true') }, { users: false });
      let nginx: ChildProcess | undefined;
      try {
        const api = new URL(await proxied.app.listen({ host: '127.0.0.1', port: 0 }));
        const dir = await tempDir('idra-nginx-');
        const port = await freePort();
        const server = (await readFile(TEMPLATE, 'utf8')).replaceAll('${IDRA_API_UPSTREAM}', api.host).replaceAll('${IDRA_WEB_PORT}', `127.0.0.1:${port}`);
        const conf = join(dir, 'nginx.conf');
        await writeFile(
          conf,
          `daemon off;\npid ${dir}/nginx.pid;\nerror_log ${dir}/error.log;\nevents {}\nhttp {\n  access_log off;\n` +
            ['client_body', 'proxy', 'fastcgi', 'uwsgi', 'scgi'].map((t) => `  ${t}_temp_path ${dir}/${t};\n`).join('') +
            `${server}\n}\n`,
        );
        nginx = spawn(NGINX!, ['-p', dir, '-c', conf], { stdio: ['ignore', 'ignore', 'pipe'] });
        let stderr = '';
        nginx.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
        const web = `http://127.0.0.1:${port}`;
        const deadline = Date.now() + 20_000;
        while (
          !(await fetch(`${web}/healthz`).then(
            (r) => r.ok,
            () => false,
          ))
        ) {
          if (Date.now() > deadline) throw new Error(`nginx did not start: ${stderr}`);
          await new Promise((r) => setTimeout(r, 50));
        }
        expect(await forgedLogins(web, 6, (i) => `10.77.0.${i}`)).toEqual([401, 401, 401, 429, 429, 429]);
        // The limit is that client's: even the right password waits there, while the admin at another address logs in.
        expect(await loginFrom(web, '127.0.0.1', 'admin')).toBe(429);
        expect(await loginFrom(web, '127.0.0.2', 'admin')).toBe(200);
      } finally {
        nginx?.kill('SIGTERM');
        await proxied.close();
      }
    },
  );
});
