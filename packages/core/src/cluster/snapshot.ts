import type { Namespace } from 'etcd3';
import { deriveHealth, type SyncHealth } from '../health/health.ts';
import type { SyncConfig } from '../model/schema.ts';
import type { SyncStatus } from '../runner/status.ts';
import { readAgentIds, readAssignments, readUnassigned, type AssignmentRecord, type UnassignedRecord } from './assignments.ts';
import { ConfigStore } from './config-store.ts';
import { KEYS } from './keys.ts';
import { StatusStore } from './status-store.ts';

/** The agent id of the elected leader: the campaign key created first under `election/leader/`. */
export async function readLeaderAgentId(ns: Namespace): Promise<string | undefined> {
  const res = await ns.getAll().prefix(`election/${KEYS.election}/`).sort('Create', 'Ascend').limit(1).exec();
  return res.kvs[0]?.value.toString();
}

/** What the cluster looks like now: who runs, who leads, every sync with its status and assignment. */
export interface ClusterSnapshot {
  agents: string[];
  leader: string | undefined;
  syncs: SyncConfig[];
  statuses: Map<string, SyncStatus>;
  assignments: Map<string, AssignmentRecord>;
  /** Why the leader gives some enabled syncs to no agent. */
  unassigned: Map<string, UnassignedRecord>;
}

export async function readClusterSnapshot(ns: Namespace): Promise<ClusterSnapshot> {
  const [agents, leader, { syncs }, statuses, { assignments }, unassigned] = await Promise.all([
    readAgentIds(ns),
    readLeaderAgentId(ns),
    new ConfigStore(ns).listSyncs(),
    new StatusStore(ns).list(),
    readAssignments(ns),
    readUnassigned(ns),
  ]);
  return { agents, leader, syncs, statuses: new Map(statuses.map((s) => [s.syncId, s])), assignments, unassigned };
}

/** The health of one sync of a snapshot (core's one derivation). */
export function snapshotHealth(snapshot: ClusterSnapshot, sync: SyncConfig): SyncHealth {
  return deriveHealth({
    enabled: sync.enabled !== false,
    status: snapshot.statuses.get(sync.id),
    assigned: snapshot.assignments.has(sync.id),
    unassignedReason: snapshot.unassigned.get(sync.id)?.reason,
    lagThreshold: sync.lagThreshold,
  });
}
