import { Readable } from 'node:stream';
import { sql, type Kysely } from 'kysely';
import type { PoolConnection, ResultSetHeader } from 'mysql2/promise';
import type { LogicalType } from '@idra/core';
import type { BulkWrite, SqlSession } from '../dialect.ts';
import { escapeTabSeparated, tabSeparatedChunks } from '../tab-separated.ts';

/** A session inside a transaction, with its connection for LOAD DATA. */
export interface MysqlSession extends SqlSession {
  conn: PoolConnection;
}

/** A value LOAD DATA cannot take as text exactly as a statement would bind it: the batch is written by statements. */
class NotLoadable extends Error {}

/** A value, as the driver would bind it, in LOAD DATA's tab-separated text; bytes as hex, which the statement unhexes. */
function loadText(value: unknown, type: LogicalType | undefined): string {
  if (type === 'bytes') {
    if (value instanceof Uint8Array) return Buffer.from(value.buffer, value.byteOffset, value.byteLength).toString('hex');
    if (typeof value === 'string') return Buffer.from(value).toString('hex');
    throw new NotLoadable();
  }
  if (typeof value === 'string') return escapeTabSeparated(value);
  if (typeof value === 'number' && Number.isFinite(value)) return String(value);
  if (typeof value === 'boolean') return value ? '1' : '0';
  throw new NotLoadable();
}

/**
 * Writes the rows of `w` with `LOAD DATA LOCAL INFILE`, streamed from memory (the server's file name
 * is never opened), inside the caller's transaction, when every row goes in as it is: false (and
 * nothing written) when a row meets an existing key or any value would not be stored exactly — with
 * LOCAL, MySQL and MariaDB skip a duplicate key and truncate a bad value with a warning instead of an
 * error, so a batch with any warning or a missing row is rolled back to a savepoint, for statements
 * to write it (and to reject the bad row by its error), as after an error about the data (`rejects`).
 * `toParameter` is the dialect's binding.
 */
export async function loadInto(
  session: SqlSession,
  db: Kysely<any>,
  w: BulkWrite,
  toParameter: (value: unknown, type: LogicalType | undefined) => unknown,
  rejects: (err: unknown) => boolean,
): Promise<boolean> {
  const { conn } = session as MysqlSession;
  let chunks: Buffer[];
  try {
    chunks = Array.from(tabSeparatedChunks(w.rows, w.columns, w.types, (value, type) => loadText(toParameter(value, type), type)));
  } catch (err) {
    if (err instanceof NotLoadable) return false;
    throw err;
  }
  const target = w.target.schema ? sql.id(w.target.schema, w.target.table) : sql.id(w.target.table);
  const bytes = w.columns.flatMap((c, i) => (w.types[i] === 'bytes' ? [{ column: c, variable: sql.raw(`@idra_${i}`) }] : []));
  const fields = w.columns.map((c, i) => bytes.find((b) => b.column === c)?.variable ?? sql.id(c));
  const unhex = bytes.length > 0 ? sql` set ${sql.join(bytes.map((b) => sql`${sql.id(b.column)} = unhex(${b.variable})`))}` : sql``;
  const statement = sql`load data local infile 'idra-batch' into table ${target} character set utf8mb4
    fields terminated by '\\t' escaped by '\\\\' lines terminated by '\\n' (${sql.join(fields)})${unhex}`.compile(db).sql;
  await conn.query('savepoint idra_load');
  try {
    const [result] = await conn.query<ResultSetHeader>({ sql: statement, infileStreamFactory: () => Readable.from(chunks) });
    if (result.affectedRows === w.rows.length && result.warningStatus === 0) {
      await conn.query('release savepoint idra_load');
      return true;
    }
  } catch (err) {
    if (!rejects(err)) throw err;
  }
  await conn.query('rollback to savepoint idra_load');
  return false;
}
