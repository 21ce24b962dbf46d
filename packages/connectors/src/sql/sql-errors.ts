import { ConnectorError, RowRejectedError, errorMessage, type Row } from '@idra/core';
import type { SqlDialect } from './dialect.ts';

/** Wraps a database error for the runner: rejected rows follow the error policy, the rest is retried. */
export function wrapSqlError(dialect: SqlDialect, role: 'source' | 'destination', syncId: string, err: unknown, rows?: Row[]): Error {
  if (err instanceof ConnectorError || err instanceof RowRejectedError) return err;
  if (role === 'destination' && dialect.classify(err) === 'rejected') {
    return new RowRejectedError(rows?.length === 1 ? rows[0] : undefined, err);
  }
  return new ConnectorError({ connector: dialect.name, role, syncId, transient: true, message: errorMessage(err), cause: err });
}
