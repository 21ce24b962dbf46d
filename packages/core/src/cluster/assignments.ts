import type { Namespace } from 'etcd3';
import { KEYS, idOf } from './keys.ts';

/** `assignments/<syncId>`: which agent runs a sync; `epoch` grows each time the sync changes hands. */
export interface AssignmentRecord {
  agentId: string;
  epoch: number;
}

/** Reads every assignment, with the etcd revision it was read at. */
export async function readAssignments(ns: Namespace): Promise<{ assignments: Map<string, AssignmentRecord>; revision: string }> {
  const res = await ns.getAll().prefix(KEYS.assignments).exec();
  const assignments = new Map<string, AssignmentRecord>();
  for (const kv of res.kvs) assignments.set(idOf(kv.key.toString(), KEYS.assignments), JSON.parse(kv.value.toString()) as AssignmentRecord);
  return { assignments, revision: res.header.revision };
}

/** Live agents (their keys exist only while their leases do). */
export async function readAgentIds(ns: Namespace): Promise<string[]> {
  const keys = await ns.getAll().prefix(KEYS.agents).keys();
  return keys.map((k) => idOf(k, KEYS.agents)).sort();
}
