import { isIP } from 'node:net';
import { parseArgs } from 'node:util';
import { ConfigError, parseDuration } from '@idra/core';
import { sqliteRootsFrom } from '@idra/connectors';

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
  /** Signs session tokens (`IDRA_JWT_SECRET`, ≥ 32 characters); random per process when unset (sessions end on restart). */
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
  /**
   * Connections opened on request per user per minute (`IDRA_TEST_CONNECTION_RATE_LIMIT`): test
   * connection, table listing, source checks. Bounds how fast a user can probe the network through
   * the API server. @default 30
   */
  testConnectionRateLimit: number;
  /** pino level (`--log-level`, `IDRA_LOG_LEVEL`). @default "info" */
  logLevel: string;
  /**
   * Which X-Forwarded-For hops to believe (`IDRA_API_TRUST_PROXY`): the number of reverse proxies in
   * front of the API (`1` behind one nginx; `true` means 1), or the addresses/CIDRs of the proxies
   * (`10.0.0.0/8,192.168.1.5`). Login limits then count clients, not the proxy; a client cannot
   * forge its address by sending the header itself. @default false (the socket's peer is the client)
   */
  trustProxy: false | number | string[];
  /** Directories SQLite data sources may be tested and listed in (`IDRA_SQLITE_ROOTS`, `:`- or `,`-separated). @default none */
  sqliteRoots: string[];
  /** Browser origins allowed to call the API from another origin (`IDRA_API_CORS_ORIGINS`, comma-separated, e.g. where the web UI is served). @default none: same origin only */
  corsOrigins: string[];
  /** Agents the cluster should have (`IDRA_EXPECTED_AGENTS`), exported as `idra_cluster_agents_expected` for the alert on fewer. @default none */
  expectedAgents: number | undefined;
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
  IDRA_JWT_SECRET       signs session tokens, at least 32 characters (random per process when unset: sessions end on restart)
  IDRA_JWT_EXPIRY       session lifetime (default 12h)
  IDRA_SECRET_KEY       encrypts connection secrets in etcd (required to store any; same value on every agent)
  IDRA_ADMIN_PASSWORD   password of the admin user created on first start (default admin, to be changed at first login)
  IDRA_API_BODY_LIMIT   largest request body in bytes (default 1048576)
  IDRA_LOGIN_RATE_LIMIT login attempts per IP and user per minute (default 10)
  IDRA_TEST_CONNECTION_RATE_LIMIT  test connections, table listings and source checks per user per minute (default 30)
  IDRA_API_TRUST_PROXY  behind reverse proxies: their number (1 behind one nginx) or their addresses/CIDRs, comma-separated
  IDRA_SQLITE_ROOTS     directories SQLite data sources may be tested and listed in (default none)
  IDRA_HTTP_ALLOW       internal addresses data sources may reach (CIDRs, addresses, names, *): HTTP ones internal, databases link-local
  IDRA_API_CORS_ORIGINS origins allowed to call the API from a browser page elsewhere (comma-separated)
  IDRA_EXPECTED_AGENTS  agents the cluster should have: exported as a metric, alerted on when fewer are registered
  IDRA_ETCD_USERNAME, IDRA_ETCD_PASSWORD, IDRA_ETCD_CA, IDRA_ETCD_CERT, IDRA_ETCD_KEY: etcd auth and TLS
Subcommand:
  etcd-access           etcd's users and roles for Idra, then etcd auth on (etcd-access --help)
`;

/** Shortest accepted IDRA_JWT_SECRET: 32 characters (HS256 wants a key of at least 256 bits). */
export const MIN_JWT_SECRET = 32;

function integer(name: string, value: string | undefined, fallback: number, min: number, max: number): number {
  if (value === undefined || value === '') return fallback;
  const n = Number(value);
  if (!Number.isInteger(n) || n < min || n > max)
    throw new ConfigError([{ path: name, message: `must be an integer from ${min} to ${max} (got "${value}")` }], 'invalid API server options');
  return n;
}

/**
 * IDRA_API_TRUST_PROXY as Fastify takes it: a hop count or a list of proxy addresses. Never "every
 * hop": X-Forwarded-For entries a client wrote itself would then be taken for its address.
 */
function trustedProxies(value: string | undefined): ServerOptions['trustProxy'] {
  const v = (value ?? '').trim();
  if (v === '' || v === 'false' || v === '0') return false;
  if (v === 'true') return 1;
  if (/^[0-9]+$/.test(v)) return integer('IDRA_API_TRUST_PROXY', v, 1, 1, 10);
  const entries = v
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean);
  const bad = entries.filter((e) => !isAddressOrCidr(e));
  if (bad.length > 0) {
    throw new ConfigError(
      [
        {
          path: 'IDRA_API_TRUST_PROXY',
          message: `must be false, the number of proxies in front (1 to 10), or their IP addresses/CIDRs; not ${bad.map((b) => JSON.stringify(b)).join(', ')}`,
        },
      ],
      'invalid API server options',
    );
  }
  return entries;
}

function isAddressOrCidr(entry: string): boolean {
  const [address, bits, ...rest] = entry.split('/');
  const family = isIP(address ?? '');
  if (family === 0 || rest.length > 0) return false;
  if (bits === undefined) return true;
  const n = Number(bits);
  return /^[0-9]+$/.test(bits) && n <= (family === 4 ? 32 : 128);
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
    throw new ConfigError(
      [{ path: 'IDRA_JWT_EXPIRY', message: `must be a duration of at least 1m, like "12h" (got "${expiry}")` }],
      'invalid API server options',
    );
  }
  const jwtSecret = env.IDRA_JWT_SECRET || undefined;
  if (jwtSecret !== undefined && jwtSecret.length < MIN_JWT_SECRET) {
    throw new ConfigError(
      [
        {
          path: 'IDRA_JWT_SECRET',
          message: `must be at least ${MIN_JWT_SECRET} characters (got ${jwtSecret.length}): a short key lets anyone who guesses it sign sessions; generate one with "openssl rand -base64 48"`,
        },
      ],
      'invalid API server options',
    );
  }
  const secretKey = env.IDRA_SECRET_KEY || undefined;
  if (secretKey !== undefined && secretKey.length < 16) {
    throw new ConfigError([{ path: 'IDRA_SECRET_KEY', message: 'must be at least 16 characters' }], 'invalid API server options');
  }
  return {
    etcd: (values.etcd ?? env.IDRA_ETCD_ENDPOINTS ?? 'http://127.0.0.1:2379')
      .split(',')
      .map((s) => s.trim())
      .filter(Boolean),
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
    jwtSecret,
    sessionTtlMs,
    secretKey,
    adminPassword: env.IDRA_ADMIN_PASSWORD || undefined,
    bodyLimit: integer('IDRA_API_BODY_LIMIT', env.IDRA_API_BODY_LIMIT, 1024 * 1024, 1024, 64 * 1024 * 1024),
    loginRateLimit: integer('IDRA_LOGIN_RATE_LIMIT', env.IDRA_LOGIN_RATE_LIMIT, 10, 1, 100_000),
    testConnectionRateLimit: integer('IDRA_TEST_CONNECTION_RATE_LIMIT', env.IDRA_TEST_CONNECTION_RATE_LIMIT, 30, 1, 100_000),
    logLevel: values['log-level'] ?? env.IDRA_LOG_LEVEL ?? 'info',
    trustProxy: trustedProxies(env.IDRA_API_TRUST_PROXY),
    sqliteRoots: sqliteRootsFrom(env.IDRA_SQLITE_ROOTS) ?? [],
    corsOrigins: (env.IDRA_API_CORS_ORIGINS ?? '')
      .split(',')
      .map((s) => s.trim())
      .filter(Boolean),
    expectedAgents: env.IDRA_EXPECTED_AGENTS ? integer('IDRA_EXPECTED_AGENTS', env.IDRA_EXPECTED_AGENTS, 0, 1, 10_000) : undefined,
  };
}
