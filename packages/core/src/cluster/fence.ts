import type { Namespace } from 'etcd3';
import { KEYS } from './keys.ts';

/** Proof of ownership of a sync: its lock key was created at `createRevision` on lease `leaseId`. */
export interface Fence {
  createRevision: string;
  leaseId: string;
}

/**
 * An etcd transaction that commits its operations only while `fence` is still the sync's lock: the
 * same key creation, on the same lease. Every write an agent makes for a sync goes through one, so an
 * agent that lost the sync (its lease expired while it was frozen or cut off) can never overwrite what
 * the new owner wrote.
 */
export function fencedTxn(ns: Namespace, syncId: string, fence: Fence) {
  const lock = KEYS.lock(syncId);
  return ns.if(lock, 'Create', '==', fence.createRevision).and(lock, 'Lease', '==', fence.leaseId);
}

/**
 * {@link fencedTxn} for what an agent reports about a sync (status, activity, timeline): it also needs
 * the sync to exist. The API deletes these with the sync, and the owner's last report as it stops (its
 * lock outlives the deletion by a batch) would otherwise bring back a status of a sync that is gone.
 */
export function fencedReportTxn(ns: Namespace, syncId: string, fence: Fence) {
  return fencedTxn(ns, syncId, fence).and(KEYS.sync(syncId), 'Version', '>', 0);
}
