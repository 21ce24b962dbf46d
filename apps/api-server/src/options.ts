import { parseArgs } from 'node:util';
import { ConfigError, parseDuration } from '@idra/core';

/** Everything the API server is configured with, normalized. */
export interface ServerOptions {
  /** etcd client URLs (`--etcd`, `IDRA_ETCD_ENDPOINTS`, comma-separated). @default ["http://127.0.0.1:2379"] */
  etcd: string[];
  /** etcd key prefix of the cluster (`--prefix`, `IDRA_ETCD_PREFIX`). @default "/idra/" */
  prefix: string;
  /** etcd credentials and TLS files (`IDRA_ETCD_USERNAME`, `IDRA_ETCD_PASSWORD`, `IDRA_ETCD_CA`, `IDRA_ETCD_CERT`, `IDRA_ETCD_KEY`). */
  etcdAuth: { username?: string | undefined; password?: string | undefined; ca?: string | undefined; cert?: string | undefined; key?: string | undefined };
  /** Listen address (`--host`, `IDRA_API_HOST`). @default "127.0.0.1" */
  host: string;
  /** Listen port (`--port`, `IDRA_API_PORT`). @default 8080 */
  port: number;
  /** Signs session tokens (`IDRA_JWT_SECRET`); random per process when unset (sessions end on restart). */
  jwtSecret: string | undefined;
  /** Lifetime of a session token (`IDRA_JWT_EXPIRY`). @default 43200000 (12 h) */
  sessionTtlMs: number;
  /** Encrypts connection secrets at rest (`IDRA_SECRET_KEY`, ≥ 16 characters); the agents need the same value. */
  secretKey: string | undefined;
  /** Password of the `admin` user created on first start (`IDRA_ADMIN_PASSWORD`). @default "admin" (must be changed at first login) */
  adminPassword: string | undefined;
  /** Largest accepted request body in bytes (`IDRA_API_BODY_LIMIT`). @default 1048576 */
  bodyLimit: number;
  /** Login attempts per client IP and user name per minute (`IDRA_LOGIN_RATE_LIMIT`). @default 10 */
  loginRateLimit: number;
  /** pino level (`--log-level`, `IDRA_LOG_LEVEL`). @default "info" */
  logLevel: string;
  /** Take the client address from X-Forwarded-For (`IDRA_API_TRUST_PROXY=true`): set behind a reverse proxy, so that login limits count clients, not the proxy. @default false */
  trustProxy: boolean;
  /** Browser origins allowed to call the API from another origin (`IDRA_API_CORS_ORIGINS`, comma-separated, e.g. where the web UI is served). @default none: same origin only */
  corsOrigins: string[];
}

export const USAGE = `Usage: idra-api [options]

Options (environment variable in brackets):
  --etcd <urls>        etcd endpoints, comma-separated (default http://127.0.0.1:2379) [IDRA_ETCD_ENDPOINTS]
  --prefix <prefix>    etcd key prefix (default /idra/) [IDRA_ETCD_PREFIX]
  --host <addr>        listen address (default 127.0.0.1) [IDRA_API_HOST]
  --port <port>        listen port (default 8080) [IDRA_API_PORT]
  --log-level <level>  trace|debug|info|warn|error (default info) [IDRA_LOG_LEVEL]
  -h, --help           show this help
Environment only:
  IDRA_JWT_SECRET       signs session tokens (random per process when unset: sessions end on restart)
  IDRA_JWT_EXPIRY       session lifetime (default 12h)
  IDRA_SECRET_KEY       encrypts connection secrets in etcd (required to store any; same value on every agent)
  IDRA_ADMIN_PASSWORD   password of the admin user created on first start (default admin, to be changed at first login)
  IDRA_API_BODY_LIMIT   largest request body in bytes (default 1048576)
  IDRA_LOGIN_RATE_LIMIT login attempts per IP and user per minute (default 10)
  IDRA_API_TRUST_PROXY  true: client addresses from X-Forwarded-For (behind a reverse proxy)
  IDRA_API_CORS_ORIGINS origins allowed to call the API from a browser page elsewhere (comma-separated)
  IDRA_ETCD_USERNAME, IDRA_ETCD_PASSWORD, IDRA_ETCD_CA, IDRA_ETCD_CERT, IDRA_ETCD_KEY: etcd auth and TLS
`;

function integer(name: string, value: string | undefined, fallback: number, min: number, max: number): number {
  if (value === undefined || value === '') return fallback;
  const n = Number(value);
  if (!Number.isInteger(n) || n < min || n > max) throw new ConfigError([{ path: name, message: `must be an integer from ${min} to ${max} (got "${value}")` }], 'invalid API server options');
  return n;
}

/** Parses argv and the environment into complete server options. */
export function parseServerOptions(argv: string[], env: NodeJS.ProcessEnv = process.env): ServerOptions | 'help' {
  const { values } = parseArgs({
    args: argv,
    options: {
      etcd: { type: 'string' },
      prefix: { type: 'string' },
      host: { type: 'string' },
      port: { type: 'string' },
      'log-level': { type: 'string' },
      help: { type: 'boolean', short: 'h' },
    },
    strict: true,
  });
  if (values.help) return 'help';
  const expiry = env.IDRA_JWT_EXPIRY;
  const sessionTtlMs = expiry ? parseDuration(expiry) : 12 * 3600_000;
  if (sessionTtlMs === undefined || sessionTtlMs < 60_000) {
    throw new ConfigError([{ path: 'IDRA_JWT_EXPIRY', message: `must be a duration of at least 1m, like "12h" (got "${expiry}")` }], 'invalid API server options');
  }
  const secretKey = env.IDRA_SECRET_KEY || undefined;
  if (secretKey !== undefined && secretKey.length < 16) {
    throw new ConfigError([{ path: 'IDRA_SECRET_KEY', message: 'must be at least 16 characters' }], 'invalid API server options');
  }
  return {
    etcd: (values.etcd ?? env.IDRA_ETCD_ENDPOINTS ?? 'http://127.0.0.1:2379').split(',').map((s) => s.trim()).filter(Boolean),
    prefix: values.prefix ?? env.IDRA_ETCD_PREFIX ?? '/idra/',
    etcdAuth: {
      username: env.IDRA_ETCD_USERNAME,
      password: env.IDRA_ETCD_PASSWORD,
      ca: env.IDRA_ETCD_CA,
      cert: env.IDRA_ETCD_CERT,
      key: env.IDRA_ETCD_KEY,
    },
    host: values.host ?? env.IDRA_API_HOST ?? '127.0.0.1',
    port: integer('--port', values.port ?? env.IDRA_API_PORT, 8080, 0, 65535),
    jwtSecret: env.IDRA_JWT_SECRET || undefined,
    sessionTtlMs,
    secretKey,
    adminPassword: env.IDRA_ADMIN_PASSWORD || undefined,
    bodyLimit: integer('IDRA_API_BODY_LIMIT', env.IDRA_API_BODY_LIMIT, 1024 * 1024, 1024, 64 * 1024 * 1024),
    loginRateLimit: integer('IDRA_LOGIN_RATE_LIMIT', env.IDRA_LOGIN_RATE_LIMIT, 10, 1, 100_000),
    logLevel: values['log-level'] ?? env.IDRA_LOG_LEVEL ?? 'info',
    trustProxy: env.IDRA_API_TRUST_PROXY === 'true',
    corsOrigins: (env.IDRA_API_CORS_ORIGINS ?? '').split(',').map((s) => s.trim()).filter(Boolean),
  };
}
