import { sql } from 'kysely';
import { errorMessage, type Connection } from '@idra/core';
import { SQL_DIALECTS, type SqlDialect, type SqlDialectName, type SqlPool, type TableInfo } from './sql/index.ts';

/** What trying a connection found. `error` is the driver's text, with the connection's secrets removed. */
export interface ConnectionTestResult {
  ok: boolean;
  connector: string;
  /** Time to connect and run the probe, in milliseconds. */
  latencyMs: number;
  error?: string | undefined;
}

export interface TestConnectionOptions {
  /** Gives up connecting after this long. @default 10000 */
  timeoutMs?: number;
}

const isSql = (connector: string): connector is SqlDialectName => Object.hasOwn(SQL_DIALECTS, connector);

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
 * Opens a real connection and runs a trivial probe (`select 1` on SQL databases), then closes it.
 * Never throws: a failure is reported in the result with the driver's error text.
 */
export async function testConnection(connector: string, connection: Connection, opts: TestConnectionOptions = {}): Promise<ConnectionTestResult> {
  const started = performance.now();
  const elapsed = () => Math.round(performance.now() - started);
  if (!isSql(connector)) {
    return { ok: false, connector, latencyMs: 0, error: `testing a '${connector}' connection is not supported by this build` };
  }
  try {
    await withPool(connector, connection, opts, (pool, dialect) => pool.execute(sql`select 1 as ok`.compile(dialect.db)));
    return { ok: true, connector, latencyMs: elapsed() };
  } catch (err) {
    return { ok: false, connector, latencyMs: elapsed(), error: scrub(errorMessage(err), connection) };
  }
}

/** What a data source holds, for people choosing what to sync; `error` as in {@link ConnectionTestResult}. */
export interface TableListing {
  ok: boolean;
  tables: TableInfo[];
  error?: string | undefined;
}

/** Lists the tables and views of a SQL data source with their columns (types and primary keys). Never throws. */
export async function listTables(connector: string, connection: Connection, opts: TestConnectionOptions = {}): Promise<TableListing> {
  if (!isSql(connector)) return { ok: false, tables: [], error: `listing the tables of a '${connector}' data source is not supported` };
  try {
    return { ok: true, tables: await withPool(connector, connection, opts, (pool, dialect) => dialect.listTables(pool)) };
  } catch (err) {
    return { ok: false, tables: [], error: scrub(errorMessage(err), connection) };
  }
}

/** Runs `fn` on a one-connection pool that never creates a SQLite file and gives up after the timeout. */
async function withPool<T>(connector: SqlDialectName, connection: Connection, opts: TestConnectionOptions, fn: (pool: SqlPool, dialect: SqlDialect) => Promise<T>): Promise<T> {
  const dialect = SQL_DIALECTS[connector];
  const timeoutMs = opts.timeoutMs ?? 10_000;
  const options = { ...connection.options, poolSize: 1, connectTimeoutMs: timeoutMs, create: false };
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`no answer within ${timeoutMs} ms`)), timeoutMs);
  });
  // The work closes its own pool, also when it finishes after the timeout.
  const work = (async () => {
    const pool = await dialect.connect(connection, options);
    try {
      return await fn(pool, dialect);
    } finally {
      await pool.close().catch(() => {});
    }
  })();
  work.catch(() => {});
  try {
    return await Promise.race([work, timeout]);
  } finally {
    clearTimeout(timer);
  }
}
