import { tmpdir } from 'node:os';
import { randomBytes } from 'node:crypto';
import { resolve } from 'node:path';
import type { IKeyValue, Namespace, Watcher } from 'etcd3';
import { KEYS } from '@idra/core';
import { SpawnedProcess, until } from '@idra/testkit';

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
export class AgentProcess extends SpawnedProcess {
  readonly id: string;

  constructor(id: string, endpoints: string[], prefix: string, extraArgs: string[] = [], env: Record<string, string> = {}) {
    super(
      process.execPath,
      [MAIN, '--etcd', endpoints.join(','), '--prefix', prefix, '--agent-id', id, '--log-level', 'debug', '--progress-interval', '1s', ...extraArgs],
      {
        // Cluster agents open SQLite files only under IDRA_SQLITE_ROOTS: the tests keep theirs in temporary directories.
        env: { ...process.env, IDRA_LOG_FORMAT: 'json', IDRA_SQLITE_ROOTS: tmpdir(), ...env },
      },
    );
    this.id = id;
  }

  has(msg: string | RegExp): boolean {
    return this.lines.some((l) => (typeof msg === 'string' ? l.msg === msg : msg.test(String(l.msg))));
  }

  batches(): BatchRecord[] {
    return this.lines
      .filter((l) => l.msg === 'batch committed')
      .map((l) => ({
        agentId: this.id,
        syncId: String(l.syncId),
        startedAt: Number(l.startedAt),
        committedAt: Number(l.committedAt),
        rows: Number(l.rows),
        epoch: String(l.epoch),
        revision: String(l.revision),
      }));
  }

  /** Its log lines about leadership, its lease and assignments, one short line each: what a failed wait for a failover shows. */
  clusterEvents(): string[] {
    return this.lines
      .filter((l) => /leader|lease|registered|register with etcd|assign|agent (lost|stopped)|watch/.test(String(l.msg)))
      .map((l) => `${String(l.time ?? '')} ${this.id}: ${String(l.msg)}${l.err === undefined ? '' : ` (${String(l.err)})`}`);
  }

  signal(sig: NodeJS.Signals): void {
    this.child.kill(sig);
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

/** A write that fencing should have refused: made for a sync whose lock, at that etcd revision, was not the writer's. */
export interface OwnershipViolation {
  key: string;
  revision: string;
  /** The agent the document names as its writer (unknown for dead letters). */
  writer: string | undefined;
  /** The agent whose lock the sync had at that revision, if any. */
  owner: string | undefined;
}

interface Change {
  type: 'put' | 'delete';
  key: string;
  value: string;
  revision: bigint;
}

/**
 * Every change under a cluster prefix from now on, in etcd's order, so that what the agents wrote can
 * be judged against who held each sync's lock at that very revision — no clocks, no logs. A fenced
 * write commits in one transaction with the comparison of its lock, so at its revision the lock must
 * exist and be the writer's.
 */
export class EtcdHistory {
  private readonly ns: Namespace;
  private readonly watcher: Watcher;
  private readonly changes: Change[] = [];

  private constructor(ns: Namespace, watcher: Watcher) {
    this.ns = ns;
    this.watcher = watcher;
    const record = (type: Change['type']) => (kv: IKeyValue) =>
      this.changes.push({ type, key: kv.key.toString(), value: kv.value.toString(), revision: BigInt(kv.mod_revision) });
    watcher.on('put', record('put'));
    watcher.on('delete', record('delete'));
  }

  /** Starts recording at the namespace's current revision (a watch resumes from its last revision after a disconnect). */
  static async start(ns: Namespace): Promise<EtcdHistory> {
    const marker = `history/${randomBytes(4).toString('hex')}`;
    const revision = (await ns.put(marker).value('start').exec()).header.revision;
    const watcher = await ns
      .watch()
      .prefix('')
      .startRevision(String(BigInt(revision) + 1n))
      .create();
    return new EtcdHistory(ns, watcher);
  }

  /** Resolves once every change made before this call has been recorded. */
  async settle(timeoutMs = 30_000): Promise<void> {
    const marker = `history/${randomBytes(4).toString('hex')}`;
    await this.ns.put(marker).value('settle').exec();
    await until('etcd history to catch up', () => this.changes.some((c) => c.key === marker), timeoutMs);
  }

  /** Status, offset and dead-letter writes made while the sync's lock was not the writer's. */
  violations(): OwnershipViolation[] {
    const locks = new Map<string, string>();
    const bad: OwnershipViolation[] = [];
    for (const c of this.changes) {
      if (c.key.startsWith(KEYS.locks)) {
        const syncId = c.key.slice(KEYS.locks.length);
        if (c.type === 'put') locks.set(syncId, (JSON.parse(c.value) as { agentId: string }).agentId);
        else locks.delete(syncId);
        continue;
      }
      if (c.type !== 'put') continue;
      const written = writtenFor(c.key);
      if (!written) continue;
      const owner = locks.get(written.syncId);
      const writer = written.named ? (JSON.parse(c.value) as { agentId?: string }).agentId : undefined;
      if (owner === undefined || (written.named && writer !== owner)) bad.push({ key: c.key, revision: String(c.revision), writer, owner });
    }
    return bad;
  }

  /** The values put under `prefix`, in etcd's order, with their keys. */
  puts(prefix: string): Array<{ key: string; value: string }> {
    return this.changes.filter((c) => c.type === 'put' && c.key.startsWith(prefix)).map(({ key, value }) => ({ key, value }));
  }

  /** How many writes of each kind were judged (a check that judged nothing proves nothing). */
  counts(): { statuses: number; offsets: number; deadLetters: number } {
    const puts = this.changes.filter((c) => c.type === 'put');
    return {
      statuses: puts.filter((c) => c.key.startsWith(KEYS.statuses)).length,
      offsets: puts.filter((c) => c.key.startsWith(KEYS.offsets)).length,
      deadLetters: puts.filter((c) => c.key.startsWith(KEYS.allErrors)).length,
    };
  }

  async stop(): Promise<void> {
    await this.watcher.cancel();
  }
}

/** The sync a key is an agent's write for, and whether the document names its writer (`agentId`). */
function writtenFor(key: string): { syncId: string; named: boolean } | undefined {
  if (key.startsWith(KEYS.statuses)) return { syncId: key.slice(KEYS.statuses.length), named: true };
  if (key.startsWith(KEYS.offsets)) return { syncId: key.slice(KEYS.offsets.length), named: true };
  if (key.startsWith(KEYS.allErrors)) return { syncId: key.slice(KEYS.allErrors.length).split('/')[0]!, named: false };
  return undefined;
}
