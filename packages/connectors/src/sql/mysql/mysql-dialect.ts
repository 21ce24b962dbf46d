import { CompiledQuery, MysqlAdapter, MysqlIntrospector, MysqlQueryCompiler, sql, type SelectQueryBuilder } from 'kysely';
import type { Column, LogicalType } from '@idra/core';
import { compileOnly, type SqlDialect } from '../dialect.ts';
import { KEY_DIGEST_FORM } from '../key-digest.ts';
import { cursorText, jsonText, microsOf, microsText, toBuffer, groupColumns } from '../values.ts';
import type { SqlPool, TransactionView, WatermarkRequest } from '../dialect.ts';
import { openTransactions, TRX_CACHE_QUIET_MS } from './open-transactions.ts';
import { STATEMENT_TIMEOUT_OPTION } from '../statement-timeout.ts';
import { DirectWrites } from '../direct-writes.ts';
import { CDC_OPTIONS } from './mysql-cdc-options.ts';
import { changeLogProblems, grantAccount } from './mysql-cdc-check.ts';

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
/** Access denied (1044, 1045, 1142, 1143), unknown database (1049), no such table (1146) or column (1054). */
const PERMANENT_ERRNOS = new Set([1044, 1045, 1049, 1054, 1142, 1143, 1146]);
const REJECTED_ERRNOS = new Set([1048, 1062, 1263, 1264, 1265, 1292, 1366, 1406, 1411, 1451, 1452, 1690, 3140, 3819, 4025, 4078]);

/**
 * `now()` is the start of a statement, but a transaction appears in information_schema.innodb_trx only
 * once the statement reaches InnoDB, and `trx_started` has whole seconds. Both parts of the watermark
 * stay this far behind to cover that gap.
 */
const CLOCK_GUARD_MS = 1000;

/**
 * Reads the largest cursor, then lists the server's open transactions (innodb_trx lists every
 * database's; it does not say which tables a transaction writes) — in this order, so that a
 * transaction holding an id the read misses is still listed. The list is shared with the other syncs
 * of this process asking the same server (see open-transactions.ts).
 */
async function observe(pool: SqlPool, { delayMs, maxCursor, fresh }: WatermarkRequest, signal?: AbortSignal): Promise<TransactionView> {
  const max = maxCursor ? cursorText((await pool.execute(maxCursor.compile(), signal)).rows[0]?.m) : undefined;
  const clockUs = BigInt(Math.max(delayMs, CLOCK_GUARD_MS) * 1000);
  const list = await openTransactions(pool, fresh !== false, signal);
  if (!list) {
    // Too soon for a fresh list, and the source can do without one: the view limits nothing and the
    // previous limit holds (the largest id is not observed either: no listing came after it).
    const at = String((await pool.execute(CompiledQuery.raw('select now(6) as at'), signal)).rows[0]!.at);
    return { at, timestampLimit: microsText(microsOf(at) - clockUs), stale: { retryInMs: TRX_CACHE_QUIET_MS } };
  }
  const byClock = microsOf(list.at) - clockUs;
  if (list.blindAccount !== undefined) {
    return {
      at: list.at,
      maxCursor: max,
      timestampLimit: microsText(byClock),
      blind: "other connections' transactions cannot be seen (information_schema.innodb_trx needs the PROCESS privilege)",
      grant: `GRANT PROCESS ON *.* TO ${grantAccount(list.blindAccount)}`,
    };
  }
  const byOldest = list.oldest ? microsOf(list.oldest.start) - BigInt(CLOCK_GUARD_MS * 1000) : undefined;
  return {
    at: list.at,
    maxCursor: max,
    timestampLimit: microsText(byOldest !== undefined && byOldest < byClock ? byOldest : byClock),
    stale: list.fresh ? undefined : { retryInMs: TRX_CACHE_QUIET_MS },
    oldest: list.oldest && { start: list.oldest.start, ageMs: list.oldest.ageMs, holder: `connection ${list.oldest.thread}` },
  };
}

const directLoads = new DirectWrites();

/** MySQL and MariaDB: mysql2 driver, ON DUPLICATE KEY upserts, LOAD DATA LOCAL INFILE while keys are new. */
export const mysqlDialect: SqlDialect = {
  name: 'mysql',
  label: 'MySQL / MariaDB',
  options: { statementTimeoutMs: STATEMENT_TIMEOUT_OPTION, ...CDC_OPTIONS },
  db: compileOnly({
    adapter: () => new MysqlAdapter(),
    compiler: () => new MysqlQueryCompiler(),
    introspector: (db) => new MysqlIntrospector(db),
  }),
  maxParameters: 65_535,
  maxRowsPerInsert: 10_000,
  limitStyle: 'limit',
  keyConflict: {
    clause: (q, w) =>
      q.onDuplicateKeyUpdate(
        w.overwrite
          ? Object.fromEntries(w.columns.filter((c) => !w.keys.includes(c)).map((c) => [c, sql`values(${sql.ref(c)})`]))
          : // A no-op assignment keeps the existing row; qualified, as INSERT … SELECT needs.
            { [w.keys[0]!]: w.target.schema ? sql.id(w.target.schema, w.target.table, w.keys[0]!) : sql.id(w.target.table, w.keys[0]!) },
      ),
  },
  // Whatever the server's default, a table Idra creates holds every Unicode character.
  createTableSuffix: sql`default character set utf8mb4 collate utf8mb4_bin`,
  // The driver is loaded when the first connection is opened, not when Idra starts.
  connect: async (connection, options) => (await import('./mysql-driver.ts')).connectMysql(connection, options),
  openChangeLog: async (ctx) => (await import('./mysql-cdc-source.ts')).MysqlCdcSource.open(mysqlDialect, ctx),
  changeLogProblems: async (pool) =>
    (await changeLogProblems(async <R>(text: string) => (await pool.execute(CompiledQuery.raw(text))).rows as R[])).map((p) => p.message),
  keyDigests: [
    {
      form: KEY_DIGEST_FORM,
      portable: true,
      of: (columns) =>
        sql<string>`cast(sum(cast(conv(substr(md5(concat_ws(char(31), ${sql.join(columns.map((c) => sql.ref(c)))})), 1, 15), 16, 10) as unsigned)) as char)`,
    },
  ],
  // MODIFY restates the whole column: NOT NULL is given again for key columns.
  alterColumnType: (target, column, type, notNull) =>
    (target.schema ? mysqlDialect.db.withSchema(target.schema) : mysqlDialect.db).schema
      .alterTable(target.table)
      .modifyColumn(column, sql.raw(type), (c) => (notNull ? c.notNull() : c))
      .compile(),
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
  async bulkWrite(session, w, signal) {
    if (w.encoding) return false;
    signal?.throwIfAborted();
    // Usually a batch brings keys the table does not have yet: LOAD DATA straight into it. When a key
    // exists (a replayed batch, or updates for upsert) the batch goes by INSERT … ON DUPLICATE KEY UPDATE.
    const keyed = w.keys.length > 0 && w.keys.every((k) => w.columns.includes(k));
    const name = `${w.target.schema}.${w.target.table}`;
    if (keyed && !directLoads.due(name)) {
      directLoads.miss(name);
      return false;
    }
    const { loadInto } = await import('./mysql-load.ts');
    const loaded = await loadInto(session, mysqlDialect.db, w, mysqlDialect.toParameter, (err) => mysqlDialect.classify(err) === 'rejected');
    if (keyed) {
      if (loaded) directLoads.hit(name);
      else directLoads.miss(name);
    }
    return loaded;
  },
  async bulkWriteProblem(pool) {
    const { rows } = await pool.execute(sql<{ allowed: number | string }>`select @@local_infile as allowed`.compile(mysqlDialect.db));
    if (Number(rows[0]?.allowed) === 1) return undefined;
    return 'the server does not allow LOAD DATA LOCAL INFILE (local_infile is OFF): rows are written by INSERT statements, several times slower; SET GLOBAL local_infile = 1 allows the bulk path';
  },
  watermark: (pool, request, signal) => observe(pool, request, signal),
  classify(err) {
    const errno = (err as { errno?: unknown }).errno;
    if (typeof errno !== 'number') return 'transient';
    return REJECTED_ERRNOS.has(errno) ? 'rejected' : PERMANENT_ERRNOS.has(errno) ? 'permanent' : 'transient';
  },
  async listTables(pool) {
    const rows = (
      await pool.execute(
        sql`select null as table_schema, c.table_name as table_name, c.column_name as column_name, c.data_type as data_type,
        case when c.column_key = 'PRI' then 1 else 0 end as pk
      from information_schema.columns c
      where c.table_schema = database()
      order by c.table_name, c.ordinal_position`.compile(mysqlDialect.db),
      )
    ).rows;
    return groupColumns(rows);
  },
  async tableExists(pool, schema, table) {
    const res = await pool.execute(
      sql<{
        n: number;
      }>`select count(*) as n from information_schema.tables where table_schema = coalesce(${schema ?? null}, database()) and table_name = ${table}`.compile(
        mysqlDialect.db,
      ),
    );
    return Number(res.rows[0]?.n ?? 0) > 0;
  },
};
