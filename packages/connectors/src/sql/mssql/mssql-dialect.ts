import { MssqlAdapter, MssqlIntrospector, MssqlQueryCompiler, sql } from 'kysely';
import { Option, type Column, type LogicalType } from '@idra/core';
import { compileOnly, type SqlDialect } from '../dialect.ts';
import { cursorText, jsonText, toBuffer, groupColumns } from '../values.ts';
import { STATEMENT_TIMEOUT_OPTION } from '../statement-timeout.ts';

const COLUMN_TYPES: Record<LogicalType, string> = {
  boolean: 'bit',
  int32: 'int',
  int64: 'bigint',
  decimal: 'decimal(38,10)',
  float: 'float',
  text: 'nvarchar(max)',
  uuid: 'uniqueidentifier',
  date: 'date',
  time: 'time(7)',
  timestamp: 'datetime2(7)',
  timestamptz: 'datetimeoffset(7)',
  json: 'nvarchar(max)',
  bytes: 'varbinary(max)',
};

/** Data errors: duplicate key, NULL, constraint, truncation, conversion. */
/** Login failed (18456), cannot open database (4060), invalid object (208) or column (207), permission denied (229, 230). */
const PERMANENT_NUMBERS = new Set([18456, 4060, 208, 207, 229, 230]);
const REJECTED_NUMBERS = new Set([2627, 2601, 515, 547, 8152, 2628, 245, 8114, 8115, 220, 232, 241, 242, 517]);

/** SQL Server: tedious driver, MERGE upserts, 2100 parameters and 1000 rows per statement. */
export const mssqlDialect: SqlDialect = {
  name: 'mssql',
  label: 'SQL Server',
  options: {
    trustServerCertificate: Option.boolean("accept the server's TLS certificate without checking it", true),
    statementTimeoutMs: STATEMENT_TIMEOUT_OPTION,
  },
  db: compileOnly({
    adapter: () => new MssqlAdapter(),
    compiler: () => new MssqlQueryCompiler(),
    introspector: (db) => new MssqlIntrospector(db),
  }),
  maxParameters: 2_000,
  maxRowsPerInsert: 1_000,
  limitStyle: 'top',
  // No clause of INSERT keeps or overwrites existing keys: MERGE takes the rows as a VALUES table.
  keyConflict: {
    statement(w, rows) {
      const tableRef = w.target.schema ? sql`${sql.id(w.target.schema, w.target.table)}` : sql.id(w.target.table);
      const cols = sql.join(w.columns.map((c) => sql.id(c)));
      const values = sql.join(rows.map((r) => sql`(${sql.join(r)})`));
      const on = sql.join(
        w.keys.map((k) => sql`t.${sql.id(k)} = s.${sql.id(k)}`),
        sql` and `,
      );
      const nonKeys = w.columns.filter((c) => !w.keys.includes(c));
      const update = w.overwrite ? sql`when matched then update set ${sql.join(nonKeys.map((c) => sql`t.${sql.id(c)} = s.${sql.id(c)}`))} ` : sql``;
      const inserted = sql.join(w.columns.map((c) => sql`s.${sql.id(c)}`));
      return sql`merge into ${tableRef} with (holdlock) as t using (values ${values}) as s (${cols}) on ${on} ${update}when not matched then insert (${cols}) values (${inserted});`.compile(
        mssqlDialect.db,
      );
    },
  },
  // The driver is loaded when the first connection is opened, not when Idra starts.
  connect: async (connection, options) => (await import('./mssql-driver.ts')).connectMssql(connection, options),
  alterColumnType: (target, column, type, notNull) =>
    sql`alter table ${target.schema ? sql.id(target.schema, target.table) : sql.id(target.table)} alter column ${sql.id(column)} ${sql.raw(type)} ${sql.raw(notNull ? 'not null' : 'null')}`.compile(
      mssqlDialect.db,
    ),
  renameColumn: (target, from, to) => sql`exec sp_rename ${`${target.schema ?? 'dbo'}.${target.table}.${from}`}, ${to}, 'COLUMN'`.compile(mssqlDialect.db),
  columnType(column: Column, isKey) {
    if (isKey && column.type === 'text') return 'nvarchar(450)';
    if (isKey && column.type === 'bytes') return 'varbinary(900)';
    if (column.type === 'decimal' && column.precision && column.precision <= 38) return `decimal(${column.precision},${column.scale ?? 0})`;
    return COLUMN_TYPES[column.type];
  },
  toParameter(value, type) {
    if (value === undefined) return null;
    if (type === 'json') return jsonText(value);
    if (typeof value === 'bigint') return value.toString();
    if (value instanceof Uint8Array) return toBuffer(value);
    if (value !== null && typeof value === 'object') return jsonText(value);
    return value;
  },
  // Open transactions are not inspected on SQL Server (no server to test against here): the delay
  // alone bounds reads, and the status says so.
  async watermark(pool, { delayMs, maxCursor }, signal) {
    const q = sql<{ at: string; max_cursor: unknown; timestamp_limit: string }>`select
  convert(varchar(27), sysutcdatetime(), 121) as at,
  ${maxCursor ?? sql`null`} as max_cursor,
  convert(varchar(27), dateadd(millisecond, ${-delayMs}, sysutcdatetime()), 121) as timestamp_limit`;
    const row = (await pool.execute(q.compile(mssqlDialect.db), signal)).rows[0]!;
    return {
      at: String(row.at),
      maxCursor: maxCursor ? cursorText(row.max_cursor) : undefined,
      timestampLimit: String(row.timestamp_limit),
      blind: 'open transactions are not inspected on SQL Server',
    };
  },
  classify(err) {
    const n = (err as { number?: unknown }).number;
    if (typeof n !== 'number') return 'transient';
    return REJECTED_NUMBERS.has(n) ? 'rejected' : PERMANENT_NUMBERS.has(n) ? 'permanent' : 'transient';
  },
  async listTables(pool) {
    const rows = (
      await pool.execute(
        sql`select c.table_schema as table_schema, c.table_name as table_name, c.column_name as column_name, c.data_type as data_type,
        case when k.column_name is null then 0 else 1 end as pk
      from information_schema.columns c
      join information_schema.tables t on t.table_schema = c.table_schema and t.table_name = c.table_name
      left join information_schema.table_constraints tc on tc.table_schema = c.table_schema and tc.table_name = c.table_name and tc.constraint_type = 'PRIMARY KEY'
      left join information_schema.key_column_usage k on k.constraint_schema = tc.constraint_schema and k.constraint_name = tc.constraint_name and k.column_name = c.column_name
      where c.table_schema not in ('sys', 'INFORMATION_SCHEMA')
      order by c.table_schema, c.table_name, c.ordinal_position`.compile(mssqlDialect.db),
      )
    ).rows;
    return groupColumns(rows);
  },
  async tableExists(pool, schema, table) {
    const res = await pool.execute(
      sql<{
        n: number;
      }>`select count(*) as n from information_schema.tables where table_schema = coalesce(${schema ?? null}, schema_name()) and table_name = ${table}`.compile(
        mssqlDialect.db,
      ),
    );
    return Number(res.rows[0]?.n ?? 0) > 0;
  },
};
