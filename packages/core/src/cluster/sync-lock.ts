import type { Namespace } from 'etcd3';
import { sleep } from '../runner/backoff.ts';
import type { Fence } from './fence.ts';
import { KEYS } from './keys.ts';

/** The per-sync lock: `locks/<syncId>` created on the owner's lease; its create revision is the fencing token. */
export class SyncLock {
  readonly syncId: string;
  readonly fence: Fence;
  private readonly ns: Namespace;

  private constructor(ns: Namespace, syncId: string, fence: Fence) {
    this.ns = ns;
    this.syncId = syncId;
    this.fence = fence;
  }

  /** Takes the lock once it is free; resolves undefined if `signal` aborts first. */
  static async acquire(
    ns: Namespace,
    syncId: string,
    owner: { agentId: string; leaseId: string },
    signal: AbortSignal,
    pollMs = 100,
  ): Promise<SyncLock | undefined> {
    const key = KEYS.lock(syncId);
    while (!signal.aborted) {
      // A transaction goes through Raft (and the members' logs) even when its comparison fails, a read does
      // not: an agent taking over 667 syncs asked for up to 6,670 transactions a second until the old locks expired.
      if (await ns.get(key).exists()) {
        await sleep(pollMs, signal);
        continue;
      }
      const res = await ns
        .if(key, 'Create', '==', 0)
        .then(
          ns
            .put(key)
            .value(JSON.stringify({ agentId: owner.agentId, at: new Date().toISOString() }))
            .lease(owner.leaseId),
        )
        .commit();
      if (res.succeeded) return new SyncLock(ns, syncId, { createRevision: String(res.header.revision), leaseId: owner.leaseId });
      await sleep(pollMs, signal);
    }
    return undefined;
  }

  /** Deletes the lock if it is still this one. */
  async release(): Promise<void> {
    const key = KEYS.lock(this.syncId);
    await this.ns.if(key, 'Create', '==', this.fence.createRevision).then(this.ns.delete().key(key)).commit();
  }

  /** The agent holding a sync's lock, if any. */
  static async owner(ns: Namespace, syncId: string): Promise<string | undefined> {
    const text = await ns.get(KEYS.lock(syncId)).string();
    return text === null ? undefined : (JSON.parse(text) as { agentId: string }).agentId;
  }
}
