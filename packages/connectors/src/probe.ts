import {
  errorMessage,
  modeInfo,
  scrubSecrets,
  secretValues,
  type Connection,
  type Connector,
  type ConnectorKind,
  type DiscoveredObject,
  type ProbeOptions,
  type SourceCheck,
  type Sync,
  type TransactionVisibility,
  type ChangeLogReadiness,
  followsLog,
} from '@idra/core';
import { loadConnector } from './registry.ts';
import { TargetRefused } from './records/address-guard.ts';
import { blindRefusal, blindWarning } from './sql/watermark.ts';

/** What trying a connection found. `error` is the driver's text, with the connection's secrets removed. */
export interface ConnectionTestResult {
  ok: boolean;
  connector: string;
  /** Time to connect and run the probe, in milliseconds. */
  latencyMs: number;
  error?: string | undefined;
  /** SQL connections: without it, an `id`/`timestamp` sync from this source runs only with `delayMs`. */
  transactions?: TransactionVisibility | undefined;
  /** SQL connections with a change log: whether a `cdc` sync could read it, and what to change if not. */
  changeLog?: ChangeLogReadiness | undefined;
}

/** What a data source holds, for people choosing what to sync; `error` as in {@link ConnectionTestResult}. */
export interface TableListing {
  ok: boolean;
  tables: DiscoveredObject[];
  error?: string | undefined;
}

export interface TestConnectionOptions {
  /** Gives up after this long. @default 10000 */
  timeoutMs?: number;
  /**
   * Told the driver's own error (secrets removed) when the result says only "could not reach": for
   * the server's log, where an admin can read why.
   */
  onUnreachable?: (cause: string) => void;
}

/** Connectors that talk to a server over TCP with a protocol of their own (HTTP and S3 have theirs: a status line). */
const SERVER_PROTOCOLS = new Set<ConnectorKind>(['postgres', 'mysql', 'mssql', 'mongodb', 'kafka']);

/** Socket errors: the connection was refused, reset, cut or never answered. */
const NETWORK_CODES = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ECONNABORTED',
  'ETIMEDOUT',
  'EHOSTUNREACH',
  'EHOSTDOWN',
  'ENETUNREACH',
  'ENETDOWN',
  'EPIPE',
  'EPROTO',
  'ESOCKET',
  'PROTOCOL_CONNECTION_LOST',
  'PROTOCOL_SEQUENCE_TIMEOUT',
]);

/**
 * What drivers say when the other end hung up, stayed silent or spoke something else before their
 * protocol got going: pg, mysql2, the MongoDB driver, kafkajs, TLS, and the probe's own deadline.
 */
const NETWORK_WORDS =
  /Connection terminated|timeout expired|no answer within|received invalid response|unexpected message|Malformed|Packets out of order|Connection lost|socket hang up|before secure TLS|SSL|TLS|wrong version number|MongoNetwork|MongoServerSelection|KafkaJSConnection|KafkaJSRequestTimeout|Connection timeout|Closed connection/i;

/** Errors that prove a server of the connector's kind answered (PostgreSQL's severity and SQLSTATE, a MySQL or SQL Server server error, MongoDB's or Kafka's own): shown in full. */
function serverAnswered(e: Error): boolean {
  const f = e as Error & { severity?: unknown; sqlState?: unknown; errno?: unknown; code?: unknown };
  if (typeof f.severity === 'string' && typeof f.code === 'string') return true;
  if (typeof f.sqlState === 'string' && typeof f.errno === 'number' && f.errno > 0 && (f.errno < 2000 || f.errno >= 3000)) return true;
  return f.code === 'ELOGIN' || /^(MongoServerError|KafkaJSProtocolError|KafkaJSSASLAuthenticationError)$/.test(e.name);
}

/** Whether an error says no server of the connector's kind answered at the target (and nothing proves that one did). */
function unreachable(err: unknown): boolean {
  let network = false;
  for (let e: unknown = err, depth = 0; e instanceof Error && depth < 8; e = e.cause, depth++) {
    if (serverAnswered(e) || e instanceof TargetRefused) return false;
    const code = (e as { code?: unknown }).code;
    if ((typeof code === 'string' && NETWORK_CODES.has(code)) || NETWORK_WORDS.test(`${e.name} ${e.message}`)) network = true;
  }
  return network;
}

/** `host:port` (or the hosts) a connection names, for "could not reach …"; what the operator typed, nothing learnt from the network. */
function targetOf(c: Connection): string {
  const brokers = c.options?.brokers;
  if (Array.isArray(brokers) && brokers.length > 0) return brokers.map(String).join(',');
  if (c.host) return `${c.host}${c.port ? `:${c.port}` : ''}`;
  const hosts = c.url ? /^[a-z][a-z0-9+.-]*:\/\/(?:[^@/]*@)?([^/?#]*)/i.exec(c.url)?.[1] : undefined;
  return hosts || 'the server';
}

/**
 * The error people see. A server that is down, a closed port, a filtered one and a port where
 * something else answers all read the same — "could not reach host:port" — so that test connections
 * cannot map which ports are open where; the driver's own words go to `onUnreachable` (the log).
 */
function shownError(kind: ConnectorKind, connection: Connection, err: unknown, opts: TestConnectionOptions): string {
  const message = scrub(errorMessage(err), connection);
  if (!SERVER_PROTOCOLS.has(kind) || !unreachable(err)) return message;
  opts.onUnreachable?.(message);
  return `could not reach ${targetOf(connection)}: no ${kind} server answered there (refused, reset, timed out or another protocol)`;
}

/** Removes the connection's secrets (whole occurrences, core's rule of what is secret) from a message, so it can be shown and logged. */
function scrub(message: string, c: Connection): string {
  return scrubSecrets(message, secretValues(c));
}

/**
 * Runs one of the connector's probes with a deadline; the error, if any, with the secrets removed.
 * The probe releases what it opened also when it finishes after the deadline.
 */
async function probe<T>(
  kind: ConnectorKind,
  connection: Connection,
  opts: TestConnectionOptions,
  run: (connector: Connector, o: ProbeOptions) => Promise<T>,
): Promise<{ value: T } | { error: string }> {
  const timeoutMs = opts.timeoutMs ?? 10_000;
  const deadline = new AbortController();
  const timer = setTimeout(() => deadline.abort(new Error(`no answer within ${timeoutMs} ms`)), timeoutMs);
  const expired = new Promise<never>((_, reject) => deadline.signal.addEventListener('abort', () => reject(deadline.signal.reason as Error), { once: true }));
  try {
    const work = loadConnector(kind).then((connector) => run(connector, { timeoutMs, signal: deadline.signal }));
    work.catch(() => {});
    return { value: await Promise.race([work, expired]) };
  } catch (err) {
    return { error: shownError(kind, connection, err, opts) };
  } finally {
    clearTimeout(timer);
  }
}

/**
 * Opens a real connection and makes one harmless request (`select 1`, a ping, a listing), then
 * closes it. Never throws: a failure is reported in the result with the driver's error text.
 */
export async function testConnection(kind: ConnectorKind, connection: Connection, opts: TestConnectionOptions = {}): Promise<ConnectionTestResult> {
  const started = performance.now();
  const result = await probe(kind, connection, opts, (connector, o) => connector.check(connection, o));
  const latencyMs = Math.round(performance.now() - started);
  return 'error' in result ? { ok: false, connector: kind, latencyMs, error: result.error } : { ok: true, connector: kind, latencyMs, ...result.value };
}

/**
 * Connects to a sync's source as its agent would and applies the agent's check: an `id`/`timestamp`
 * sync from a source whose user cannot see other sessions' transactions would not run unless it
 * accepted the delay alone. Stricter than the agent at this instant on PostgreSQL without
 * pg_read_all_stats while no other role happens to be connected: the agent stops as soon as one is.
 * Never throws.
 */
export async function checkSource(sync: Sync, opts: TestConnectionOptions = {}): Promise<SourceCheck> {
  const { connector: kind, connection } = sync.source;
  const result = await probe(kind, connection, opts, (connector, o) => connector.check(connection, o));
  if ('error' in result) return { ok: false, error: result.error };
  const transactions = result.value?.transactions;
  const changeLog = result.value?.changeLog;
  if (followsLog(sync.mode) && changeLog && !changeLog.ready) {
    return {
      ok: false,
      problem: { code: 'IDRA_ERR_CONFIG_CHANGE_LOG', message: `mode '${sync.mode}' cannot read the change log: ${changeLog.problems.join('; ')}` },
    };
  }
  if (!transactions || transactions.visible || !modeInfo(sync.mode).cursor) return { ok: true, transactions };
  const sight = { blind: transactions.reason, grant: transactions.grant };
  const refusal = blindRefusal(sight, sync, kind);
  if (refusal) return { ok: false, problem: { code: refusal.code, message: refusal.message }, transactions };
  return { ok: true, transactions, warning: blindWarning(sight, sync.delayMs) };
}

/**
 * Drops what a deleted sync held on its source server (a cdc sync's replication slot). Never throws:
 * what could not be dropped is reported, with the secrets removed, for the operator to drop by hand.
 */
export async function releaseSource(sync: Sync): Promise<{ released: string[]; error?: string | undefined }> {
  const { connector: kind, connection } = sync.source;
  try {
    const connector = await loadConnector(kind);
    return { released: (await connector.release?.(sync)) ?? [] };
  } catch (err) {
    return { released: [], error: scrub(errorMessage(err), connection) };
  }
}

/** Lists what a data source holds (tables and views, collections, topics, bucket prefixes, an API's resource) with columns and keys. Never throws. */
export async function discover(kind: ConnectorKind, connection: Connection, opts: TestConnectionOptions = {}): Promise<TableListing> {
  const result = await probe(kind, connection, opts, (connector, o) => connector.discover(connection, o));
  return 'error' in result ? { ok: false, tables: [], error: result.error } : { ok: true, tables: result.value };
}
