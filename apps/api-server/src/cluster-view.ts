import type { Namespace } from 'etcd3';
import { KEYS, hasSlotLimits, idOf, readAssignments, readLeaderAgentId, readSlots, type DataSource } from '@idra/core';
import type { AgentInfo, AgentView, AssignmentView, DataSourceSlotsView } from '@idra/api-client';

export async function listAssignments(ns: Namespace): Promise<AssignmentView[]> {
  const { assignments } = await readAssignments(ns);
  return [...assignments].map(([syncId, a]) => ({ syncId, agentId: a.agentId, epoch: a.epoch })).sort((a, b) => a.syncId.localeCompare(b.syncId));
}

export async function listAgents(ns: Namespace): Promise<AgentView[]> {
  const [all, leader, assignments] = await Promise.all([ns.getAll().prefix(KEYS.agents).strings(), readLeaderAgentId(ns), listAssignments(ns)]);
  return Object.entries(all)
    .map(([key, text]) => {
      const info = JSON.parse(text) as AgentInfo & { leaseId?: string };
      const agentId = info.agentId ?? idOf(key, KEYS.agents);
      return { ...info, agentId, leader: agentId === leader, syncs: assignments.filter((a) => a.agentId === agentId).map((a) => a.syncId) };
    })
    .sort((a, b) => a.agentId.localeCompare(b.agentId));
}

/** syncId → agent holding its lock. */
export async function lockOwners(ns: Namespace): Promise<Map<string, string>> {
  const all = await ns.getAll().prefix(KEYS.locks).strings();
  return new Map(Object.entries(all).map(([key, text]) => [idOf(key, KEYS.locks), (JSON.parse(text) as { agentId: string }).agentId]));
}

/** syncId → number of dead letters (keys only are read). */
export async function deadLetterCounts(ns: Namespace): Promise<Map<string, number>> {
  const keys = await ns.getAll().prefix(KEYS.allErrors).keys();
  const counts = new Map<string, number>();
  for (const key of keys) {
    const syncId = idOf(key, KEYS.allErrors).split('/')[0]!;
    counts.set(syncId, (counts.get(syncId) ?? 0) + 1);
  }
  return counts;
}

/** Every data source with a concurrency limit or slots in use: its limits, holders and waiters (in queue order). */
export async function listSlots(ns: Namespace, dataSources: readonly DataSource[]): Promise<DataSourceSlotsView[]> {
  const slots = await readSlots(ns);
  const byId = new Map(dataSources.map((ds) => [ds.id, ds]));
  const ids = [...new Set([...dataSources.filter(hasSlotLimits).map((ds) => ds.id), ...slots.keys()])].sort();
  return ids.map((dataSourceId) => {
    const ds = byId.get(dataSourceId);
    const entries = (slots.get(dataSourceId) ?? []).map(({ syncId, agentId, roles, held, since, grantedAt }) => ({
      held,
      view: { syncId, agentId, roles, since, grantedAt },
    }));
    return {
      dataSourceId,
      maxConcurrentSyncs: ds?.maxConcurrentSyncs ?? null,
      maxReaders: ds?.maxReaders ?? null,
      maxWriters: ds?.maxWriters ?? null,
      holdSlotWhileIdle: ds?.holdSlotWhileIdle === true,
      held: entries.filter((e) => e.held).map((e) => e.view),
      waiting: entries.filter((e) => !e.held).map((e) => e.view),
    };
  });
}
