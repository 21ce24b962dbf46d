import { SqliteAdapter, SqliteIntrospector, SqliteQueryCompiler, sql } from 'kysely';
import { Option, type LogicalType } from '@idra/core';
import { compileOnly, type SqlDialect } from '../dialect.ts';
import { onConflict } from '../on-conflict.ts';
import { KEY_DIGEST_FORM, SQLITE_KEY_DIGEST } from '../key-digest.ts';
import { writeStatement } from '../sql-destination.ts';
import type { SqliteSession } from './sqlite-driver.ts';
import { INTEGER_TYPES, cursorText, jsonText, toBuffer, groupColumns } from '../values.ts';

// Declared types chosen so SQLite's affinity keeps the value exact (decimals and JSON stay text)
// and so that reading the declaration back gives the same logical type.
const COLUMN_TYPES: Record<LogicalType, string> = {
  boolean: 'BOOLEAN',
  int32: 'INTEGER',
  int64: 'BIGINT',
  decimal: 'DECIMAL TEXT',
  float: 'REAL',
  text: 'TEXT',
  uuid: 'UUID TEXT',
  date: 'DATE TEXT',
  time: 'TIME TEXT',
  timestamp: 'TIMESTAMP TEXT',
  timestamptz: 'TIMESTAMPTZ TEXT',
  json: 'JSON TEXT',
  bytes: 'BLOB',
};

/** SQLite: better-sqlite3, ON CONFLICT upserts, 32766 parameters per statement. */
export const sqliteDialect: SqlDialect = {
  name: 'sqlite',
  label: 'SQLite',
  blocksWhileLocked: true,
  options: {
    busyTimeoutMs: Option.duration("how long a statement waits for another connection's write lock", 10_000),
    idleCloseMs: Option.duration(
      'how long the file stays open with nothing to do; it is opened again by the next pass (an open file costs ~170 kB of memory); 0 keeps it open',
      2_000,
    ),
    create: Option.boolean('create the database file when it does not exist', true),
    wal: Option.boolean('switch the database to write-ahead logging, so readers do not wait for the writer', true, { only: 'destination' }),
  },
  db: compileOnly({
    adapter: () => new SqliteAdapter(),
    compiler: () => new SqliteQueryCompiler(),
    introspector: (db) => new SqliteIntrospector(db),
  }),
  maxParameters: 32_766,
  maxRowsPerInsert: 10_000,
  limitStyle: 'limit',
  keyConflict: onConflict,
  // The driver is loaded when the first connection is opened, not when Idra starts.
  connect: async (connection, options) => (await import('./sqlite-driver.ts')).connectSqlite(connection, options),
  columnType: (column) => COLUMN_TYPES[column.type],
  // A declared type only suggests an affinity: an INTEGER column holds any 64-bit integer already.
  alterColumnType: null,
  keyDigests: [
    { form: KEY_DIGEST_FORM, portable: true, of: (columns) => sql<string>`${sql.raw(SQLITE_KEY_DIGEST)}(${sql.join(columns.map((c) => sql.ref(c)))})` },
  ],
  toParameter(value, type) {
    if (value === undefined || value === null) return null;
    if (type === 'json') return jsonText(value);
    if (typeof value === 'boolean') return value ? 1 : 0;
    if (type && INTEGER_TYPES.has(type) && typeof value === 'string' && /^-?\d+$/.test(value)) return BigInt(value);
    if (value instanceof Uint8Array) return toBuffer(value);
    if (typeof value === 'object') return jsonText(value);
    return value;
  },
  // One writer at a time: an id or a now() stamp is taken inside the write lock, after every earlier
  // writer has committed, so no row commits behind one already visible — except a stamp equal to the
  // newest one (same millisecond, lower tiebreaker). Reading only stamps before now() (minus delayMs)
  // excludes those; ids need no limit beyond the largest committed one.
  async watermark(pool, { delayMs, maxCursor }, signal) {
    const q = sql<{ at: string; max_cursor: unknown; timestamp_limit: string }>`select
  strftime('%Y-%m-%d %H:%M:%f', 'now') as at,
  ${maxCursor ?? sql`null`} as max_cursor,
  strftime('%Y-%m-%d %H:%M:%f', 'now', ${`-${delayMs / 1000} seconds`}) as timestamp_limit`;
    const row = (await pool.execute(q.compile(sqliteDialect.db), signal)).rows[0]!;
    return { at: String(row.at), maxCursor: maxCursor ? cursorText(row.max_cursor) : undefined, timestampLimit: String(row.timestamp_limit) };
  },
  classify(err) {
    const code = (err as { code?: unknown }).code;
    if (typeof code === 'string' && /^SQLITE_(CONSTRAINT|MISMATCH|TOOBIG|RANGE)/.test(code)) return 'rejected';
    const message = err instanceof Error ? err.message : '';
    return code === 'SQLITE_CANTOPEN' || code === 'SQLITE_READONLY' || /^no such (table|column)/.test(message) ? 'permanent' : 'transient';
  },
  async bulkWrite(session, w, signal) {
    // SQLite runs in-process: one prepared single-row statement run per row, in the caller's
    // transaction, beats parsing multi-row statements.
    const { db } = session as SqliteSession;
    signal?.throwIfAborted();
    const one = writeStatement(sqliteDialect, w.target, w.columns, [w.columns.map(() => null)], w.writeMode, w.keys);
    const statement = db.prepare(one.sql);
    for (const row of w.rows) statement.run(...w.columns.map((c, i) => sqliteDialect.toParameter(row[c], w.types[i])));
    return true;
  },
  async listTables(pool) {
    const rows = (
      await pool.execute(
        sql`select null as table_schema, m.name as table_name, p.name as column_name, p.type as data_type, case when p.pk > 0 then 1 else 0 end as pk
      from sqlite_master m join pragma_table_info(m.name) p
      where m.type in ('table', 'view') and m.name not like 'sqlite_%'
      order by m.name, p.cid`.compile(sqliteDialect.db),
      )
    ).rows;
    return groupColumns(rows);
  },
  async tableExists(pool, _schema, table) {
    const res = await pool.execute(
      sql<{ n: bigint }>`select count(*) as n from sqlite_master where type in ('table', 'view') and name = ${table}`.compile(sqliteDialect.db),
    );
    return Number(res.rows[0]?.n ?? 0) > 0;
  },
};
