import { spawn } from 'node:child_process';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import pg from 'pg';
import { createDatabase, tempDir } from '@idra/testkit';
import { defaultSlotName } from '@idra/connectors';
import { AGENT_BIN, runAgentUntil, timeShell } from './lib.ts';
import { createSource } from './datasets.ts';

export interface CdcResult {
  snapshot: { rows: number; copySeconds: number; idraSeconds: number; ratio: number; peakRssMb: number };
  /** The steady mix at a fixed rate: end-to-end latency of inserts, source statement to destination commit. */
  steady: { eventsPerSecond: number; seconds: number; p50Ms: number; p99Ms: number; maxMs: number };
  /** As fast as one writer goes: events applied per second from its first write until the slot confirmed the last. */
  sustained: { events: number; seconds: number; eventsPerSecond: number };
}

const mix = (n: number) => ({ inserts: Math.round(n * 0.6), updates: Math.round(n * 0.3), deletes: n - Math.round(n * 0.6) - Math.round(n * 0.3) });

/** One source transaction of `n` events of the narrow shape: 60 % inserts of new ids, 30 % updates, 10 % deletes of existing ones. */
async function writeMix(c: pg.Client, n: number, next: { id: number }, existing: number): Promise<void> {
  const m = mix(n);
  const from = next.id;
  const to = (next.id += m.inserts) - 1;
  await c.query('begin');
  await c.query(
    `insert into events (id, name, amount) select g, 'customer ' || (g % 10007), (g % 100000) / 100.0 from generate_series($1::bigint, $2::bigint) g`,
    [from, to],
  );
  await c.query(
    `update events set amount = amount + 1, created_at = clock_timestamp() where id in (select (random() * $1)::bigint + 1 from generate_series(1, $2))`,
    [existing, m.updates],
  );
  await c.query(`delete from events where id in (select (random() * $1)::bigint + 1 from generate_series(1, $2))`, [existing, m.deletes]);
  await c.query('commit');
}

/**
 * Mode cdc PG→PG: the initial copy of `rows` narrow rows against the COPY pipe in the same run, then
 * a steady 60/30/10 insert/update/delete mix at `rate` events/s (latency), then a writer as fast as
 * it goes (sustained events/s, measured until the slot has confirmed the last change).
 */
export async function benchCdc(
  pgUrl: string,
  opts: { rows: number; rate: number; seconds: number; parallelism: number; batchSize: number },
): Promise<CdcResult> {
  const source = await createDatabase('postgres', pgUrl);
  const dest = await createDatabase('postgres', pgUrl);
  const dir = await tempDir('idra-bench-cdc-');
  const src = new pg.Client(source.url);
  const dst = new pg.Client(dest.url);
  // A dropped database ends its sessions: an 'error' event nobody hears would end the benchmark, hiding why it stopped.
  for (const c of [src, dst]) c.on('error', () => {});
  await Promise.all([src.connect(), dst.connect()]);
  let agent: ReturnType<typeof spawn> | undefined;
  try {
    // Initial copy.
    await createSource('postgres', { url: source.url }, 'narrow', opts.rows);
    await dst.query('create table copy_pipe (id bigint primary key, name text not null, amount numeric(14,2) not null, created_at timestamptz(6) not null)');
    const copySeconds = await timeShell(`psql -X -q "${source.url}" -c "\\copy src to stdout" | psql -X -q "${dest.url}" -c "\\copy copy_pipe from stdin"`);
    const snapshotSync = {
      id: 'cdc-bench-snapshot',
      source: { connector: 'postgres', connection: { url: source.url }, table: 'src', options: { snapshotParallelism: opts.parallelism } },
      destination: { connector: 'postgres', connection: { url: dest.url }, table: 'src' },
      mode: 'cdc',
      keyColumns: ['id'],
      batchSize: opts.batchSize,
    };
    const copied = await runAgentUntil({ dir, sync: snapshotSync, target: (v) => typeof v === 'object' && v !== null && !('snapshot' in v) });
    const n = Number((await dst.query('select count(*) as n from src')).rows[0].n);
    if (n !== opts.rows) throw new Error(`cdc snapshot: expected ${opts.rows} rows, found ${n}`);
    await src.query('select pg_drop_replication_slot($1)', [defaultSlotName(snapshotSync.id)]);

    // The stream: a table of 100,000 rows, the agent following it.
    const existing = 100_000;
    await src.query(
      'create table events (id bigint primary key, name text not null, amount numeric(14,2) not null, created_at timestamptz(6) not null default clock_timestamp())',
    );
    await src.query(`insert into events (id, name, amount) select g, 'customer ' || g, g / 100.0 from generate_series(1, $1) g`, [existing]);
    await dst.query(
      'create table events (id bigint primary key, name text not null, amount numeric(14,2) not null, created_at timestamptz(6) not null, arrived_at timestamptz(6) not null default clock_timestamp())',
    );
    const streamSync = {
      id: 'cdc-bench-stream',
      source: { connector: 'postgres', connection: { url: source.url }, table: 'events' },
      destination: { connector: 'postgres', connection: { url: dest.url }, table: 'events' },
      mode: 'cdc',
      keyColumns: ['id'],
      batchSize: opts.batchSize,
      pollIntervalMs: 1000,
    };
    const config = join(dir, 'stream.json');
    await writeFile(config, JSON.stringify({ syncs: [streamSync] }));
    agent = spawn(AGENT_BIN, ['--config', config, '--state-dir', dir, '--log-level', 'warn'], { stdio: ['ignore', 'ignore', 'inherit'] });
    const slot = defaultSlotName(streamSync.id);
    const confirmedAtLeast = async (lsn: string) => {
      for (;;) {
        const r = (await src.query('select confirmed_flush_lsn >= $2::pg_lsn as done from pg_replication_slots where slot_name = $1', [slot, lsn])).rows[0];
        if (r?.done) return;
        await new Promise((res) => setTimeout(res, 50));
      }
    };
    const currentLsn = async () => String((await src.query('select pg_current_wal_lsn()::text as l')).rows[0].l);
    // The agent first copies the table: the stream is measured once the copy is in the destination and the slot has caught up.
    while (Number((await dst.query('select count(*) as n from events')).rows[0].n) < existing) await new Promise((res) => setTimeout(res, 100));
    await confirmedAtLeast(await currentLsn());

    // The writer commits as PostgreSQL does by default: with synchronous_commit off (the throwaway
    // server's setting) a commit reaches the walsender only when the WAL writer flushes it, up to
    // wal_writer_delay (200 ms) later, which would be measured as Idra's latency.
    await src.query('set synchronous_commit = on');
    // Steady rate: one transaction per 100 ms tick.
    const next = { id: 10_000_000 };
    const firstInsert = next.id;
    const perTick = opts.rate / 10;
    const started = performance.now();
    for (let tick = 0; tick < opts.seconds * 10; tick++) {
      await writeMix(src, perTick, next, existing);
      const wait = started + (tick + 1) * 100 - performance.now();
      if (wait > 0) await new Promise((r) => setTimeout(r, wait));
    }
    await confirmedAtLeast(await currentLsn());
    const lat = (
      await dst.query(
        `select percentile_cont(0.5) within group (order by extract(epoch from arrived_at - created_at)) * 1000 as p50,
           percentile_cont(0.99) within group (order by extract(epoch from arrived_at - created_at)) * 1000 as p99,
           max(extract(epoch from arrived_at - created_at)) * 1000 as max from events where id >= $1`,
        [firstInsert],
      )
    ).rows[0];

    // Sustained: a writer as fast as it goes, transactions of 1,000 events (two would deadlock on their random updates).
    let events = 0;
    const t0 = performance.now();
    while (performance.now() - t0 < opts.seconds * 1000) {
      await writeMix(src, 1000, next, existing);
      events += 1000;
    }
    await confirmedAtLeast(await currentLsn());
    const elapsed = (performance.now() - t0) / 1000;

    // The destination holds what the source holds.
    const sum = async (c: pg.Client) =>
      (await c.query("select count(*)::text || ':' || coalesce(sum(id * 7 + amount), 0)::text as s from events")).rows[0].s as string;
    const [want, got] = await Promise.all([sum(src), sum(dst)]);
    if (want !== got) throw new Error(`cdc stream: source ${want} ≠ destination ${got}`);
    return {
      snapshot: { rows: opts.rows, copySeconds, idraSeconds: copied.seconds, ratio: copySeconds / copied.seconds, peakRssMb: copied.peakRssMb },
      steady: { eventsPerSecond: opts.rate, seconds: opts.seconds, p50Ms: Number(lat.p50), p99Ms: Number(lat.p99), maxMs: Number(lat.max) },
      sustained: { events, seconds: elapsed, eventsPerSecond: events / elapsed },
    };
  } finally {
    agent?.kill('SIGTERM');
    await new Promise((r) => (agent && agent.exitCode === null ? agent.on('exit', r) : r(undefined)));
    await src
      .query("select pg_drop_replication_slot(slot_name) from pg_replication_slots where slot_name like 'idra_cdc_bench%' and not active")
      .catch(() => {});
    await Promise.all([src.end(), dst.end()]);
    await Promise.all([source.drop(), dest.drop()]);
  }
}
