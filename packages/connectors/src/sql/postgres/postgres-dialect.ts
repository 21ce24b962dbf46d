import { createHash } from 'node:crypto';
import { CompiledQuery, PostgresAdapter, PostgresIntrospector, PostgresQueryCompiler, sql, type SelectQueryBuilder } from 'kysely';
import { Option, type Column, type LogicalType } from '@idra/core';
import { compileOnly, type SqlDialect, type SqlPool } from '../dialect.ts';
import { onConflict } from '../on-conflict.ts';
import { DirectWrites } from '../direct-writes.ts';
import { KEY_DIGEST_FORM } from '../key-digest.ts';
import { keyedWrite } from '../sql-destination.ts';
import { copyInto, copyOutRows } from './postgres-copy.ts';
import { decodeBinaryRow } from './postgres-binary.ts';
import { cursorText, jsonText, toBuffer, groupColumns } from '../values.ts';
import type { PgSession } from './postgres-driver.ts';
import { STATEMENT_TIMEOUT_OPTION } from '../statement-timeout.ts';
import { CDC_OPTIONS } from './postgres-cdc-options.ts';
import { changeLogProblems, changeLogSlots } from './postgres-cdc-check.ts';

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

/**
 * How long a transaction can have started without showing in pg_stat_activity: its start time is
 * taken when its first statement arrives, and published a few instructions later. The clock part of
 * the watermark stays this far behind so that a backend paused in between is still covered.
 */
const CLOCK_GUARD_MS = 100;

interface ActivityRow {
  at: string;
  max_cursor: unknown;
  timestamp_limit: string;
  oldest_start: string | null;
  oldest_pid: number | null;
  oldest_age_ms: number | null;
  hidden: number;
  grant_sql: string | null;
  prepared: number;
  standby: boolean;
}

/**
 * The clock, the oldest open transaction of another session of this database and the largest cursor,
 * in one statement: its snapshot (for max_cursor) is taken before pg_stat_activity is read, so a
 * transaction holding an id the snapshot misses is still listed. Autovacuum and WAL senders never
 * write rows; every other backend (clients, logical replication, extension workers) may. Without
 * pg_read_all_stats, the sessions of roles we have no privileges of show no state nor xact_start:
 * those are hidden. Decided by privilege, not by a null state: a session still starting up has one
 * too, and nothing to hide. On a standby the writers are on the primary, out of sight.
 */
function activityQuery(clockMs: number, maxCursor: SelectQueryBuilder<any, any, any> | undefined) {
  return sql<ActivityRow>`with open as (
  select pid, state, xact_start, usesysid from pg_stat_activity
  where datname = current_database() and pid <> pg_backend_pid() and coalesce(backend_type, '') not in ('autovacuum worker', 'walsender')
), oldest as (
  select pid, xact_start from open where xact_start is not null and state <> 'idle' order by xact_start limit 1
)
select
  clock_timestamp()::timestamp as at,
  ${maxCursor ?? sql`null`} as max_cursor,
  least(statement_timestamp() - ${clockMs}::int * interval '1 millisecond', (select xact_start from oldest))::timestamp as timestamp_limit,
  (select xact_start::timestamp from oldest) as oldest_start,
  (select pid from oldest) as oldest_pid,
  (select extract(epoch from clock_timestamp() - xact_start) * 1000 from oldest)::float8 as oldest_age_ms,
  (select count(*) from open where usesysid is not null and not pg_has_role(usesysid, 'USAGE') and not pg_has_role('pg_read_all_stats', 'USAGE'))::int as hidden,
  case when not pg_has_role('pg_read_all_stats', 'USAGE') then format('GRANT pg_read_all_stats TO %I', current_user) end as grant_sql,
  (select count(*) from pg_prepared_xacts where database = current_database())::int as prepared,
  pg_is_in_recovery() as standby`;
}

/** Types whose values are stored as plain text, so that any of them can be written into any other as they are. */
const TEXT_LIKE: ReadonlySet<string> = new Set(['25', '1042', '1043']);
/** OIDs below this are PostgreSQL's own types, the same in every database; a user type's OID differs from one database to the next. */
const FIRST_USER_OID = 16_384;

/** A statement with its parameters on the pool, for the catalog reads the cdc checks share with the cdc source. */
const rawQuery =
  (pool: SqlPool) =>
  async <R>(text: string, values: unknown[] = []): Promise<R[]> =>
    (await pool.execute(CompiledQuery.raw(text, values))).rows as R[];

const directCopies = new DirectWrites();

/** The size of each source's last encoded read, plus an eighth: the next read is received into one buffer of about its size. */
const lastReadBytes = new WeakMap<SqlPool, number>();

/** Key columns as text, for a digest of keys. */
const keyTexts = (columns: readonly string[]) => sql.join(columns.map((c) => sql`${sql.ref(c)}::text`));

/** PostgreSQL: pg driver, ON CONFLICT upserts, 65535 parameters per statement. */
export const postgresDialect: SqlDialect = {
  name: 'postgres',
  label: 'PostgreSQL',
  options: {
    idleInTransactionTimeoutMs: Option.duration('the server ends a transaction left idle this long, so a frozen agent cannot hold row locks', 15_000),
    statementTimeoutMs: STATEMENT_TIMEOUT_OPTION,
    ...CDC_OPTIONS,
  },
  db: compileOnly({
    adapter: () => new PostgresAdapter(),
    compiler: () => new PostgresQueryCompiler(),
    introspector: (db) => new PostgresIntrospector(db),
  }),
  maxParameters: 65_535,
  maxRowsPerInsert: 10_000,
  limitStyle: 'limit',
  keyConflict: onConflict,
  // The driver is loaded when the first connection is opened, not when Idra starts.
  connect: async (connection, options) => (await import('./postgres-driver.ts')).connectPostgres(connection, options),
  openChangeLog: async (ctx) => (await import('./postgres-cdc-source.ts')).PostgresCdcSource.open(postgresDialect, ctx),
  changeLogProblems: async (pool) => (await changeLogProblems(rawQuery(pool))).map((p) => p.message),
  changeLogSlots: async (pool) => changeLogSlots(rawQuery(pool)),
  releaseChangeLog: async (sync) => (await import('./postgres-cdc-source.ts')).releaseChangeLog(sync),
  keyDigests: [
    // PostgreSQL's own 64-bit text hash: about four times cheaper than MD5, between two PostgreSQL servers.
    {
      form: 'hashtextextended-sum',
      portable: false,
      of: (columns) => sql<string>`sum(hashtextextended(concat_ws(chr(31), ${keyTexts(columns)}), 0))::text`,
    },
    {
      form: KEY_DIGEST_FORM,
      portable: true,
      of: (columns) => sql<string>`sum(('x' || substr(md5(concat_ws(chr(31), ${keyTexts(columns)})), 1, 15))::bit(60)::bigint)::text`,
    },
  ],
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
  async watermark(pool, { delayMs, maxCursor }, signal) {
    const { rows } = await pool.execute(activityQuery(Math.max(delayMs, CLOCK_GUARD_MS), maxCursor).compile(postgresDialect.db), signal);
    const row = rows[0] as unknown as ActivityRow;
    return {
      at: row.at,
      maxCursor: maxCursor ? cursorText(row.max_cursor) : undefined,
      timestampLimit: row.timestamp_limit,
      oldest: row.oldest_start === null ? undefined : { start: row.oldest_start, ageMs: row.oldest_age_ms ?? 0, holder: `pid ${row.oldest_pid}` },
      unknown: row.prepared > 0 ? `${row.prepared} prepared transaction(s) in the database: reads stay at their previous limit until they finish` : undefined,
      blind: row.standby
        ? "the source is a standby: the primary's open transactions cannot be seen from it"
        : row.hidden > 0
          ? `the transactions of ${row.hidden} session(s) of other roles cannot be seen`
          : undefined,
      // No grant shows a primary's transactions on a standby.
      grant: row.standby ? undefined : (row.grant_sql ?? undefined),
    };
  },
  classify(err) {
    const code = (err as { code?: unknown }).code;
    if (typeof code !== 'string') return 'transient';
    // Binary input is sent only for columns of the same type on both sides: a column whose type changed since.
    if (code === '22P03') return 'transient';
    if (/^(22|23)/.test(code)) return 'rejected';
    // 28: invalid authorization; 3D000: no such database; 42P01/42703: no such table/column; 42501: no privilege.
    return /^(28|3D000|42P01|42703|42501)/.test(code) ? 'permanent' : 'transient';
  },
  encoded: {
    format: 'postgres-binary',
    sameStorage: (from, to) => (from === to && Number(from) < FIRST_USER_OID) || (TEXT_LIKE.has(from) && TEXT_LIKE.has(to)),
    async binder(pool, natives, signal) {
      const query = sql<{ oid: string; name: string }>`select t::text as oid, format_type(t, null) as name from unnest(${natives}::oid[]) t`;
      const names = new Map((await pool.execute(query.compile(postgresDialect.db), signal)).rows.map((r) => [String(r.oid), String(r.name)]));
      // COPY takes no parameters: each value is set for the transaction and read back as the column's type.
      return (index, native) => sql`current_setting(${sql.lit(`idra.v${index}`)})::${sql.raw(names.get(native)!)}`;
    },
    async read(pool, query, values, decoded, signal) {
      const { encodedLayout } = await import('./postgres-driver.ts');
      const layout = encodedLayout(query.toOperationNode().selections?.length ?? 0, decoded);
      const { extra } = layout;
      const withText = extra.length > 0 ? query.select(extra.map((d, i) => sql`${sql.ref(d.name)}::text`.as(`idra_decoded_${i}`))) : query;
      const compiled = withText.compile();
      if (compiled.parameters.length > 0) throw new Error('an encoded read takes its values through set_config, not as parameters');
      return pool.transaction(async (session) => {
        const { client } = session as PgSession;
        if (values.length > 0) {
          const settings = values.map((_, i) => `set_config('idra.v${i}', $${i + 1}, true)`).join(', ');
          await client.query(
            `select ${settings}`,
            values.map((v) => (v instanceof Uint8Array ? '\\x' + Buffer.from(v).toString('hex') : String(v))),
          );
        }
        const { rows, bytes } = await copyOutRows(client, `copy (${compiled.sql}) to stdout (format binary)`, lastReadBytes.get(pool) ?? 65_536, layout);
        lastReadBytes.set(pool, bytes + (bytes >> 3));
        return rows;
      }, signal);
    },
    decode: decodeBinaryRow,
  },
  async bulkWrite(session, w, signal) {
    const { client } = session as PgSession;
    const db = postgresDialect.db;
    const target = w.target.schema ? sql.id(w.target.schema, w.target.table) : sql.id(w.target.table);
    const cols = sql.join(w.columns.map((c) => sql.id(c)));
    const keyed = w.keys.length > 0 && w.keys.every((k) => w.columns.includes(k));
    const format = w.encoding ? sql` (format binary)` : sql``;
    const copy = (into: typeof target) =>
      copyInto(client, sql`copy ${into} (${cols}) from stdin${format}`.compile(db).sql, w.rows, w.columns, w.types, w.encoding);
    signal?.throwIfAborted();
    if (!keyed) {
      await copy(target);
      return true;
    }
    // Usually a batch brings keys the table does not have yet: COPY straight into it. When a key
    // exists (a replayed batch, or updates for upsert) the batch goes through the staging table, and
    // the next batches do too for a while, since updates tend to come in runs.
    const name = `${w.target.schema}.${w.target.table}`;
    if (directCopies.due(name)) {
      await client.query('savepoint idra_copy');
      try {
        await copy(target);
        await client.query('release savepoint idra_copy');
        directCopies.hit(name);
        return true;
      } catch (err) {
        if ((err as { code?: string }).code !== '23505') throw err;
        await client.query('rollback to savepoint idra_copy');
      }
    }
    directCopies.miss(name);
    // COPY into a session-local staging table, then one INSERT … SELECT … ON CONFLICT into the target.
    // One per version of the table: a stage made before an ALTER has the old columns and types.
    const stage = sql.id(`idra_stage_${createHash('sha1').update(name).digest('hex').slice(0, 12)}_${w.tableVersion}`);
    await client.query(sql`create temp table if not exists ${stage} (like ${target} including defaults) on commit delete rows`.compile(db).sql);
    await copy(stage);
    signal?.throwIfAborted();
    const into = (w.target.schema ? db.withSchema(w.target.schema) : db)
      .insertInto(w.target.table)
      .columns(w.columns)
      .expression(sql`select ${cols} from ${stage}`);
    await session.execute(onConflict.clause(into, keyedWrite(w.target, w.columns, w.keys, w.writeMode)).compile(), signal);
    // Emptied at once, not at the commit: a batch whose rows lack different fields writes each group through it.
    await client.query(sql`truncate ${stage}`.compile(db).sql);
    return true;
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
      where c.table_schema not in ('pg_catalog', 'information_schema') and c.table_schema not like 'pg_toast%' and c.table_schema not like 'pg_temp%'
      order by c.table_schema, c.table_name, c.ordinal_position`.compile(postgresDialect.db),
      )
    ).rows;
    return groupColumns(rows);
  },
  async tableExists(pool, schema, table) {
    const name = schema ? `"${schema.replace(/"/g, '""')}"."${table.replace(/"/g, '""')}"` : `"${table.replace(/"/g, '""')}"`;
    const res = await pool.execute(sql<{ found: boolean }>`select to_regclass(${name}) is not null as found`.compile(postgresDialect.db));
    return res.rows[0]?.found === true;
  },
};
