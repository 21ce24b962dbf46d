import { spawn } from 'node:child_process';
import { readFile, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';

/** The agent as shipped: its launcher carries the Node heap settings. IDRA_BENCH_AGENT runs another build's (e.g. to compare two commits). */
export const AGENT_BIN = process.env.IDRA_BENCH_AGENT ?? resolve(import.meta.dirname, '../apps/agent/bin/idra-agent');

/** One line of the benchmark table. */
export interface BenchResult {
  scenario: string;
  rows: number;
  seconds: number;
  rowsPerSec: number;
  mbPerSec: number;
  baseline?: string | undefined;
  baselineRowsPerSec?: number | undefined;
  ratio?: number | undefined;
  peakRssMb?: number | undefined;
  /** CPU time the agent process used (user + system): on a busy machine steadier than its wall time. */
  agentCpuSeconds?: number | undefined;
  note?: string | undefined;
}

/** User + system CPU seconds a process has used so far (`/proc/<pid>/stat`, in clock ticks of 1/100 s). */
async function cpuSeconds(pid: number | undefined): Promise<number> {
  const stat = await readFile(`/proc/${pid}/stat`, 'utf8').catch(() => '');
  // The fields after the command name (which may hold spaces) start at state; utime and stime are the 12th and 13th of them.
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return (Number(fields[11] ?? 0) + Number(fields[12] ?? 0)) / 100;
}

/** Runs a shell command; resolves with its duration in seconds, rejects with its stderr on failure. */
export function timeShell(command: string): Promise<number> {
  return new Promise((res, rej) => {
    const started = performance.now();
    const child = spawn('bash', ['-o', 'pipefail', '-c', command], { stdio: ['ignore', 'pipe', 'pipe'] });
    let err = '';
    const keep = (d: Buffer) => (err = (err + d.toString()).slice(-4000));
    child.stdout.on('data', keep);
    child.stderr.on('data', keep);
    child.on('exit', (code) => (code === 0 ? res((performance.now() - started) / 1000) : rej(new Error(`${command}\n${err}`))));
  });
}

/**
 * Runs the real agent (single mode) on one sync until its stored offset's value is `target` (or
 * satisfies it), then stops it. Returns the wall time from process start, the process's peak
 * resident memory (VmHWM) and the CPU time it used.
 */
export async function runAgentUntil(opts: {
  dir: string;
  sync: Record<string, unknown>;
  target: string | ((value: unknown) => boolean);
}): Promise<{ seconds: number; peakRssMb: number; cpuSeconds: number }> {
  const reached = typeof opts.target === 'string' ? (v: unknown) => v === opts.target : opts.target;
  const config = join(opts.dir, `${String(opts.sync.id)}.json`);
  await writeFile(config, JSON.stringify({ syncs: [opts.sync] }));
  const started = performance.now();
  const child = spawn(AGENT_BIN, ['--config', config, '--state-dir', opts.dir, '--log-level', 'warn'], {
    stdio: ['ignore', 'ignore', 'inherit'],
    // The datasets' SQLite files live in their own temporary directories.
    env: { ...process.env, IDRA_LOG_FORMAT: 'json', IDRA_SQLITE_ROOTS: tmpdir() },
  });
  const exited = new Promise<void>((r) => child.on('exit', () => r()));
  const offsetFile = join(opts.dir, 'offsets', `${String(opts.sync.id)}.json`);
  let peakKb = 0;
  for (;;) {
    const value: unknown = await readFile(offsetFile, 'utf8').then(
      (t) => JSON.parse(t).value,
      () => undefined,
    );
    const status = await readFile(`/proc/${child.pid}/status`, 'utf8').catch(() => '');
    peakKb = Math.max(peakKb, Number(/VmHWM:\s+(\d+)/.exec(status)?.[1] ?? 0));
    if (value !== undefined && reached(value)) break;
    if (child.exitCode !== null) throw new Error(`agent exited with ${child.exitCode} before catching up`);
    // A sync that keeps failing would be waited for forever: stop with its error.
    type Reported = { state: string; attempts?: number; lastError?: { message: string } };
    const [sync] = await readFile(join(opts.dir, 'status.json'), 'utf8').then(
      (t) => JSON.parse(t) as Reported[],
      (): Reported[] => [],
    );
    if (sync && (sync.state === 'failed' || (sync.attempts ?? 0) >= 3)) {
      child.kill('SIGKILL');
      throw new Error(`sync ${String(opts.sync.id)} ${sync.state}: ${sync.lastError?.message ?? 'no error reported'}`);
    }
    await new Promise((r) => setTimeout(r, 25));
  }
  const seconds = (performance.now() - started) / 1000;
  const cpu = await cpuSeconds(child.pid);
  child.kill('SIGTERM');
  await exited;
  return { seconds, peakRssMb: Math.round(peakKb / 1024), cpuSeconds: cpu };
}

/** Prints results as an aligned table. */
export function printTable(results: BenchResult[]): void {
  const header = ['scenario', 'rows', 'seconds', 'rows/s', 'MB/s', 'baseline', 'baseline rows/s', 'ratio', 'peak RSS MB', 'agent CPU s'];
  const lines = results.map((r) => [
    r.scenario,
    r.rows.toLocaleString('en-US'),
    r.seconds.toFixed(2),
    Math.round(r.rowsPerSec).toLocaleString('en-US'),
    r.mbPerSec.toFixed(1),
    r.baseline ?? '',
    r.baselineRowsPerSec ? Math.round(r.baselineRowsPerSec).toLocaleString('en-US') : '',
    r.ratio !== undefined ? `${r.ratio.toFixed(2)}×` : '',
    r.peakRssMb !== undefined ? String(r.peakRssMb) : '',
    r.agentCpuSeconds !== undefined ? r.agentCpuSeconds.toFixed(2) : '',
  ]);
  const widths = header.map((h, i) => Math.max(h.length, ...lines.map((l) => l[i]!.length)));
  const fmt = (cells: string[]) => cells.map((c, i) => (i === 0 || i === 5 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join('  ');
  console.log(fmt(header));
  console.log(widths.map((w) => '-'.repeat(w)).join('  '));
  for (const l of lines) console.log(fmt(l));
}
