import { join } from 'node:path';
import pg from 'pg';
import { createDatabase, tempDir } from '@idra/testkit';
import { runAgentUntil, timeShell, type BenchResult } from './lib.ts';
import { countRows, createSource, sqliteFile, type Engine, type Shape } from './datasets.ts';

export interface ThroughputOptions {
  pgUrl: string;
  mysqlUrl: string;
  rows: number;
  shapes: Shape[];
  batchSize: number;
  /** Key ranges of the copy written side by side (the sync's `parallelism`). */
  parallelism: number;
  /** Which pairs to run, e.g. ['pg-pg', 'mysql-pg', …]; all when undefined. */
  pairs?: string[] | undefined;
}

type Endpoint = { engine: Engine; connection: { url?: string; file?: string } };

/** A source database holding `src` for each engine that a selected pair reads from, built once per shape. */
async function sources(
  opts: ThroughputOptions,
  shape: Shape,
  dir: string,
  engines: Set<Engine>,
): Promise<Partial<Record<Engine, Endpoint & { bytes: number; drop(): Promise<void> }>>> {
  const out: Partial<Record<Engine, Endpoint & { bytes: number; drop(): Promise<void> }>> = {};
  // One at a time: generating rows is heavy, and the machine may have few cores.
  if (engines.has('postgres')) {
    const db = await createDatabase('postgres', opts.pgUrl);
    out.postgres = { engine: 'postgres', connection: { url: db.url }, bytes: await createSource('postgres', { url: db.url }, shape, opts.rows), drop: db.drop };
  }
  if (engines.has('mysql')) {
    const db = await createDatabase('mysql', opts.mysqlUrl);
    out.mysql = { engine: 'mysql', connection: { url: db.url }, bytes: await createSource('mysql', { url: db.url }, shape, opts.rows), drop: db.drop };
  }
  if (engines.has('sqlite')) {
    const file = sqliteFile(dir, `src-${shape}`);
    out.sqlite = { engine: 'sqlite', connection: { file }, bytes: await createSource('sqlite', { file }, shape, opts.rows), drop: async () => {} };
  }
  return out;
}

const LABEL: Record<Engine, string> = { postgres: 'PG', mysql: 'MariaDB', sqlite: 'SQLite' };

/** Runs the real agent on one sync from `src` to a new table and checks every row arrived. */
async function runIdra(from: Endpoint, to: Endpoint, table: string, writeMode: 'insert' | 'upsert', opts: ThroughputOptions) {
  const dir = await tempDir('idra-bench-');
  const result = await runAgentUntil({
    dir,
    target: String(opts.rows),
    sync: {
      id: table,
      source: { connector: from.engine, connection: from.connection, table: 'src' },
      destination: { connector: to.engine, connection: to.connection, table },
      mode: 'id',
      cursorColumn: 'id',
      keyColumns: ['id'],
      writeMode,
      batchSize: opts.batchSize,
      parallelism: opts.parallelism,
      pollIntervalMs: 1000,
    },
  });
  const copied = await countRows(to.engine, to.connection, table);
  if (copied !== opts.rows) throw new Error(`${table}: expected ${opts.rows} rows, found ${copied}`);
  return result;
}

function line(scenario: string, rows: number, bytes: number, seconds: number, extra: Partial<BenchResult> = {}): BenchResult {
  return { scenario, rows, seconds, rowsPerSec: rows / seconds, mbPerSec: bytes / 2 ** 20 / seconds, ...extra };
}

/** Idra against the same-run baselines: a COPY pipe for PG→PG, pgloader for MariaDB→PG and SQLite→PG, a LOAD DATA pipe for PG→MariaDB. */
export async function benchThroughput(opts: ThroughputOptions): Promise<BenchResult[]> {
  const results: BenchResult[] = [];
  const wants = (pair: string) => !opts.pairs || opts.pairs.includes(pair);
  for (const shape of opts.shapes) {
    const dir = await tempDir('idra-bench-data-');
    const engines = new Set<Engine>();
    if (wants('pg-pg') || wants('pg-sqlite') || wants('pg-mysql')) engines.add('postgres');
    if (wants('mysql-pg')) engines.add('mysql');
    if (wants('sqlite-pg')) engines.add('sqlite');
    const found = await sources(opts, shape, dir, engines);
    const src = found as Record<Engine, NonNullable<(typeof found)[Engine]>>;
    const tag = `${opts.rows >= 1e6 ? `${opts.rows / 1e6}M` : `${opts.rows / 1e3}k`} ${shape}`;
    const dest = await createDatabase('postgres', opts.pgUrl);
    const pgDest: Endpoint = { engine: 'postgres', connection: { url: dest.url } };
    try {
      if (wants('pg-pg')) {
        const d = new pg.Client(dest.url);
        await d.connect();
        const s = new pg.Client(src.postgres.connection.url);
        await s.connect();
        const ddl = (
          await s.query(`select 'create table copy_pipe (' || string_agg(quote_ident(attname) || ' ' || format_type(atttypid, atttypmod), ', ' order by attnum) || ', primary key (id))' as ddl
          from pg_attribute where attrelid = 'src'::regclass and attnum > 0 and not attisdropped`)
        ).rows[0].ddl as string;
        await d.query(ddl);
        await Promise.all([s.end(), d.end()]);
        const copySeconds = await timeShell(
          `psql -X -q "${src.postgres.connection.url}" -c "\\copy src to stdout" | psql -X -q "${dest.url}" -c "\\copy copy_pipe from stdin"`,
        );
        const copy = line(`${tag}: PG→PG COPY pipe`, opts.rows, src.postgres.bytes, copySeconds);
        results.push(copy);
        for (const mode of ['insert', 'upsert'] as const) {
          const r = await runIdra(src.postgres, pgDest, `pg_${mode}_${shape}`, mode, opts);
          results.push(
            line(`${tag}: PG→PG Idra ${mode}${opts.parallelism > 1 ? ` ×${opts.parallelism}` : ''}`, opts.rows, src.postgres.bytes, r.seconds, {
              baseline: 'COPY pipe',
              baselineRowsPerSec: copy.rowsPerSec,
              ratio: copy.seconds / r.seconds,
              peakRssMb: r.peakRssMb,
              agentCpuSeconds: r.cpuSeconds,
            }),
          );
        }
      }
      for (const from of ['mysql', 'sqlite'] as const) {
        if (!wants(`${from}-pg`)) continue;
        const loaderDb = await createDatabase('postgres', opts.pgUrl);
        const sourceUrl = from === 'mysql' ? `${src.mysql.connection.url!.replace(/\/$/, '')}` : src.sqlite.connection.file!;
        const logDir = join(dir, `pgloader-${from}`);
        // pgloader's default read-ahead (100,000 rows) can exhaust its 1 GiB Lisp heap on this data.
        const loaderSeconds = await timeShell(
          `mkdir -p ${logDir} && pgloader --quiet --root-dir ${logDir} --with "prefetch rows = 25000" "${sourceUrl}" "${loaderDb.url}?sslmode=disable"`,
        );
        const loaded = await countPg(loaderDb.url, 'src');
        await loaderDb.drop();
        if (loaded !== opts.rows) throw new Error(`pgloader ${from}: expected ${opts.rows} rows, found ${loaded}`);
        const loader = line(`${tag}: ${LABEL[from]}→PG pgloader`, opts.rows, src[from].bytes, loaderSeconds);
        results.push(loader);
        const r = await runIdra(src[from], pgDest, `${from}_insert_${shape}`, 'insert', opts);
        results.push(
          line(`${tag}: ${LABEL[from]}→PG Idra insert`, opts.rows, src[from].bytes, r.seconds, {
            baseline: 'pgloader',
            baselineRowsPerSec: loader.rowsPerSec,
            ratio: loader.seconds / r.seconds,
            peakRssMb: r.peakRssMb,
            agentCpuSeconds: r.cpuSeconds,
          }),
        );
      }
      for (const to of ['sqlite', 'mysql'] as const) {
        if (!wants(`pg-${to}`)) continue;
        const target: Endpoint =
          to === 'sqlite'
            ? { engine: 'sqlite', connection: { file: sqliteFile(dir, `dest-${shape}`) } }
            : { engine: 'mysql', connection: { url: (await createDatabase('mysql', opts.mysqlUrl)).url } };
        const table = `pg_to_${to}_${shape}`;
        const r = await runIdra(src.postgres, target, table, 'insert', opts);
        const idra = line(`${tag}: PG→${LABEL[to]} Idra insert`, opts.rows, src.postgres.bytes, r.seconds, {
          peakRssMb: r.peakRssMb,
          agentCpuSeconds: r.cpuSeconds,
        });
        if (to === 'mysql') {
          // The baseline runs after Idra, into a table like the one Idra created.
          const pipeSeconds = await loadDataPipe(src.postgres.connection.url!, target.connection.url!, table);
          const pipe = line(`${tag}: PG→MariaDB LOAD DATA pipe`, opts.rows, src.postgres.bytes, pipeSeconds);
          results.push(pipe);
          Object.assign(idra, { baseline: 'LOAD DATA pipe', baselineRowsPerSec: pipe.rowsPerSec, ratio: pipe.seconds / r.seconds });
        }
        results.push(idra);
      }
    } finally {
      await dest.drop();
      for (const s of Object.values(found)) await s?.drop();
    }
  }
  return results;
}

/**
 * `psql \copy … to stdout` piped into `mariadb … LOAD DATA LOCAL INFILE` (text in both: timestamptz
 * printed in UTC without its offset and booleans as 0/1, which MariaDB reads), into a new table like
 * `like`; returns its seconds once every row is there.
 */
async function loadDataPipe(pgUrl: string, mysqlUrl: string, like: string): Promise<number> {
  const s = new pg.Client(pgUrl);
  await s.connect();
  const { select, names } = (
    await s.query(`select string_agg(case format_type(atttypid, null)
        when 'timestamp with time zone' then format('%I at time zone ''UTC''', attname) when 'boolean' then format('%I::int', attname)
        else quote_ident(attname) end, ', ' order by attnum) as select, string_agg(attname, ', ' order by attnum) as names
      from pg_attribute where attrelid = 'src'::regclass and attnum > 0 and not attisdropped`)
  ).rows[0] as { select: string; names: string };
  await s.end();
  const m = new URL(mysqlUrl);
  const mariadb = `MYSQL_PWD='${decodeURIComponent(m.password)}' mariadb --local-infile=1 -h ${m.hostname} -P ${m.port} -u ${decodeURIComponent(m.username)} ${m.pathname.slice(1)}`;
  await timeShell(`${mariadb} -e "create table load_pipe like ${like}"`);
  const seconds = await timeShell(
    `psql -X -q "${pgUrl}" -c "\\copy (select ${select} from src) to stdout" | ` +
      `${mariadb} -e "load data local infile '/dev/stdin' into table load_pipe character set utf8mb4 (${names})"`,
  );
  const loaded = await countRows('mysql', { url: mysqlUrl }, 'load_pipe');
  if (loaded !== (await countRows('mysql', { url: mysqlUrl }, like))) throw new Error(`LOAD DATA pipe: ${loaded} rows, fewer than Idra copied`);
  return seconds;
}

/** Rows of the table pgloader created (it picks the schema: the MySQL database name, or public). */
async function countPg(url: string, table: string): Promise<number> {
  const c = new pg.Client(url);
  await c.connect();
  try {
    const found = (
      await c.query(`select quote_ident(table_schema) || '.' || quote_ident(table_name) as t from information_schema.tables where lower(table_name) = $1`, [
        table,
      ])
    ).rows[0];
    if (!found) return 0;
    return Number((await c.query(`select count(*) as n from ${found.t}`)).rows[0].n);
  } finally {
    await c.end();
  }
}
