import { MysqlAdapter, MysqlIntrospector, MysqlQueryCompiler, sql } from 'kysely';
import type { Column, LogicalType } from '@idra/core';
import { compileOnly, type SqlDialect } from '../dialect.ts';
import { jsonText, toBuffer } from '../values.ts';
import { connectMysql } from './mysql-driver.ts';

const COLUMN_TYPES: Record<LogicalType, string> = {
  boolean: 'boolean',
  int32: 'int',
  int64: 'bigint',
  decimal: 'decimal(65,30)',
  float: 'double',
  text: 'longtext',
  uuid: 'char(36)',
  date: 'date',
  time: 'time(6)',
  timestamp: 'datetime(6)',
  timestamptz: 'datetime(6)',
  json: 'json',
  bytes: 'longblob',
};

/** Errors about the data of a row: constraint, range, format, length. Anything else is retried. */
const REJECTED_ERRNOS = new Set([1048, 1062, 1263, 1264, 1265, 1292, 1366, 1406, 1411, 1451, 1452, 1690, 3140, 3819, 4025, 4078]);

/** MySQL and MariaDB: mysql2 driver, ON DUPLICATE KEY upserts. */
export const mysqlDialect: SqlDialect = {
  name: 'mysql',
  db: compileOnly({
    adapter: () => new MysqlAdapter(),
    compiler: () => new MysqlQueryCompiler(),
    introspector: (db) => new MysqlIntrospector(db),
  }),
  maxParameters: 65_535,
  maxRowsPerInsert: 10_000,
  limitStyle: 'limit',
  connect: connectMysql,
  columnType(column: Column, isKey) {
    if (isKey && column.type === 'text') return 'varchar(255)';
    if (isKey && column.type === 'bytes') return 'varbinary(255)';
    if (column.type === 'decimal' && column.precision && column.precision <= 65) return `decimal(${column.precision},${Math.min(column.scale ?? 0, 30)})`;
    return COLUMN_TYPES[column.type];
  },
  toParameter(value, type) {
    if (value === undefined) return null;
    if (type === 'json') return jsonText(value);
    if (typeof value === 'bigint') return value.toString();
    if (value instanceof Uint8Array) return toBuffer(value);
    if (value !== null && typeof value === 'object') return jsonText(value);
    if (typeof value === 'string' && (type === 'timestamp' || type === 'timestamptz')) return value.replace('T', ' ').replace(/(Z|[+-]00(:?00)?)$/, '');
    return value;
  },
  nowMinus: (ms) => sql`(now(6) - interval ${sql.lit(ms * 1000)} microsecond)`,
  classify(err) {
    const errno = (err as { errno?: unknown }).errno;
    return typeof errno === 'number' && REJECTED_ERRNOS.has(errno) ? 'rejected' : 'transient';
  },
  async tableExists(pool, schema, table) {
    const res = await pool.execute(
      sql<{ n: number }>`select count(*) as n from information_schema.tables where table_schema = coalesce(${schema ?? null}, database()) and table_name = ${table}`.compile(
        mysqlDialect.db,
      ),
    );
    return Number(res.rows[0]?.n ?? 0) > 0;
  },
};
