import type { Namespace } from 'etcd3';
import type { AgentInfo } from './agent-session.ts';
import type { PlacementAgent } from './assignment-planner.ts';
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

/** `unassigned/<syncId>`: why the leader gave an enabled sync to no agent, and since when. */
export interface UnassignedRecord {
  reason: string;
  since: string;
}

/** Live agents (their keys exist only while their leases do), with their labels and capacity, and whether each said it is stopping (SIGTERM). */
export async function readAgents(ns: Namespace): Promise<Array<PlacementAgent & { stopping: boolean }>> {
  const all = await ns.getAll().prefix(KEYS.agents).strings();
  return Object.entries(all)
    .map(([key, text]) => {
      const info = JSON.parse(text) as Partial<AgentInfo> & { stopping?: boolean };
      return { id: idOf(key, KEYS.agents), labels: info.labels, capacity: info.capacity, stopping: info.stopping === true };
    })
    .sort((a, b) => a.id.localeCompare(b.id));
}

/** Ids of the live agents. */
export async function readAgentIds(ns: Namespace): Promise<string[]> {
  return (await readAgents(ns)).map((a) => a.id);
}

/** syncId → why no agent runs it (as the leader last wrote it). */
export async function readUnassigned(ns: Namespace): Promise<Map<string, UnassignedRecord>> {
  const all = await ns.getAll().prefix(KEYS.allUnassigned).strings();
  return new Map(Object.entries(all).map(([key, text]) => [idOf(key, KEYS.allUnassigned), JSON.parse(text) as UnassignedRecord]));
}
