import { randomBytes } from 'node:crypto';
import cors from '@fastify/cors';
import Fastify, { type FastifyInstance } from 'fastify';
import pino, { type DestinationStream } from 'pino';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import { confineSqliteFiles } from '@idra/connectors';
import { errorMessage, logSchemaOptions } from '@idra/core';
import { createContext } from './context.ts';
import { exportClusterMetrics } from './cluster-metrics.ts';
import type { ServerOptions } from './options.ts';
import { errorHandling, frameworkErrors } from './plugins/errors.ts';
import { authentication } from './plugins/auth.ts';
import { authRoutes } from './routes/auth.ts';
import { docs } from './plugins/docs.ts';
import { health } from './routes/health.ts';
import { userRoutes } from './routes/users.ts';
import { tokenRoutes } from './routes/tokens.ts';
import { dataSourceRoutes } from './routes/datasources.ts';
import { syncRoutes } from './routes/syncs.ts';
import { transferRoutes } from './routes/transfer.ts';
import { migrateRoutes } from './routes/migrate.ts';
import { offsetRoutes } from './routes/offsets.ts';
import { statusRoutes } from './routes/status.ts';
import { activityRoutes } from './routes/activity.ts';
import { deadLetterRoutes } from './routes/dead-letters.ts';
import { agentRoutes } from './routes/agents.ts';
import { clusterRoutes } from './routes/cluster.ts';
import { eventRoutes } from './routes/events.ts';
import { connectorRoutes } from './routes/connectors.ts';
import { notificationRoutes } from './routes/notifications.ts';

/** Log paths that may hold credentials: never written, whatever the level. */
const REDACT = [
  'req.headers.authorization',
  'req.headers.cookie',
  'req.body',
  'body',
  'password',
  '*.password',
  'currentPassword',
  'newPassword',
  'token',
  '*.token',
  'connection',
  '*.connection',
];

export interface AppDependencies {
  /** Where logs go (tests capture them). @default stdout */
  logStream?: DestinationStream;
}

/**
 * Creates `admin` on first start. When etcd cannot be reached yet the server starts anyway (its
 * /readyz says so) and keeps trying in the background.
 */
async function bootstrapAdmin(app: FastifyInstance<any, any, any, any, any>, password: string | undefined): Promise<void> {
  const attempt = async () => {
    const admin = await app.idra.users.ensureBootstrapAdmin(password);
    if (admin) {
      app.log.warn(
        admin.mustChangePassword
          ? "created user 'admin' with the default password 'admin': it must be changed at the first login"
          : "created user 'admin' with the password from IDRA_ADMIN_PASSWORD",
      );
    }
  };
  try {
    await attempt();
  } catch (err) {
    app.log.error({ err: errorMessage(err) }, 'cannot reach etcd to check the users; retrying in the background');
    let closed = false;
    app.addHook('onClose', async () => {
      closed = true;
    });
    void (async () => {
      for (let delay = 1000; !closed; delay = Math.min(delay * 2, 30_000)) {
        await new Promise((r) => setTimeout(r, delay).unref());
        if (closed) return;
        try {
          return await attempt();
        } catch (retryErr) {
          app.log.warn({ err: errorMessage(retryErr) }, 'still cannot reach etcd to check the users');
        }
      }
    })();
  }
}

/** Fastify's form of the trusted proxies: a hop count becomes "the first n hops from the socket". */
function trustProxy(trusted: ServerOptions['trustProxy']): boolean | string[] | ((address: string, hop: number) => boolean) {
  return typeof trusted === 'number' ? (_address, hop) => hop < trusted : trusted;
}

/** The API server: plugins composed over one etcd connection. Call `ready()` or `listen()` next. */
export async function buildApp(opts: ServerOptions, deps: AppDependencies = {}): Promise<FastifyInstance> {
  const logger = pino(
    { level: opts.logLevel, ...logSchemaOptions('idra-api'), redact: { paths: REDACT, censor: '[redacted]' } },
    deps.logStream ?? process.stdout,
  );
  const app = Fastify({
    loggerInstance: logger,
    bodyLimit: opts.bodyLimit,
    return503OnClosing: true,
    frameworkErrors,
    trustProxy: trustProxy(opts.trustProxy),
  }).withTypeProvider<TypeBoxTypeProvider>();

  let jwtSecret = opts.jwtSecret;
  if (!jwtSecret) {
    jwtSecret = randomBytes(32).toString('base64url');
    app.log.warn('IDRA_JWT_SECRET is not set: sessions are signed with a random key and end when this process stops (and are not valid on other API servers)');
  }
  if (!opts.secretKey) app.log.warn('IDRA_SECRET_KEY is not set: data sources and syncs holding passwords cannot be stored');

  // Test connection and table listing open SQLite files named by API users: only under the configured directories.
  confineSqliteFiles(opts.sqliteRoots);
  const ctx = createContext(
    {
      endpoints: opts.etcd,
      prefix: opts.prefix,
      username: opts.etcdAuth.username,
      password: opts.etcdAuth.password,
      tls: { ca: opts.etcdAuth.ca, cert: opts.etcdAuth.cert, key: opts.etcdAuth.key },
    },
    opts.secretKey,
    app.log,
  );
  app.decorate('idra', ctx);
  exportClusterMetrics(ctx.metrics, ctx.etcd, opts.expectedAgents);
  app.addHook('onClose', async () => ctx.etcd.close());

  await app.register(errorHandling);
  // Cross-origin browser calls only from the origins the operator lists (the UI served elsewhere).
  if (opts.corsOrigins.length > 0) {
    await app.register(cors, {
      origin: opts.corsOrigins,
      credentials: false,
      // Every method the API has: the UI on another origin edits (PUT/PATCH) and deletes too.
      methods: ['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE'],
      allowedHeaders: ['Authorization', 'Content-Type'],
      maxAge: 600,
    });
  }
  await app.register(docs);
  await app.register(health);
  const auth = { jwtSecret, sessionTtlMs: opts.sessionTtlMs, loginRateLimit: opts.loginRateLimit };
  await app.register(authentication, auth);
  await app.register(
    async (api) => {
      await api.register(authRoutes, auth);
      await api.register(userRoutes);
      await api.register(tokenRoutes);
      await api.register(connectorRoutes);
      const probes = { testConnectionRateLimit: opts.testConnectionRateLimit };
      await api.register(dataSourceRoutes, probes);
      await api.register(syncRoutes, probes);
      await api.register(transferRoutes);
      await api.register(migrateRoutes);
      await api.register(offsetRoutes);
      await api.register(statusRoutes);
      await api.register(activityRoutes);
      await api.register(deadLetterRoutes);
      await api.register(agentRoutes);
      await api.register(clusterRoutes);
      await api.register(eventRoutes);
      await api.register(notificationRoutes);
    },
    { prefix: '/api/v1' },
  );

  await bootstrapAdmin(app, opts.adminPassword);
  return app as unknown as FastifyInstance;
}
