import { spawn } from 'node:child_process';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import pg from 'pg';
import { createDatabase, tempDir } from '@idra/testkit';
import { AGENT_BIN } from './lib.ts';

export interface CatchupResult {
  rowsPerSecond: number;
  seconds: number;
  rows: number;
  pollIntervalMs: number;
  p50Ms: number;
  p99Ms: number;
  maxMs: number;
}

/**
 * Incremental catch-up: after an initial copy, rows are written to the source at a steady rate while
 * the agent polls; end-to-end latency is the time from a row's creation in the source to its arrival
 * in the destination, both stamped by the same PostgreSQL clock.
 */
export async function benchCatchup(pgUrl: string, opts: { rowsPerSecond?: number; seconds?: number; pollIntervalMs?: number } = {}): Promise<CatchupResult> {
  const rate = opts.rowsPerSecond ?? 10_000;
  const seconds = opts.seconds ?? 20;
  const pollIntervalMs = opts.pollIntervalMs ?? 1000;
  const initial = 100_000;
  const source = await createDatabase('postgres', pgUrl);
  const dest = await createDatabase('postgres', pgUrl);
  const src = new pg.Client(source.url);
  const dst = new pg.Client(dest.url);
  await Promise.all([src.connect(), dst.connect()]);
  const dir = await tempDir('idra-bench-catchup-');
  const child = { proc: undefined as ReturnType<typeof spawn> | undefined };
  try {
    await src.query('create table events (id bigserial primary key, body text not null, created_at timestamptz(6) not null default clock_timestamp())');
    await src.query(`insert into events (body) select md5(g::text) from generate_series(1, $1) g`, [initial]);
    await dst.query(
      'create table events (id bigint primary key, body text not null, created_at timestamptz(6) not null, arrived_at timestamptz(6) not null default clock_timestamp())',
    );
    const config = join(dir, 'syncs.json');
    await writeFile(
      config,
      JSON.stringify({
        syncs: [
          {
            id: 'catchup',
            source: { connector: 'postgres', connection: { url: source.url }, table: 'events' },
            destination: { connector: 'postgres', connection: { url: dest.url }, table: 'events' },
            mode: 'id',
            cursorColumn: 'id',
            keyColumns: ['id'],
            batchSize: 10_000,
            pollIntervalMs,
          },
        ],
      }),
    );
    child.proc = spawn(AGENT_BIN, ['--config', config, '--state-dir', dir, '--log-level', 'warn'], { stdio: ['ignore', 'ignore', 'inherit'] });
    const offset = async () =>
      readFile(join(dir, 'offsets', 'catchup.json'), 'utf8').then(
        (t) => Number(JSON.parse(t).value),
        () => 0,
      );
    while ((await offset()) < initial) await new Promise((r) => setTimeout(r, 100));

    const perTick = rate / 10;
    const started = performance.now();
    let written = 0;
    for (let tick = 0; tick < seconds * 10; tick++) {
      await src.query(`insert into events (body) select md5(random()::text) from generate_series(1, $1)`, [perTick]);
      written += perTick;
      const due = started + (tick + 1) * 100;
      const wait = due - performance.now();
      if (wait > 0) await new Promise((r) => setTimeout(r, wait));
    }
    const total = initial + written;
    while ((await offset()) < total) await new Promise((r) => setTimeout(r, 100));
    const r = (
      await dst.query(
        `select count(*)::int as n,
           percentile_cont(0.5) within group (order by extract(epoch from arrived_at - created_at)) * 1000 as p50,
           percentile_cont(0.99) within group (order by extract(epoch from arrived_at - created_at)) * 1000 as p99,
           max(extract(epoch from arrived_at - created_at)) * 1000 as max
         from events where id > $1`,
        [initial],
      )
    ).rows[0];
    if (Number(r.n) !== written) throw new Error(`catch-up: expected ${written} new rows, found ${r.n}`);
    return { rowsPerSecond: rate, seconds, rows: written, pollIntervalMs, p50Ms: Number(r.p50), p99Ms: Number(r.p99), maxMs: Number(r.max) };
  } finally {
    child.proc?.kill('SIGTERM');
    await Promise.all([src.end(), dst.end()]);
    await Promise.all([source.drop(), dest.drop()]);
  }
}
