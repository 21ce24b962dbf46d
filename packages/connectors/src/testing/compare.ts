import type { Row } from '@idra/core';
import type { TestDb } from './fixtures.ts';

/**
 * A value as every dialect's reads agree on it: numbers as decimal text, decimals and fractions of a
 * second without trailing zeros (`10.500000` on PostgreSQL is `10.5` on SQLite, `…:05.120000` is `…:05.12`);
 * booleans and JSON as the reads give them (already alike).
 */
export function comparableValue(value: unknown): unknown {
  if (typeof value === 'number' || typeof value === 'bigint') return String(value);
  if (typeof value !== 'string') return value;
  if (/^-?\d+\.\d+$/.test(value)) return value.replace(/\.?0+$/, '');
  if (/^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d+$/.test(value)) return value.replace(/\.?0+$/, '');
  return value;
}

/** A row in the form every dialect's reads agree on (see {@link comparableValue}); `columns` picks and orders the compared ones. */
export function comparableRow(row: Row, columns?: readonly string[]): Row {
  const names = columns ?? Object.keys(row);
  return Object.fromEntries(names.map((c) => [c, comparableValue(row[c])]));
}

/** The rows of a table ordered by `id`, in comparable form, limited to `columns` when given. */
export async function comparableRows(db: TestDb, table: string, columns?: readonly string[]): Promise<Row[]> {
  return (await db.rows(table, ['id'])).map((r) => comparableRow(r, columns));
}
