import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from '@sinclair/typebox';
import { ClusterEventHub } from '../events-hub.ts';
import { errors } from '../schemas.ts';

const HEARTBEAT_MS = 15_000;

/** `GET /events`: server-sent events for every change of status, assignments and agents. */
export const eventRoutes: FastifyPluginAsyncTypebox = async (app) => {
  const hub = new ClusterEventHub(app.idra.etcd.ns, app.log);
  // Open streams would keep the server from closing: end them first.
  app.addHook('preClose', async () => hub.close());

  app.get(
    '/events',
    {
      config: { access: 'viewer' },
      schema: {
        tags: ['status'],
        summary: 'Server-sent events: `status`, `assignment`, `agent` changes as {kind,type,id,value,revision}; a comment line every 15 s keeps the stream open',
        produces: ['text/event-stream'],
        response: { 200: Type.String({ description: 'text/event-stream' }), ...errors(503) },
      },
    },
    async (req, reply) => {
      const raw = reply.raw;
      const write = (chunk: string) => {
        if (!raw.writableEnded) raw.write(chunk);
      };
      const unsubscribe = await hub.subscribe((e) => write(`event: ${e.kind}\ndata: ${JSON.stringify(e)}\n\n`));
      reply.hijack();
      raw.writeHead(200, { 'content-type': 'text/event-stream; charset=utf-8', 'cache-control': 'no-cache, no-transform', connection: 'keep-alive', 'x-accel-buffering': 'no' });
      write(`retry: 3000\nevent: ready\ndata: {}\n\n`);
      const heartbeat = setInterval(() => write(': keep-alive\n\n'), HEARTBEAT_MS);
      const end = () => {
        clearInterval(heartbeat);
        unsubscribe();
        offClose();
        if (!raw.writableEnded) raw.end();
      };
      const offClose = hub.onClose(end);
      req.raw.on('close', end);
    },
  );
};
