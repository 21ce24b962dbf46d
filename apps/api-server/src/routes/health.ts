import fp from 'fastify-plugin';
import type { FastifyInstance } from 'fastify';
import { errorMessage } from '@idra/core';

const READY_TIMEOUT_MS = 2000;

/** `/healthz` (process up), `/readyz` (etcd answers), `/metrics` (Prometheus), and the request metrics. */
export const health = fp(async (app: FastifyInstance) => {
  const { etcd, metrics } = app.idra;

  app.addHook('onResponse', async (req, reply) => {
    const route = req.routeOptions.url ?? 'unknown';
    metrics.requests.inc({ method: req.method, route, status: String(reply.statusCode) });
    metrics.latency.observe({ method: req.method, route }, reply.elapsedTime / 1000);
  });

  app.get('/healthz', { config: { access: 'public' }, schema: { tags: ['health'], summary: 'The process is up' } }, async () => ({ status: 'ok' }));

  app.get('/readyz', { config: { access: 'public' }, schema: { tags: ['health'], summary: 'etcd answers (503 otherwise)' } }, async (_req, reply) => {
    let timer: NodeJS.Timeout | undefined;
    try {
      await Promise.race([
        etcd.client.maintenance.status(),
        new Promise((_, reject) => (timer = setTimeout(() => reject(new Error(`etcd did not answer within ${READY_TIMEOUT_MS} ms`)), READY_TIMEOUT_MS))),
      ]);
      return { status: 'ready' };
    } catch (err) {
      metrics.etcdErrors.inc({ where: 'readyz' });
      return reply.code(503).send({ code: 'IDRA_ERR_ETCD_UNAVAILABLE', message: `etcd cannot be reached: ${errorMessage(err)}` });
    } finally {
      clearTimeout(timer);
    }
  });

  app.get('/metrics', { config: { access: 'public' }, schema: { tags: ['health'], summary: 'Prometheus metrics' } }, async (_req, reply) =>
    reply.type(metrics.registry.contentType).send(await metrics.registry.metrics()),
  );
});
