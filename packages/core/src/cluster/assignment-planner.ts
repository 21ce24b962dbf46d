/** syncId → agentId */
export type Assignment = Map<string, string>;

/**
 * Computes a balanced, sticky assignment of enabled syncs to live agents.
 *
 * Balanced: every agent gets ⌊n/a⌋ or ⌈n/a⌉ syncs. Sticky: a sync stays on its agent whenever the
 * balance allows, so the number of moves is the least any balanced assignment needs. Deterministic:
 * the same input gives the same output whatever the order of the arguments.
 */
export function planAssignments(agents: Iterable<string>, syncs: Iterable<string>, current: ReadonlyMap<string, string>): Assignment {
  const agentList = [...new Set(agents)].sort();
  const syncList = [...new Set(syncs)].sort();
  const result: Assignment = new Map();
  if (agentList.length === 0) return result;

  const alive = new Set(agentList);
  const kept = new Map<string, string[]>(agentList.map((a) => [a, []]));
  const unplaced: string[] = [];
  for (const sync of syncList) {
    const owner = current.get(sync);
    if (owner !== undefined && alive.has(owner)) kept.get(owner)!.push(sync);
    else unplaced.push(sync);
  }

  // ⌈n/a⌉ goes to the agents that already hold the most, so that the fewest syncs move.
  const base = Math.floor(syncList.length / agentList.length);
  let extra = syncList.length % agentList.length;
  const byLoad = [...agentList].sort((x, y) => kept.get(y)!.length - kept.get(x)!.length || x.localeCompare(y));
  const capacity = new Map<string, number>();
  for (const agent of byLoad) {
    const cap = base + (extra > 0 && kept.get(agent)!.length > base ? 1 : 0);
    if (cap > base) extra--;
    capacity.set(agent, cap);
  }
  // Extra slots not claimed by loaded agents go to the others, in id order.
  for (const agent of agentList) {
    if (extra === 0) break;
    if (capacity.get(agent) === base) {
      capacity.set(agent, base + 1);
      extra--;
    }
  }

  const load = new Map<string, number>();
  for (const agent of agentList) {
    const mine = kept.get(agent)!;
    const cap = capacity.get(agent)!;
    for (const sync of mine.slice(0, cap)) result.set(sync, agent);
    load.set(agent, Math.min(mine.length, cap));
    unplaced.push(...mine.slice(cap));
  }

  unplaced.sort();
  for (const sync of unplaced) {
    let best = agentList[0]!;
    let bestRoom = -1;
    for (const agent of agentList) {
      const room = capacity.get(agent)! - load.get(agent)!;
      if (room > bestRoom) {
        best = agent;
        bestRoom = room;
      }
    }
    result.set(sync, best);
    load.set(best, load.get(best)! + 1);
  }
  return result;
}

/** Syncs whose agent differs between two assignments (new, moved or removed). */
export function changedSyncs(before: ReadonlyMap<string, string>, after: ReadonlyMap<string, string>): string[] {
  const ids = new Set([...before.keys(), ...after.keys()]);
  return [...ids].filter((id) => before.get(id) !== after.get(id)).sort();
}
