import { spawn, type ChildProcess } from 'node:child_process';
import { resolve } from 'node:path';

const MAIN = resolve(import.meta.dirname, '../src/main.ts');

/** A committed batch as an agent logs it (debug level). */
export interface BatchRecord {
  agentId: string;
  syncId: string;
  startedAt: number;
  committedAt: number;
  rows: number;
  /** The lock's create revision (fencing token) the batch was committed under. */
  epoch: string;
}

/** A real agent process in cluster mode; its JSON log lines are kept for assertions. */
export class AgentProcess {
  readonly id: string;
  readonly child: ChildProcess;
  readonly exited: Promise<number | null>;
  private buffer = '';
  readonly lines: Array<Record<string, unknown>> = [];

  constructor(id: string, endpoints: string[], prefix: string, extraArgs: string[] = []) {
    this.id = id;
    this.child = spawn(
      process.execPath,
      [MAIN, '--etcd', endpoints.join(','), '--prefix', prefix, '--agent-id', id, '--log-level', 'debug', '--progress-interval', '1s', ...extraArgs],
      { env: { ...process.env, IDRA_LOG_FORMAT: 'json' }, stdio: ['ignore', 'pipe', 'pipe'] },
    );
    const onData = (d: Buffer) => {
      this.buffer += d.toString();
      let nl: number;
      while ((nl = this.buffer.indexOf('\n')) >= 0) {
        const line = this.buffer.slice(0, nl);
        this.buffer = this.buffer.slice(nl + 1);
        try {
          this.lines.push(JSON.parse(line) as Record<string, unknown>);
        } catch {
          this.lines.push({ msg: line });
        }
      }
    };
    this.child.stdout!.on('data', onData);
    this.child.stderr!.on('data', onData);
    this.exited = new Promise((r) => this.child.on('exit', (code) => r(code)));
  }

  has(msg: string | RegExp): boolean {
    return this.lines.some((l) => (typeof msg === 'string' ? l.msg === msg : msg.test(String(l.msg))));
  }

  batches(): BatchRecord[] {
    return this.lines
      .filter((l) => l.msg === 'batch committed')
      .map((l) => ({ agentId: this.id, syncId: String(l.syncId), startedAt: Number(l.startedAt), committedAt: Number(l.committedAt), rows: Number(l.rows), epoch: String(l.epoch) }));
  }

  signal(sig: NodeJS.Signals): void {
    this.child.kill(sig);
  }

  async stop(): Promise<void> {
    if (this.child.exitCode === null && this.child.signalCode === null) {
      this.child.kill('SIGCONT');
      this.child.kill('SIGTERM');
      await this.exited;
    }
  }
}

/** Pairs of committed batches of one sync, from different agents, whose time spans overlap. */
export function overlappingBatches(records: BatchRecord[]): Array<[BatchRecord, BatchRecord]> {
  const bySync = new Map<string, BatchRecord[]>();
  for (const r of records) bySync.set(r.syncId, [...(bySync.get(r.syncId) ?? []), r]);
  const overlaps: Array<[BatchRecord, BatchRecord]> = [];
  for (const list of bySync.values()) {
    list.sort((a, b) => a.startedAt - b.startedAt);
    for (let i = 1; i < list.length; i++) {
      const prev = list[i - 1]!;
      const next = list[i]!;
      if (prev.agentId !== next.agentId && next.startedAt < prev.committedAt) overlaps.push([prev, next]);
    }
  }
  return overlaps;
}

export async function until<T>(what: string, probe: () => Promise<T | undefined | false> | T | undefined | false, timeoutMs = 60_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await probe();
    if (v !== undefined && v !== false) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}
