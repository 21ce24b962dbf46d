import type { Namespace } from 'etcd3';
import type { DeadLetter, DeadLetterSink, SyncStatus } from '../runner/status.ts';
import { jsonSafe } from '../runner/file-dead-letters.ts';
import { KEYS, idOf, sequenceKey } from './keys.ts';

/** Per-sync status documents and dead letters in etcd. */
export class StatusStore {
  private readonly ns: Namespace;
  /** Dead letters kept per sync; the oldest are dropped beyond this. @default 1000 */
  readonly maxDeadLetters: number;

  constructor(ns: Namespace, maxDeadLetters = 1000) {
    this.ns = ns;
    this.maxDeadLetters = maxDeadLetters;
  }

  async put(status: SyncStatus): Promise<void> {
    await this.ns.put(KEYS.status(status.syncId)).value(JSON.stringify(status));
  }

  async get(syncId: string): Promise<SyncStatus | undefined> {
    const text = await this.ns.get(KEYS.status(syncId)).string();
    return text === null ? undefined : (JSON.parse(text) as SyncStatus);
  }

  async list(): Promise<SyncStatus[]> {
    const all = await this.ns.getAll().prefix(KEYS.statuses).strings();
    return Object.values(all).map((t) => JSON.parse(t) as SyncStatus);
  }

  async delete(syncId: string): Promise<void> {
    await this.ns.delete().key(KEYS.status(syncId)).exec();
  }

  /** A sink writing one key per rejected row, bounded to `maxDeadLetters` per sync. */
  deadLetterSink(syncId: string): DeadLetterSink {
    return { record: (entries) => this.recordDeadLetters(syncId, entries) };
  }

  async recordDeadLetters(syncId: string, entries: DeadLetter[]): Promise<void> {
    const prefix = KEYS.errors(syncId);
    for (const entry of entries) await this.ns.put(prefix + sequenceKey()).value(JSON.stringify(entry, jsonSafe));
    const keys = await this.ns.getAll().prefix(prefix).sort('Key', 'Ascend').keys();
    const excess = keys.length - this.maxDeadLetters;
    for (const key of keys.slice(0, Math.max(0, excess))) await this.ns.delete().key(key).exec();
  }

  /** Dead letters of a sync, oldest first, each with its id (for deleting it). */
  async listDeadLetters(syncId: string): Promise<Array<DeadLetter & { id: string }>> {
    const prefix = KEYS.errors(syncId);
    const all = await this.ns.getAll().prefix(prefix).sort('Key', 'Ascend').strings();
    return Object.entries(all).map(([key, text]) => ({ ...(JSON.parse(text) as DeadLetter), id: idOf(key, prefix) }));
  }

  /** Deletes some dead letters of a sync (all when `ids` is omitted); returns how many. */
  async deleteDeadLetters(syncId: string, ids?: string[]): Promise<number> {
    const prefix = KEYS.errors(syncId);
    if (!ids) return Number((await this.ns.delete().prefix(prefix).exec()).deleted);
    let n = 0;
    for (const id of ids) n += Number((await this.ns.delete().key(prefix + id).exec()).deleted);
    return n;
  }
}
