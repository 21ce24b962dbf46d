import { sql } from 'kysely';
import { followsLog, type Connection, type Connector, type ProbeOptions, type TransactionVisibility } from '@idra/core';
import type { SqlDialect, SqlPool, TransactionView } from './dialect.ts';
import { SqlDestination } from './sql-destination.ts';
import { SqlSource } from './sql-source.ts';

/** Runs `fn` on a one-connection pool that never creates a SQLite file and gives up connecting after the probe's timeout. */
async function withPool<T>(dialect: SqlDialect, connection: Connection, opts: ProbeOptions, fn: (pool: SqlPool) => Promise<T>): Promise<T> {
  const pool = await dialect.connect(connection, { ...connection.options, poolSize: 1, connectTimeoutMs: opts.timeoutMs, create: false });
  try {
    return await fn(pool);
  } finally {
    await pool.close().catch(() => {});
  }
}

function visibilityOf(view: TransactionView): TransactionVisibility {
  if (view.blind === undefined && view.grant === undefined) return { visible: true };
  return { visible: false, reason: view.blind ?? "this user cannot see other users' open transactions", grant: view.grant };
}

/** A SQL database through one dialect: the shared Kysely-based source and destination, `select 1` as the check, the dialect's table listing. */
export function sqlConnector(dialect: SqlDialect): Connector {
  return {
    openSource: (ctx) => (followsLog(ctx.sync.mode) && dialect.openChangeLog ? dialect.openChangeLog(ctx) : SqlSource.open(dialect, ctx)),
    openDestination: (ctx) => SqlDestination.open(dialect, ctx),
    // The watermark's own observation says what the user can see of other sessions' transactions.
    check: (connection, opts) =>
      withPool(dialect, connection, opts, async (pool) => {
        await pool.execute(sql`select 1 as ok`.compile(dialect.db), opts.signal);
        const transactions = visibilityOf(await dialect.watermark(pool, { delayMs: 0 }, opts.signal));
        const problems = await dialect.changeLogProblems?.(pool);
        const slots = problems && (await dialect.changeLogSlots?.(pool));
        return { transactions, changeLog: problems && { ready: problems.length === 0, problems, slots } };
      }),
    discover: (connection, opts) => withPool(dialect, connection, opts, (pool) => dialect.listTables(pool)),
    release: async (sync) => (followsLog(sync.mode) && dialect.releaseChangeLog ? dialect.releaseChangeLog(sync) : []),
  };
}
