import { errorMessage, type Connection, type Connector, type ConnectorKind, type DiscoveredObject, type ProbeOptions } from '@idra/core';
import { loadConnector } from './registry.ts';

/** What trying a connection found. `error` is the driver's text, with the connection's secrets removed. */
export interface ConnectionTestResult {
  ok: boolean;
  connector: string;
  /** Time to connect and run the probe, in milliseconds. */
  latencyMs: number;
  error?: string | undefined;
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

/** Every secret of a connection as it may appear in a driver's message (plain and URL-encoded). */
function secretsOf(c: Connection): string[] {
  const out: string[] = [];
  if (c.password) out.push(c.password);
  if (c.url) {
    try {
      const password = new URL(c.url).password;
      if (password) out.push(password, decodeURIComponent(password));
    } catch {
      // not a URL: nothing to take from it
    }
  }
  for (const v of Object.values(c.options ?? {})) if (typeof v === 'string' && v.length >= 4) out.push(v);
  return out.filter((s) => s.length > 0);
}

/** Removes the connection's secrets from a message, so it can be shown and logged. */
function scrub(message: string, c: Connection): string {
  let out = message;
  for (const secret of secretsOf(c)) out = out.split(secret).join('********');
  return out;
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
  return 'error' in result ? { ok: false, connector: kind, latencyMs, error: result.error } : { ok: true, connector: kind, latencyMs };
}

/** Lists what a data source holds (tables and views, collections, topics, bucket prefixes, an API's resource) with columns and keys. Never throws. */
export async function discover(kind: ConnectorKind, connection: Connection, opts: TestConnectionOptions = {}): Promise<TableListing> {
  const result = await probe(kind, connection, opts, (connector, o) => connector.discover(connection, o));
  return 'error' in result ? { ok: false, tables: [], error: result.error } : { ok: true, tables: result.value };
}
