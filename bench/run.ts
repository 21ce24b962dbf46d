import { writeFile } from 'node:fs/promises';
import { cpus, totalmem } from 'node:os';
import { parseArgs } from 'node:util';
import { resolve } from 'node:path';
import { startMariadb, startPostgres } from '@idra/testkit';
import { SYNC_DEFAULTS } from '@idra/core';
import { printTable, type BenchResult } from './lib.ts';
import { benchThroughput } from './throughput.ts';
import { benchCatchup } from './catchup.ts';
import type { Shape } from './datasets.ts';
import { benchFailover, benchPlanner } from './cluster.ts';
import { benchTorture, printTorture } from './torture.ts';
import { benchS3Stream } from './s3-stream.ts';
import { benchCdc } from './cdc.ts';
import { benchReconcile } from './reconcile.ts';
import { benchScale, printScale } from './scale.ts';

const { values } = parseArgs({
  options: {
    rows: { type: 'string', default: '1000000' },
    shapes: { type: 'string', default: 'narrow,wide' },
    pairs: { type: 'string' },
    // The sync's default, so that the figures are what a sync left at its defaults does.
    'batch-size': { type: 'string', default: String(SYNC_DEFAULTS.batchSize) },
    // The sync's parallelism: key ranges of the copy written side by side.
    parallelism: { type: 'string', default: '1' },
    only: { type: 'string' },
    'failover-repeats': { type: 'string', default: '10' },
    'torture-seconds': { type: 'string', default: '20' },
    'torture-writers': { type: 'string', default: '8' },
    's3-megabytes': { type: 'string', default: '1024' },
    'cdc-rate': { type: 'string', default: '5000' },
    'cdc-seconds': { type: 'string', default: '20' },
    // The connector's default; 2 measured 0.40x against 0.45-0.63x for 1 on this 2-core machine (docs/benchmarks.md).
    'cdc-parallelism': { type: 'string', default: '1' },
    'scale-syncs': { type: 'string', default: '1000' },
    'scale-idle-seconds': { type: 'string', default: '90' },
  },
});
const wants = (section: string) => values.only === undefined || values.only.split(',').includes(section);
const rows = Number(values.rows);

const machine = `${cpus().length} × ${cpus()[0]?.model ?? 'cpu'}, ${Math.round(totalmem() / 2 ** 30)} GiB, Node ${process.version}`;
console.log(`Idra benchmarks — ${machine}`);
console.log(`PostgreSQL: ${process.env.IDRA_BENCH_PG_URL ? 'IDRA_BENCH_PG_URL' : 'throwaway server from testkit'}; ${rows.toLocaleString('en-US')} rows\n`);

const server = process.env.IDRA_BENCH_PG_URL ? undefined : await startPostgres();
const pgUrl = process.env.IDRA_BENCH_PG_URL ?? server!.url;
const results: BenchResult[] = [];
const extra: Record<string, unknown> = {};
try {
  if (wants('throughput')) {
    const mariadb = process.env.IDRA_BENCH_MYSQL_URL ? undefined : await startMariadb();
    try {
      results.push(
        ...(await benchThroughput({
          pgUrl,
          mysqlUrl: process.env.IDRA_BENCH_MYSQL_URL ?? mariadb!.url,
          rows,
          shapes: values.shapes.split(',') as Shape[],
          batchSize: Number(values['batch-size']),
          parallelism: Number(values.parallelism),
          pairs: values.pairs?.split(','),
        })),
      );
    } finally {
      await mariadb?.stop();
    }
  }
  if (results.length > 0) printTable(results);
  if (wants('catchup')) {
    const c = await benchCatchup(pgUrl);
    console.log(
      `\ncatch-up: ${c.rowsPerSecond.toLocaleString('en-US')} new rows/s for ${c.seconds} s (PG→PG, pollInterval ${c.pollIntervalMs} ms): end-to-end latency p50 ${Math.round(c.p50Ms)} ms, p99 ${Math.round(c.p99Ms)} ms, max ${Math.round(c.maxMs)} ms (target p99 ≤ ${2 * c.pollIntervalMs} ms)`,
    );
    extra.catchup = c;
  }
  if (wants('cluster')) {
    const planner = benchPlanner();
    console.log(
      `\nplanner, 1,000 syncs × 10 agents: cold plan ${planner.coldMs.toFixed(2)} ms, re-plan after one agent left ${planner.replanMs.toFixed(2)} ms (${planner.moved} syncs moved)`,
    );
    const failover = await benchFailover(pgUrl, Number(values['failover-repeats']));
    console.log(
      `failover (kill -9 → first batch committed elsewhere, default lease TTL 3 s), ${failover.samplesMs.length} runs: p50 ${(failover.p50 / 1000).toFixed(2)} s, p99 ${(failover.p99 / 1000).toFixed(2)} s; samples ${failover.samplesMs.map((x) => (x / 1000).toFixed(2)).join(', ')}`,
    );
    extra.planner = planner;
    extra.failover = failover;
  }
  if (wants('s3')) {
    const s3 = await benchS3Stream({ pgUrl, megabytes: Number(values['s3-megabytes']) });
    console.log(
      `\ns3: one ${s3.objectMb} MB JSON Lines object (${s3.rows.toLocaleString('en-US')} rows) → PG in ${s3.seconds.toFixed(1)} s, agent peak RSS ${s3.peakRssMb} MB`,
    );
    extra.s3 = s3;
  }
  if (wants('cdc')) {
    const cdc = await benchCdc(pgUrl, {
      rows,
      rate: Number(values['cdc-rate']),
      seconds: Number(values['cdc-seconds']),
      parallelism: Number(values['cdc-parallelism']),
      batchSize: Number(values['batch-size']),
    });
    const { snapshot: s, steady, sustained } = cdc;
    console.log(`
cdc PG→PG, narrow rows: initial copy of ${s.rows.toLocaleString('en-US')} rows (snapshotParallelism ${values['cdc-parallelism']}) ${s.idraSeconds.toFixed(1)} s vs COPY pipe ${s.copySeconds.toFixed(1)} s (${s.ratio.toFixed(2)}× the pipe, target ≥ 0.8×; peak RSS ${s.peakRssMb} MB)
cdc steady ${steady.eventsPerSecond.toLocaleString('en-US')} events/s (60 % insert, 30 % update, 10 % delete) for ${steady.seconds} s: insert latency source statement → destination commit p50 ${Math.round(steady.p50Ms)} ms, p99 ${Math.round(steady.p99Ms)} ms, max ${Math.round(steady.maxMs)} ms (target p99 ≤ 1 s)
cdc sustained: ${sustained.events.toLocaleString('en-US')} events in ${sustained.seconds.toFixed(1)} s = ${Math.round(sustained.eventsPerSecond).toLocaleString('en-US')} events/s applied (target ≥ 20,000)`);
    extra.cdc = cdc;
  }
  if (wants('reconcile')) {
    const r = await benchReconcile(pgUrl);
    console.log(`\nkey reconciliation PG→PG, ${r.keys.toLocaleString('en-US')} keys at each end:`);
    for (const run of r.runs) {
      console.log(
        `  ${run.scenario.padEnd(16)} by ${run.method.padEnd(7)} ${run.gone} gone, ${run.listed.toLocaleString('en-US')} keys listed, ${run.seconds.toFixed(1)} s (${run.secondsPerMillionKeys.toFixed(1)} s per million keys)`,
      );
    }
    extra.reconcile = r;
  }
  if (wants('scale')) {
    const scale = await benchScale({ syncs: Number(values['scale-syncs']), agents: 3, tabs: 5, idleSeconds: Number(values['scale-idle-seconds']) }, (line) =>
      console.log(`scale: ${line}`),
    );
    printScale(scale);
    extra.scale = scale;
  }
  if (wants('torture')) {
    const mariadb = process.env.IDRA_BENCH_MYSQL_URL ? undefined : await startMariadb();
    try {
      const seconds = Number(values['torture-seconds']);
      const writers = Number(values['torture-writers']);
      console.log(`
torture: ${writers} writers × ${seconds} s, 30 % of transactions held open 50–800 ms, sync stopped and restarted 5 times`);
      const torture = await benchTorture({
        servers: { postgres: pgUrl, mysql: process.env.IDRA_BENCH_MYSQL_URL ?? mariadb!.url },
        writers,
        seconds,
        restarts: 5,
      });
      printTorture(torture);
      extra.torture = torture;
    } finally {
      await mariadb?.stop();
    }
  }
} finally {
  await server?.stop();
}
const out = resolve(import.meta.dirname, 'results.json');
await writeFile(out, JSON.stringify({ at: new Date().toISOString(), machine, results, ...extra }, null, 2) + '\n');
console.log(`\nwritten ${out}`);
