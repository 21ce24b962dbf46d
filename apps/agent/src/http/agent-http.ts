import { createServer, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { errorMessage, type Logger } from '@idra/core';
import type { AgentMetrics } from './agent-metrics.ts';

/** Whether the agent should receive work: `reason` says why not. */
export interface Readiness {
  ready: boolean;
  reason: string;
}

export interface AgentHttpOptions {
  /** TCP port; 0 picks a free one (see `port` of the result). */
  port: number;
  /** Listen address. @default all interfaces */
  host?: string | undefined;
  metrics: AgentMetrics;
  /** Read on every `/readyz`: single mode is ready once its syncs started, cluster mode while registered with etcd. */
  readiness: () => Readiness;
  logger: Logger;
}

/** The agent's operations endpoints: `/healthz` (the process serves), `/readyz`, `/metrics` (Prometheus). */
export interface AgentHttp {
  port: number;
  close(): Promise<void>;
}

function send(res: ServerResponse, status: number, contentType: string, body: string): void {
  res.writeHead(status, { 'content-type': contentType, 'cache-control': 'no-store' });
  res.end(res.req.method === 'HEAD' ? undefined : body);
}

const JSON_TYPE = 'application/json; charset=utf-8';

/** Starts the HTTP server and resolves once it listens. */
export async function startAgentHttp(opts: AgentHttpOptions): Promise<AgentHttp> {
  const server = createServer((req, res) => {
    const path = (req.url ?? '/').split('?')[0];
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      res.setHeader('allow', 'GET, HEAD');
      return send(res, 405, JSON_TYPE, JSON.stringify({ error: 'method not allowed' }));
    }
    switch (path) {
      case '/healthz':
        return send(res, 200, JSON_TYPE, JSON.stringify({ status: 'ok' }));
      case '/readyz': {
        const { ready, reason } = opts.readiness();
        return send(res, ready ? 200 : 503, JSON_TYPE, JSON.stringify({ ready, reason }));
      }
      case '/metrics':
        opts.metrics.registry.metrics().then(
          (text) => send(res, 200, opts.metrics.registry.contentType, text),
          (err: unknown) => {
            opts.logger.warn({ err: errorMessage(err) }, 'cannot collect metrics');
            send(res, 500, JSON_TYPE, JSON.stringify({ error: 'cannot collect metrics' }));
          },
        );
        return;
      default:
        return send(res, 404, JSON_TYPE, JSON.stringify({ error: 'not found', paths: ['/healthz', '/readyz', '/metrics'] }));
    }
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(opts.port, opts.host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const { address, port } = server.address() as AddressInfo;
  opts.logger.info({ host: address, port, paths: ['/healthz', '/readyz', '/metrics'] }, `http: serving /healthz, /readyz and /metrics on ${address}:${port}`);
  return {
    port,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}
