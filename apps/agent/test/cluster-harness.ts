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
  /** etcd revision of the offset commit. */
  revision: string;
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
      .map((l) => ({ agentId: this.id, syncId: String(l.syncId), startedAt: Number(l.startedAt), committedAt: Number(l.committedAt), rows: Number(l.rows), epoch: String(l.epoch), revision: String(l.revision) }));
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

/**
 * Commits that fencing should have refused, judged by etcd's own order (no clocks): a commit made
 * under lock epoch E at revision R while a newer lock E' (E < E' < R) of the same sync existed.
 * Empty means the owners of every sync took turns: no two agents ever committed for it concurrently.
 */
export function unfencedCommits(records: BatchRecord[]): BatchRecord[] {
  const bySync = new Map<string, BatchRecord[]>();
  for (const r of records) bySync.set(r.syncId, [...(bySync.get(r.syncId) ?? []), r]);
  const bad: BatchRecord[] = [];
  for (const list of bySync.values()) {
    const epochs = [...new Set(list.map((r) => BigInt(r.epoch)))];
    for (const r of list) {
      const e = BigInt(r.epoch);
      const rev = BigInt(r.revision);
      if (epochs.some((newer) => newer > e && newer < rev)) bad.push(r);
    }
  }
  return bad;
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
