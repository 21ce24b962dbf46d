import { ConfigError, ConnectorError, RowRejectedError, SchemaChangeError, WatermarkBlindError, errorMessage, type Row } from '@idra/core';
import type { SqlDialect } from './dialect.ts';

/** Wraps a database error for the runner: rejected rows follow the error policy, permanent errors are retried slowly, the rest soon. */
export function wrapSqlError(dialect: SqlDialect, role: 'source' | 'destination', syncId: string, err: unknown, rows?: Row[]): Error {
  if (err instanceof ConnectorError || err instanceof RowRejectedError || err instanceof WatermarkBlindError || err instanceof SchemaChangeError) return err;
  // A connection the agent refuses (a SQLite file outside IDRA_SQLITE_ROOTS) stays refused however often it is
  // tried: the sync waits for its configuration (or the agent's) to change, its field named from the sync.
  if (err instanceof ConfigError)
    return new ConfigError(
      err.issues.map((i) => ({ ...i, path: i.path ? `${role}.${i.path}` : role })),
      `${dialect.name} ${role}`,
    );
  const kind = dialect.classify(err);
  if (role === 'destination' && kind === 'rejected') {
    return new RowRejectedError(rows?.length === 1 ? rows[0] : undefined, err, rejectedColumn(err));
  }
  return new ConnectorError({ connector: dialect.name, role, syncId, transient: kind !== 'permanent', message: errorMessage(err), cause: err });
}

/**
 * The column a rejection names, when the database says: PostgreSQL's `column` field, SQLite's
 * "NOT NULL constraint failed: t.c", MySQL's and SQL Server's "… column 'c' …".
 */
function rejectedColumn(err: unknown): string | undefined {
  const column = (err as { column?: unknown }).column;
  if (typeof column === 'string' && column) return column;
  const message = err instanceof Error ? err.message : String(err);
  return /constraint failed: (?:[\w$]+\.)?([\w$]+)/.exec(message)?.[1] ?? /column '([^']+)'/i.exec(message)?.[1] ?? /column "([^"]+)"/.exec(message)?.[1];
}
