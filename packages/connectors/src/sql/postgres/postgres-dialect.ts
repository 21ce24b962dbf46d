import { PostgresAdapter, PostgresIntrospector, PostgresQueryCompiler, sql } from 'kysely';
import type { Column, LogicalType } from '@idra/core';
import { compileOnly, type SqlDialect } from '../dialect.ts';
import { jsonText, toBuffer } from '../values.ts';
import { connectPostgres } from './postgres-driver.ts';

const COLUMN_TYPES: Record<LogicalType, string> = {
  boolean: 'boolean',
  int32: 'integer',
  int64: 'bigint',
  decimal: 'numeric',
  float: 'double precision',
  text: 'text',
  uuid: 'uuid',
  date: 'date',
  time: 'time(6)',
  timestamp: 'timestamp(6)',
  timestamptz: 'timestamptz(6)',
  json: 'jsonb',
  bytes: 'bytea',
};

/** PostgreSQL: pg driver, ON CONFLICT upserts, 65535 parameters per statement. */
export const postgresDialect: SqlDialect = {
  name: 'postgres',
  db: compileOnly({
    adapter: () => new PostgresAdapter(),
    compiler: () => new PostgresQueryCompiler(),
    introspector: (db) => new PostgresIntrospector(db),
  }),
  maxParameters: 65_535,
  maxRowsPerInsert: 10_000,
  limitStyle: 'limit',
  connect: connectPostgres,
  columnType: (column: Column) =>
    column.type === 'decimal' && column.precision ? `numeric(${column.precision},${column.scale ?? 0})` : COLUMN_TYPES[column.type],
  toParameter(value, type) {
    if (value === undefined) return null;
    if (type === 'json') return jsonText(value);
    if (typeof value === 'bigint') return value.toString();
    if (value instanceof Uint8Array) return toBuffer(value);
    if (value !== null && typeof value === 'object') return jsonText(value);
    return value;
  },
  nowMinus: (ms) => sql`(statement_timestamp() - ${sql.lit(ms)} * interval '1 millisecond')`,
  classify(err) {
    const code = (err as { code?: unknown }).code;
    return typeof code === 'string' && /^(22|23)/.test(code) ? 'rejected' : 'transient';
  },
  async tableExists(pool, schema, table) {
    const name = schema ? `"${schema.replace(/"/g, '""')}"."${table.replace(/"/g, '""')}"` : `"${table.replace(/"/g, '""')}"`;
    const res = await pool.execute(sql<{ found: boolean }>`select to_regclass(${name}) is not null as found`.compile(postgresDialect.db));
    return res.rows[0]?.found === true;
  },
};
