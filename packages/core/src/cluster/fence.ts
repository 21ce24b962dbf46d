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
