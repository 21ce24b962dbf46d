import type { IOperation, Namespace } from 'etcd3';
import type { DeadLetter, DeadLetterSink, SyncStatus } from '../runner/status.ts';
import { jsonSafe } from '../runner/file-dead-letters.ts';
import { FencedError } from '../errors.ts';
import { KEYS, idOf, sequenceKey } from './keys.ts';
import { fencedReportTxn, fencedTxn, type Fence } from './fence.ts';
import { OPS_PER_TXN } from './etcd-client.ts';

/** Per-sync status documents and dead letters in etcd. */
export class StatusStore {
  private readonly ns: Namespace;
  /** Dead letters kept per sync; the oldest are dropped beyond this. @default 1000 */
  readonly maxDeadLetters: number;

  constructor(ns: Namespace, maxDeadLetters = 1000) {
    this.ns = ns;
    this.maxDeadLetters = maxDeadLetters;
  }

  /**
   * Writes a sync's status if `fence` is still the sync's lock and the sync exists. Resolves false when
   * not: another agent owns the sync now, and its status stands, or the sync was deleted.
   */
  async put(status: SyncStatus, fence: Fence): Promise<boolean> {
    const res = await fencedReportTxn(this.ns, status.syncId, fence)
      .then(this.ns.put(KEYS.status(status.syncId)).value(JSON.stringify(status)))
      .commit();
    return res.succeeded;
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

  /** A sink writing one key per rejected row, bounded to `maxDeadLetters` per sync, while `fenceOf()` is the sync's lock. */
  deadLetterSink(syncId: string, fenceOf: () => Fence | undefined): DeadLetterSink {
    return {
      record: async (entries) => {
        const fence = fenceOf();
        if (!fence) throw new FencedError(syncId, 'no lock held on this sync; dead letters not written');
        return this.recordDeadLetters(syncId, entries, fence);
      },
    };
  }

  /** Records dead letters (and drops the oldest beyond the bound) while `fence` is the sync's lock; throws FencedError otherwise. */
  async recordDeadLetters(syncId: string, entries: DeadLetter[], fence: Fence): Promise<void> {
    const prefix = KEYS.errors(syncId);
    const now = Date.now();
    const puts = entries.map((entry, i) => this.ns.put(prefix + sequenceKey(now, i)).value(JSON.stringify(entry, jsonSafe)));
    await this.fenced(syncId, fence, puts);
    const keys = await this.ns.getAll().prefix(prefix).sort('Key', 'Ascend').keys();
    const excess = keys.slice(0, Math.max(0, keys.length - this.maxDeadLetters));
    await this.fenced(
      syncId,
      fence,
      excess.map((key) => this.ns.delete().key(key)),
    );
  }

  /** Runs `ops` in fenced transactions of at most OPS_PER_TXN operations each. */
  private async fenced(syncId: string, fence: Fence, ops: IOperation[]): Promise<void> {
    for (let i = 0; i < ops.length; i += OPS_PER_TXN) {
      const res = await fencedTxn(this.ns, syncId, fence)
        .then(...ops.slice(i, i + OPS_PER_TXN))
        .commit();
      if (!res.succeeded) throw new FencedError(syncId, 'dead letters refused: the sync lock is no longer ours');
    }
  }

  /** Dead letters of a sync, oldest first, each with its id (for deleting it). */
  async listDeadLetters(syncId: string): Promise<Array<DeadLetter & { id: string }>> {
    const prefix = KEYS.errors(syncId);
    const all = await this.ns.getAll().prefix(prefix).sort('Key', 'Ascend').strings();
    return Object.entries(all).map(([key, text]) => ({ ...(JSON.parse(text) as DeadLetter), id: idOf(key, prefix) }));
  }

  /** Replaces the error of a dead letter (a retry refused the row again); false when it is gone. */
  async updateDeadLetterError(syncId: string, id: string, error: string): Promise<boolean> {
    const key = KEYS.errors(syncId) + id;
    const text = await this.ns.get(key).string();
    if (text === null) return false;
    const updated: DeadLetter = { ...(JSON.parse(text) as DeadLetter), error, at: new Date().toISOString() };
    const res = await this.ns
      .if(key, 'Mod', '>', 0)
      .then(this.ns.put(key).value(JSON.stringify(updated)))
      .commit();
    return res.succeeded;
  }

  /** Deletes some dead letters of a sync (all when `ids` is omitted); returns how many. */
  async deleteDeadLetters(syncId: string, ids?: string[]): Promise<number> {
    const prefix = KEYS.errors(syncId);
    if (!ids) return Number((await this.ns.delete().prefix(prefix).exec()).deleted);
    let n = 0;
    for (const id of ids)
      n += Number(
        (
          await this.ns
            .delete()
            .key(prefix + id)
            .exec()
        ).deleted,
      );
    return n;
  }
}
