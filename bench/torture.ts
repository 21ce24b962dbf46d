import { createDatabase, tempDir } from '@idra/testkit';
// The workload the torture test runs, at a larger size (a test helper, not part of the package's API).
import { percentiles, runTorture, type TortureOptions } from '@idra/connectors/testing';

/** One torture run as reported by `pnpm bench`. */
export interface TortureBenchResult {
  scenario: string;
  writers: number;
  seconds: number;
  restarts: number;
  transactions: number;
  heldTransactions: number;
  rows: number;
  missed: number;
  duplicates: number;
  differing: number;
  /** Writer commit → row committed in the destination, inserted rows only. */
  latencyP50Ms: number;
  latencyP99Ms: number;
  catchUpSeconds: number;
}

export interface TortureBenchOptions {
  servers: Partial<Record<'postgres' | 'mysql', string>>;
  writers: number;
  seconds: number;
  restarts: number;
}

/**
 * Concurrent writers (30 % of transactions held open 50–800 ms after taking ids and now()) while a
 * sync copies, stops and restarts; then source and destination compared row for row. Per database:
 * timestamp mode (upsert) and id mode with the watermark, and PostgreSQL's timestamp mode without
 * it, to show what it prevents.
 */
export async function benchTorture(opts: TortureBenchOptions): Promise<TortureBenchResult[]> {
  const runs: Array<{ dialect: 'postgres' | 'mysql'; mode: TortureOptions['mode']; watermark: boolean }> = [];
  for (const dialect of ['postgres', 'mysql'] as const) {
    if (!opts.servers[dialect]) continue;
    runs.push({ dialect, mode: 'timestamp', watermark: true }, { dialect, mode: 'id', watermark: true });
  }
  if (opts.servers.postgres) runs.push({ dialect: 'postgres', mode: 'timestamp', watermark: false });

  const results: TortureBenchResult[] = [];
  for (const run of runs) {
    const server = opts.servers[run.dialect]!;
    const [source, destination] = [await createDatabase(run.dialect, server), await createDatabase(run.dialect, server)];
    try {
      const r = await runTorture({
        dialect: run.dialect,
        mode: run.mode,
        source: { url: source.url },
        destination: { url: destination.url },
        writers: opts.writers,
        seconds: opts.seconds,
        restarts: run.watermark ? opts.restarts : 0,
        stateDir: await tempDir('idra-bench-torture-'),
        batchSize: 100,
        pollIntervalMs: 100,
        watermark: run.watermark,
        catchUpMs: 60_000,
      });
      const latency = percentiles(r.latencyMs);
      const label = `${run.dialect === 'postgres' ? 'PostgreSQL' : 'MariaDB'} ${run.mode === 'timestamp' ? 'timestamp/upsert' : 'id/insert'}`;
      results.push({
        scenario: run.watermark ? label : `${label}, NO watermark`,
        writers: opts.writers,
        seconds: opts.seconds,
        restarts: run.watermark ? opts.restarts : 0,
        transactions: r.transactions,
        heldTransactions: r.heldTransactions,
        rows: r.sourceRows,
        missed: r.missing.length,
        duplicates: r.duplicates.length,
        differing: r.different.length,
        latencyP50Ms: latency.p50,
        latencyP99Ms: latency.p99,
        catchUpSeconds: r.catchUpSeconds,
      });
    } finally {
      await Promise.all([source.drop(), destination.drop()]);
    }
  }
  return results;
}

/** Prints torture results as an aligned table. */
export function printTorture(results: TortureBenchResult[]): void {
  const header = ['scenario', 'rows', 'txns (held)', 'restarts', 'missed', 'dups', 'differing', 'latency p50', 'latency p99'];
  const lines = results.map((r) => [
    r.scenario,
    r.rows.toLocaleString('en-US'),
    `${r.transactions.toLocaleString('en-US')} (${r.heldTransactions.toLocaleString('en-US')})`,
    String(r.restarts),
    String(r.missed),
    String(r.duplicates),
    String(r.differing),
    `${(r.latencyP50Ms / 1000).toFixed(2)} s`,
    `${(r.latencyP99Ms / 1000).toFixed(2)} s`,
  ]);
  const widths = header.map((h, i) => Math.max(h.length, ...lines.map((l) => l[i]!.length)));
  const fmt = (cells: string[]) => cells.map((c, i) => (i === 0 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join('  ');
  console.log(fmt(header));
  console.log(widths.map((w) => '-'.repeat(w)).join('  '));
  for (const l of lines) console.log(fmt(l));
}
