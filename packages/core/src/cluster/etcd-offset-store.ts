import type { Namespace } from 'etcd3';
import { FencedError, OffsetStoreError } from '../errors.ts';
import type { Position } from '../model/position.ts';
import {
  manualCommitContext,
  offsetChange,
  parseOffsetDocument,
  toOffsetDocument,
  type CommitContext,
  type ManualChange,
  type OffsetChange,
  type OffsetDocument,
  type OffsetStore,
} from '../offset/offset.ts';
import { KEYS, sequenceKey } from './keys.ts';
import { fencedTxn, type Fence } from './fence.ts';

/** Cluster offsets in etcd. Commits are fenced: they succeed only while the committer holds the sync's lock. */
export class EtcdOffsetStore implements OffsetStore {
  private readonly ns: Namespace;
  private readonly fenceOf: (syncId: string) => Fence | undefined;
  private readonly revisions = new Map<string, string>();

  /** `fenceOf` returns this agent's current lock on a sync (undefined: not held, so commits are refused). */
  constructor(ns: Namespace, fenceOf: (syncId: string) => Fence | undefined = () => undefined) {
    this.ns = ns;
    this.fenceOf = fenceOf;
  }

  /** etcd revision of this store's last successful commit for a sync (orders commits without clocks). */
  lastCommitRevision(syncId: string): string | undefined {
    return this.revisions.get(syncId);
  }

  async load(syncId: string): Promise<OffsetDocument | undefined> {
    const text = await this.ns.get(KEYS.offset(syncId)).string();
    return text === null ? undefined : parseOffsetDocument(text, `etcd ${KEYS.offset(syncId)}`);
  }

  async commit(syncId: string, position: Position, ctx: CommitContext): Promise<OffsetDocument> {
    const fence = this.fenceOf(syncId);
    if (!fence) throw new FencedError(syncId, 'no lock held on this sync');
    const doc = toOffsetDocument(position, ctx);
    const res = await fencedTxn(this.ns, syncId, fence)
      .then(this.ns.put(KEYS.offset(syncId)).value(JSON.stringify(doc)))
      .commit();
    if (!res.succeeded) throw new FencedError(syncId, 'offset commit refused: the sync lock is no longer ours');
    this.revisions.set(syncId, res.header.revision);
    return doc;
  }

  /** Manual change: allowed only while no agent holds the sync's lock (the sync is paused or unassigned). */
  async set(syncId: string, position: Position | null, change: ManualChange): Promise<void> {
    const current = await this.load(syncId);
    const entry = offsetChange(current, position, change);
    const write = position
      ? this.ns.put(KEYS.offset(syncId)).value(JSON.stringify(toOffsetDocument(position, manualCommitContext(current, change))))
      : this.ns.delete().key(KEYS.offset(syncId));
    const res = await this.ns
      .if(KEYS.lock(syncId), 'Create', '==', 0)
      .then(write, this.ns.put(KEYS.offsetHistory(syncId) + sequenceKey()).value(JSON.stringify(entry)))
      .commit();
    if (!res.succeeded) {
      const owner = await this.ns.get(KEYS.lock(syncId)).string();
      throw new OffsetStoreError(`sync ${syncId} is running${owner ? ` on ${JSON.parse(owner).agentId}` : ''}: pause it before changing its offset`);
    }
  }

  async history(syncId: string): Promise<OffsetChange[]> {
    const all = await this.ns.getAll().prefix(KEYS.offsetHistory(syncId)).sort('Key', 'Ascend').strings();
    return Object.values(all).map((text) => JSON.parse(text) as OffsetChange);
  }
}
