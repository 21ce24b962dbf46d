import { parseArgs } from 'node:util';
import { hostname } from 'node:os';
import { randomBytes } from 'node:crypto';
import { ConfigError, LABEL_NAME_PATTERN, LABEL_VALUE_PATTERN, parseDuration } from '@idra/core';
import { sqliteRootsFrom } from '@idra/connectors';

/** Everything the agent process is configured with, normalized. */
export interface AgentOptions {
  /** Single mode: the JSON file of syncs (`--config`, `IDRA_CONFIG`). */
  config: string | undefined;
  /** Run the bundled SQLite example (`--example`). */
  example: boolean;
  /** Single mode: where offsets and dead letters live (`--state-dir`, `IDRA_STATE_DIR`). @default ".idra" */
  stateDir: string;
  /** Cluster mode when set (`--etcd`, `IDRA_ETCD_ENDPOINTS`, comma-separated). */
  etcd: string[] | undefined;
  /** etcd key prefix (`--prefix`, `IDRA_ETCD_PREFIX`). @default "/idra/" */
  prefix: string;
  /** Unique per process (`--agent-id`, `IDRA_AGENT_ID`). @default "<hostname>-<pid>-<random>" */
  agentId: string;
  /** pino level (`--log-level`, `IDRA_LOG_LEVEL`). @default "info" */
  logLevel: string;
  /** How long SIGTERM waits for batches in flight before aborting them. @default 10000 */
  shutdownTimeoutMs: number;
  /** Interval of the per-sync progress log line. @default 5000 */
  progressIntervalMs: number;
  /** Port of /healthz, /readyz and /metrics (`--http-port`, `IDRA_HTTP_PORT`); 0 = off. @default 0 */
  httpPort: number;
  /** Address the HTTP endpoints listen on (`--http-host`, `IDRA_HTTP_HOST`): 0.0.0.0 in containers, where probes and Prometheus come from outside. @default "127.0.0.1" */
  httpHost: string;
  /** Cluster mode: where the agent runs (`--labels region=eu,net=dc1`, `IDRA_AGENT_LABELS`); syncs whose placement asks for labels run only on agents with them. @default {} */
  labels: Record<string, string>;
  /** Cluster mode: the most syncs the leader assigns to this agent (`--max-syncs`, `IDRA_AGENT_MAX_SYNCS`). @default no limit */
  maxSyncs: number | undefined;
  /** Cluster mode: TTL of the agent's etcd lease (`--lease-ttl`, `IDRA_LEASE_TTL`); failover takes about this long. @default 3000 */
  leaseTtlMs: number;
  /** etcd credentials and TLS files (`IDRA_ETCD_USERNAME`, `IDRA_ETCD_PASSWORD`, `IDRA_ETCD_CA`, `IDRA_ETCD_CERT`, `IDRA_ETCD_KEY`). */
  etcdAuth: { username?: string | undefined; password?: string | undefined; ca?: string | undefined; cert?: string | undefined; key?: string | undefined };
  /** Decrypts connection secrets stored in etcd (`IDRA_SECRET_KEY`); must match the API server's. */
  secretKey: string | undefined;
  /**
   * Directories SQLite files may be in, symlinks resolved (`IDRA_SQLITE_ROOTS`, `:`- or `,`-separated).
   * @default single mode: the state dir and the working dir; cluster mode: none (syncs come from API users)
   */
  sqliteRoots: string[] | undefined;
}

export const USAGE = `Usage: idra-agent [options]

Single mode (no etcd):  idra-agent --config syncs.json [--state-dir .idra]
Bundled example:        idra-agent --example
Cluster mode:           idra-agent --etcd http://127.0.0.1:2379[,http://…]
Offsets (single mode):  idra-agent offsets <get|history|set> <sync-id> --config syncs.json (see idra-agent offsets --help)

Options (environment variable in brackets):
  --config <file>            syncs file: {"dataSources": [...], "syncs": [...]}, a sync array, or a Go Idra export [IDRA_CONFIG]
  --state-dir <dir>          single mode: offsets and rejected rows (default .idra) [IDRA_STATE_DIR]
  --etcd <urls>              etcd endpoints, comma-separated: cluster mode [IDRA_ETCD_ENDPOINTS]
  --prefix <prefix>          etcd key prefix (default /idra/) [IDRA_ETCD_PREFIX]
  --agent-id <id>            agent id, unique per process (default host-pid-random) [IDRA_AGENT_ID]
  --log-level <level>        trace|debug|info|warn|error (default info) [IDRA_LOG_LEVEL]
  --shutdown-timeout <dur>   wait for batches in flight on SIGTERM (default 10s) [IDRA_SHUTDOWN_TIMEOUT]
  --progress-interval <dur>  progress log interval (default 5s) [IDRA_PROGRESS_INTERVAL]
  --http-port <port>         serve /healthz, /readyz, /metrics (default off) [IDRA_HTTP_PORT]
  --http-host <address>      address they listen on (default 127.0.0.1; the images set 0.0.0.0) [IDRA_HTTP_HOST]
  --lease-ttl <dur>          cluster mode: agent lease TTL, ≈ failover time (default 3s) [IDRA_LEASE_TTL]
  --labels <k=v,...>         cluster mode: where this agent runs, e.g. region=eu,net=dc1; a sync (or its data
                             source) with placement {"region":"eu"} runs only on agents labelled so [IDRA_AGENT_LABELS]
  --max-syncs <n>            cluster mode: the most syncs this agent runs (default no limit) [IDRA_AGENT_MAX_SYNCS]
                             etcd auth/TLS: IDRA_ETCD_USERNAME, IDRA_ETCD_PASSWORD, IDRA_ETCD_CA, IDRA_ETCD_CERT, IDRA_ETCD_KEY
                             connection secrets in etcd are decrypted with IDRA_SECRET_KEY (same as the API server's)
                             IDRA_SQLITE_ROOTS: directories SQLite files may be in (default: single mode the state
                             dir and the working dir, cluster mode none); IDRA_HTTP_ALLOW: internal addresses HTTP (link-local ones databases) may reach
  --example                  run the bundled SQLite → SQLite example
  -h, --help                 show this help

Exit codes: 0 stopped by SIGTERM/SIGINT · 1 could not start (e.g. the state dir is in use) · 2 invalid options or
configuration · 3 single mode: every sync failed and waits for a fix (status.json says why; a sync failing on a password or a
missing table retries by itself and keeps the agent up) · 4 single mode: no sync is enabled
`;

function duration(name: string, value: string | undefined, fallback: number): number {
  if (value === undefined) return fallback;
  const ms = parseDuration(value);
  if (ms === undefined) throw new ConfigError([{ path: name, message: `must be a duration like "10s" (got "${value}")` }], 'invalid agent options');
  return ms;
}

/** `region=eu,net=dc1` → `{ region: 'eu', net: 'dc1' }`, each name and value checked. */
export function parseLabels(text: string | undefined): Record<string, string> {
  const labels: Record<string, string> = {};
  for (const pair of (text ?? '')
    .split(',')
    .map((p) => p.trim())
    .filter(Boolean)) {
    const eq = pair.indexOf('=');
    const name = eq < 0 ? pair : pair.slice(0, eq).trim();
    const value = eq < 0 ? undefined : pair.slice(eq + 1).trim();
    const problem =
      value === undefined
        ? `'${pair}' is not name=value`
        : !new RegExp(LABEL_NAME_PATTERN).test(name)
          ? `label name '${name}' must be letters, digits, _ . - / (max 63, starting and ending with a letter or digit)`
          : !new RegExp(LABEL_VALUE_PATTERN).test(value)
            ? `label value '${value}' of ${name} must be letters, digits, _ . - (max 63, starting and ending with a letter or digit)`
            : name in labels
              ? `label ${name} is given twice`
              : undefined;
    if (problem) throw new ConfigError([{ path: '--labels', message: problem }], 'invalid agent options');
    labels[name] = value!;
  }
  return labels;
}

function parseMaxSyncs(text: string | undefined): number | undefined {
  if (text === undefined || text === '') return undefined;
  const n = Number(text);
  if (!Number.isInteger(n) || n < 0 || n > 100_000)
    throw new ConfigError([{ path: '--max-syncs', message: `must be a whole number of syncs, 0 or more (got "${text}")` }], 'invalid agent options');
  return n;
}

/** Parses argv and the environment into complete agent options. */
export function parseAgentOptions(argv: string[], env: NodeJS.ProcessEnv = process.env): AgentOptions | 'help' {
  const { values } = parseArgs({
    args: argv,
    options: {
      config: { type: 'string' },
      'state-dir': { type: 'string' },
      etcd: { type: 'string' },
      prefix: { type: 'string' },
      'agent-id': { type: 'string' },
      'log-level': { type: 'string' },
      'shutdown-timeout': { type: 'string' },
      'progress-interval': { type: 'string' },
      'http-port': { type: 'string' },
      'http-host': { type: 'string' },
      'lease-ttl': { type: 'string' },
      labels: { type: 'string' },
      'max-syncs': { type: 'string' },
      example: { type: 'boolean', default: false },
      help: { type: 'boolean', short: 'h', default: false },
    },
    strict: true,
    allowPositionals: false,
  });
  if (values.help) return 'help';
  const etcd = (values.etcd ?? env.IDRA_ETCD_ENDPOINTS)
    ?.split(',')
    .map((s) => s.trim())
    .filter(Boolean);
  const httpPort = Number(values['http-port'] ?? env.IDRA_HTTP_PORT ?? 0);
  if (!Number.isInteger(httpPort) || httpPort < 0 || httpPort > 65535) {
    throw new ConfigError([{ path: '--http-port', message: 'must be a port number' }], 'invalid agent options');
  }
  const prefix = values.prefix ?? env.IDRA_ETCD_PREFIX ?? '/idra/';
  return {
    config: values.config ?? env.IDRA_CONFIG,
    example: values.example ?? false,
    stateDir: values['state-dir'] ?? env.IDRA_STATE_DIR ?? '.idra',
    etcd: etcd && etcd.length > 0 ? etcd : undefined,
    prefix: prefix.endsWith('/') ? prefix : `${prefix}/`,
    agentId: values['agent-id'] ?? env.IDRA_AGENT_ID ?? `${hostname()}-${process.pid}-${randomBytes(3).toString('hex')}`,
    logLevel: values['log-level'] ?? env.IDRA_LOG_LEVEL ?? 'info',
    shutdownTimeoutMs: duration('--shutdown-timeout', values['shutdown-timeout'] ?? env.IDRA_SHUTDOWN_TIMEOUT, 10_000),
    progressIntervalMs: duration('--progress-interval', values['progress-interval'] ?? env.IDRA_PROGRESS_INTERVAL, 5_000),
    httpPort,
    httpHost: values['http-host'] ?? env.IDRA_HTTP_HOST ?? '127.0.0.1',
    leaseTtlMs: duration('--lease-ttl', values['lease-ttl'] ?? env.IDRA_LEASE_TTL, 3_000),
    labels: parseLabels(values.labels ?? env.IDRA_AGENT_LABELS),
    maxSyncs: parseMaxSyncs(values['max-syncs'] ?? env.IDRA_AGENT_MAX_SYNCS),
    etcdAuth: {
      username: env.IDRA_ETCD_USERNAME,
      password: env.IDRA_ETCD_PASSWORD,
      ca: env.IDRA_ETCD_CA,
      cert: env.IDRA_ETCD_CERT,
      key: env.IDRA_ETCD_KEY,
    },
    secretKey: env.IDRA_SECRET_KEY,
    sqliteRoots: sqliteRootsFrom(env.IDRA_SQLITE_ROOTS),
  };
}
