import pg from 'pg';
import { createDatabase, tempDir } from '@idra/testkit';
import { runAgentUntil, timeShell, type BenchResult } from './lib.ts';

const NARROW = `create table src (id bigint primary key, name text not null, amount numeric(12,2) not null, created_at timestamptz(6) not null)`;

/** PG→PG, narrow rows: Idra (insert and upsert) against a `COPY … TO STDOUT | COPY … FROM STDIN` pipe in the same run. */
export async function benchPgToPg(serverUrl: string, rows: number): Promise<BenchResult[]> {
  const source = await createDatabase('postgres', serverUrl);
  const dest = await createDatabase('postgres', serverUrl);
  const src = new pg.Client(source.url);
  const dst = new pg.Client(dest.url);
  await Promise.all([src.connect(), dst.connect()]);
  try {
    await src.query(NARROW);
    await src.query(
      `insert into src select g, 'customer ' || (g % 10007), (g % 100000) / 100.0, timestamptz '2024-01-01' + g * interval '1 second' from generate_series(1, $1) g`,
      [rows],
    );
    await src.query('analyze src');
    const bytes = Number((await src.query(`select pg_relation_size('src') as b`)).rows[0].b);
    const mb = bytes / 1024 / 1024;

    await dst.query(NARROW.replace('table src', 'table copy_pipe'));
    const copySeconds = await timeShell(
      `psql -X -q "${source.url}" -c "\\copy src to stdout" | psql -X -q "${dest.url}" -c "\\copy copy_pipe from stdin"`,
    );
    const copyRate = rows / copySeconds;
    const results: BenchResult[] = [
      { scenario: 'PG→PG COPY pipe (baseline)', rows, seconds: copySeconds, rowsPerSec: copyRate, mbPerSec: mb / copySeconds },
    ];

    for (const writeMode of ['insert', 'upsert'] as const) {
      const dir = await tempDir('idra-bench-');
      const table = `idra_${writeMode}`;
      const { seconds, peakRssMb } = await runAgentUntil({
        dir,
        target: String(rows),
        sync: {
          id: `pg-pg-${writeMode}`,
          source: { connector: 'postgres', connection: { url: source.url }, table: 'src' },
          destination: { connector: 'postgres', connection: { url: dest.url }, table },
          mode: 'id',
          cursorColumn: 'id',
          keyColumns: ['id'],
          writeMode,
          batchSize: 10_000,
          pollIntervalMs: 1000,
        },
      });
      const copied = Number((await dst.query(`select count(*) as n from ${table}`)).rows[0].n);
      if (copied !== rows) throw new Error(`${table}: expected ${rows} rows, found ${copied}`);
      const rate = rows / seconds;
      results.push({
        scenario: `PG→PG Idra ${writeMode}`,
        rows,
        seconds,
        rowsPerSec: rate,
        mbPerSec: mb / seconds,
        baseline: 'COPY pipe',
        baselineRowsPerSec: copyRate,
        ratio: rate / copyRate,
        peakRssMb,
      });
    }
    return results;
  } finally {
    await Promise.all([src.end(), dst.end()]);
    await Promise.all([source.drop(), dest.drop()]);
  }
}
