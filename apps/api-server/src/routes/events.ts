import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from '@sinclair/typebox';
import { ClusterEventHub } from '../events-hub.ts';
import { errors } from '../schemas.ts';
import { hasRole } from '../auth/roles.ts';
import { authenticate, principalOf } from '../plugins/auth.ts';

const HEARTBEAT_MS = 15_000;
/** setTimeout's largest delay (about 24.8 days): a longer session is re-checked then. */
const MAX_TIMER_MS = 2 ** 31 - 1;

/** `GET /events`: server-sent events for the changes of statuses, assignments and agents, coalesced into a few batches a second. */
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
        summary:
          'Server-sent events: `changes` events, each a JSON array of status, assignment and agent changes {kind,type,id,value,revision} — at most one every 500 ms, the latest change of each key only; a comment line every 15 s keeps the stream open',
        // The stream is text/event-stream; refusals (401, 403, 503) are JSON like every error.
        response: { 200: { description: 'The event stream', content: { 'text/event-stream': { schema: Type.String() } } }, ...errors(503) },
      },
    },
    async (req, reply) => {
      const raw = reply.raw;
      const write = (chunk: string) => {
        if (!raw.writableEnded) raw.write(chunk);
      };
      const unsubscribe = await hub.subscribe((batch) => write(`event: changes\ndata: ${JSON.stringify(batch)}\n\n`));
      reply.hijack();
      raw.writeHead(200, {
        'content-type': 'text/event-stream; charset=utf-8',
        'cache-control': 'no-cache, no-transform',
        connection: 'keep-alive',
        'x-accel-buffering': 'no',
      });
      write(`retry: 3000\nevent: ready\ndata: {}\n\n`);
      const heartbeat = setInterval(() => write(': keep-alive\n\n'), HEARTBEAT_MS);
      const p = principalOf(req);
      let offCredentials = () => {};
      let expiry: NodeJS.Timeout | undefined;
      const end = () => {
        clearInterval(heartbeat);
        clearTimeout(expiry);
        offCredentials();
        unsubscribe();
        offClose();
        if (!raw.writableEnded) raw.end();
      };
      const offClose = hub.onClose(end);
      req.raw.on('close', end);
      // Access is checked again whenever the stream's user or token changes: revoked, logged out,
      // deleted or demoted, the stream ends (the client reconnects with what it may still do).
      // A session's stream also ends at the session's expiry.
      const recheck = () => authenticate(app, req).then((now) => (hasRole(now.role, p.role) && !now.mustChangePassword) || end(), end);
      offCredentials = hub.onCredentials((c) => {
        if ((c.kind === 'user' && c.id === p.name) || (c.kind === 'token' && c.id === p.tokenId)) void recheck();
      });
      if (p.expiresAt !== undefined) expiry = setTimeout(end, Math.min(Math.max(0, p.expiresAt - Date.now()), MAX_TIMER_MS));
    },
  );
};
