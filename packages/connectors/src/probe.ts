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
} from '@idra/core';
import { loadConnector } from './registry.ts';
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
}

/** Removes the connection's secrets (whole occurrences, core's rule of what is secret) from a message, so it can be shown and logged. */
function scrub(message: string, c: Connection): string {
  return scrubSecrets(message, secretValues(c));
}

/**
 * Runs one of the connector's probes with a deadline; the error, if any, with the secrets removed.
 * The probe releases what it opened also when it finishes after the deadline.
 */
async function probe<T>(kind: ConnectorKind, connection: Connection, opts: TestConnectionOptions, run: (connector: Connector, o: ProbeOptions) => Promise<T>): Promise<{ value: T } | { error: string }> {
  const timeoutMs = opts.timeoutMs ?? 10_000;
  const deadline = new AbortController();
  const timer = setTimeout(() => deadline.abort(new Error(`no answer within ${timeoutMs} ms`)), timeoutMs);
  const expired = new Promise<never>((_, reject) => deadline.signal.addEventListener('abort', () => reject(deadline.signal.reason as Error), { once: true }));
  try {
    const work = loadConnector(kind).then((connector) => run(connector, { timeoutMs, signal: deadline.signal }));
    work.catch(() => {});
    return { value: await Promise.race([work, expired]) };
  } catch (err) {
    return { error: scrub(errorMessage(err), connection) };
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
  if (!transactions || transactions.visible || !modeInfo(sync.mode).cursor) return { ok: true, transactions };
  const sight = { blind: transactions.reason, grant: transactions.grant };
  const refusal = blindRefusal(sight, sync, kind);
  if (refusal) return { ok: false, problem: { code: refusal.code, message: refusal.message }, transactions };
  return { ok: true, transactions, warning: blindWarning(sight, sync.delayMs) };
}

/** Lists what a data source holds (tables and views, collections, topics, bucket prefixes, an API's resource) with columns and keys. Never throws. */
export async function discover(kind: ConnectorKind, connection: Connection, opts: TestConnectionOptions = {}): Promise<TableListing> {
  const result = await probe(kind, connection, opts, (connector, o) => connector.discover(connection, o));
  return 'error' in result ? { ok: false, tables: [], error: result.error } : { ok: true, tables: result.value };
}
