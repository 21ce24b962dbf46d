import { writeFile } from 'node:fs/promises';
import { cpus, totalmem } from 'node:os';
import { parseArgs } from 'node:util';
import { resolve } from 'node:path';
import { startPostgres } from '@idra/testkit';
import { printTable, type BenchResult } from './lib.ts';
import { benchPgToPg } from './pg-to-pg.ts';

const { values } = parseArgs({ options: { rows: { type: 'string', default: '1000000' } } });
const rows = Number(values.rows);

const machine = `${cpus().length} × ${cpus()[0]?.model ?? 'cpu'}, ${Math.round(totalmem() / 2 ** 30)} GiB, Node ${process.version}`;
console.log(`Idra benchmarks — ${machine}`);
console.log(`PostgreSQL: ${process.env.IDRA_BENCH_PG_URL ? 'IDRA_BENCH_PG_URL' : 'throwaway server from testkit'}; ${rows.toLocaleString('en-US')} rows\n`);

const server = process.env.IDRA_BENCH_PG_URL ? undefined : await startPostgres();
const pgUrl = process.env.IDRA_BENCH_PG_URL ?? server!.url;
const results: BenchResult[] = [];
try {
  results.push(...(await benchPgToPg(pgUrl, rows)));
} finally {
  await server?.stop();
}
printTable(results);
const out = resolve(import.meta.dirname, 'results.json');
await writeFile(out, JSON.stringify({ at: new Date().toISOString(), machine, results }, null, 2) + '\n');
console.log(`\nwritten ${out}`);
