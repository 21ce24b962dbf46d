/** syncId → agentId */
export type Assignment = Map<string, string>;

/** A live agent as the planner sees it: its labels and how many syncs it takes at most. */
export interface PlacementAgent {
  id: string;
  labels?: Readonly<Record<string, string>> | undefined;
  /** `--max-syncs`; unset: no limit. */
  capacity?: number | undefined;
}

/** An enabled sync as the planner sees it: the labels an agent must have to run it. */
export interface PlacementSync {
  id: string;
  placement?: Readonly<Record<string, string>> | undefined;
}

/** Where every sync goes, and why the others go nowhere. */
export interface Plan {
  assignment: Assignment;
  /** syncId → why no agent runs it, e.g. "no agent with region=eu". */
  unassigned: Map<string, string>;
}

/** `region=eu, net=dc1`: a placement as users write it on the agent's command line. */
export function placementText(placement: Readonly<Record<string, string>> | undefined): string {
  return Object.entries(placement ?? {})
    .sort(([a], [b]) => a.localeCompare(b))
    .map(([k, v]) => `${k}=${v}`)
    .join(', ');
}

function matches(agent: PlacementAgent, placement: Readonly<Record<string, string>> | undefined): boolean {
  for (const [name, value] of Object.entries(placement ?? {})) if (agent.labels?.[name] !== value) return false;
  return true;
}

/** Syncs of one agent with the same placement: they can go to the same agents. */
interface Group {
  key: string;
  eligible: string[];
  syncs: string[];
}

/**
 * Computes where each enabled sync runs: only on an agent whose labels match its placement, within
 * the agent's capacity, balanced and sticky among the agents each sync may use.
 *
 * Balanced: no sync could move to another agent it matches that has room and holds at least two
 * syncs fewer than its own (without labels and capacities: every agent gets ⌊n/a⌋ or ⌈n/a⌉).
 * Sticky: a sync stays where it runs unless that agent is gone, no longer matches, is over its
 * capacity or the balance needs the move; moves go from the most to the least loaded agents, so that
 * (without labels) their number is the least any balanced assignment needs. Deterministic: the same
 * input gives the same output whatever the order of the arguments.
 */
export function planPlacement(agents: Iterable<PlacementAgent>, syncs: Iterable<PlacementSync>, current: ReadonlyMap<string, string>): Plan {
  const agentById = new Map<string, PlacementAgent>();
  for (const a of agents) agentById.set(a.id, a);
  const agentIds = [...agentById.keys()].sort();
  const syncById = new Map<string, PlacementSync>();
  for (const s of syncs) syncById.set(s.id, s);
  const syncIds = [...syncById.keys()].sort();
  const assignment: Assignment = new Map();
  const unassigned = new Map<string, string>();

  // Syncs with the same placement share their eligible agents: computed once per placement.
  const eligibleByKey = new Map<string, string[]>();
  const keyOf = new Map<string, string>();
  for (const id of syncIds) {
    const placement = syncById.get(id)!.placement;
    const key = placementText(placement);
    keyOf.set(id, key);
    if (!eligibleByKey.has(key))
      eligibleByKey.set(
        key,
        agentIds.filter((a) => matches(agentById.get(a)!, placement)),
      );
  }
  const load = new Map<string, number>(agentIds.map((a) => [a, 0]));
  const capacity = (a: string) => agentById.get(a)!.capacity ?? Infinity;
  const room = (a: string) => capacity(a) - load.get(a)!;
  const place = (sync: string, agent: string) => {
    const before = assignment.get(sync);
    if (before !== undefined) load.set(before, load.get(before)! - 1);
    assignment.set(sync, agent);
    load.set(agent, load.get(agent)! + 1);
  };

  // 1. Sticky: a sync stays on its live, matching agent, as far as the agent's capacity goes.
  const homeless: string[] = [];
  for (const id of syncIds) {
    const owner = current.get(id);
    if (owner !== undefined && eligibleByKey.get(keyOf.get(id)!)!.includes(owner) && room(owner) > 0) place(id, owner);
    else homeless.push(id);
  }

  // 2. The others, the most constrained first, each on its least loaded matching agent with room;
  // when every one is full, syncs there shift to other agents they match to make room, if they can.
  homeless.sort((x, y) => eligibleByKey.get(keyOf.get(x)!)!.length - eligibleByKey.get(keyOf.get(y)!)!.length || x.localeCompare(y));
  for (const id of homeless) {
    const key = keyOf.get(id)!;
    const eligible = eligibleByKey.get(key)!;
    const best = leastLoaded(eligible, load, room) ?? makeRoom(eligible, assignment, keyOf, eligibleByKey, room, place);
    if (best !== undefined) place(id, best);
    else unassigned.set(id, whyUnassigned(key, eligible, agentIds.length));
  }

  // 3. Balance: move a sync from the most loaded agent to the least loaded one it matches while the
  // two differ by two or more. Each move lowers the sum of squared loads, so this ends.
  const groups = new Map<string, Map<string, Group>>(agentIds.map((a) => [a, new Map()]));
  for (const [sync, agent] of assignment) {
    const key = keyOf.get(sync)!;
    const mine = groups.get(agent)!;
    if (!mine.has(key)) mine.set(key, { key, eligible: eligibleByKey.get(key)!, syncs: [] });
    mine.get(key)!.syncs.push(sync);
  }
  for (const mine of groups.values()) for (const g of mine.values()) g.syncs.sort();
  for (;;) {
    let move: { from: string; to: string; group: Group } | undefined;
    let gain = 1;
    for (const from of agentIds) {
      const fromLoad = load.get(from)!;
      if (fromLoad <= gain) continue;
      for (const group of groups.get(from)!.values()) {
        if (group.syncs.length === 0) continue;
        const to = leastLoaded(group.eligible, load, room);
        if (to === undefined || fromLoad - load.get(to)! <= gain) continue;
        gain = fromLoad - load.get(to)!;
        move = { from, to, group };
      }
    }
    if (!move) break;
    const sync = move.group.syncs.pop()!;
    place(sync, move.to);
    const theirs = groups.get(move.to)!;
    if (!theirs.has(move.group.key)) theirs.set(move.group.key, { key: move.group.key, eligible: move.group.eligible, syncs: [] });
    const target = theirs.get(move.group.key)!.syncs;
    target.splice(sortedIndex(target, sync), 0, sync);
  }
  return { assignment, unassigned };
}

/**
 * Frees a place on one of `eligible` (all full) by moving syncs along a chain of full agents to one
 * with room (an augmenting path, breadth first: the shortest chain); returns the agent freed.
 */
function makeRoom(
  eligible: readonly string[],
  assignment: Assignment,
  keyOf: ReadonlyMap<string, string>,
  eligibleByKey: ReadonlyMap<string, string[]>,
  room: (agent: string) => number,
  place: (sync: string, agent: string) => void,
): string | undefined {
  const via = new Map<string, { sync: string; from: string } | undefined>(eligible.map((a) => [a, undefined]));
  const queue = [...eligible];
  const syncsOf = new Map<string, string[]>();
  for (const [sync, agent] of assignment) syncsOf.set(agent, [...(syncsOf.get(agent) ?? []), sync]);
  for (let i = 0; i < queue.length; i++) {
    const full = queue[i]!;
    for (const sync of (syncsOf.get(full) ?? []).sort()) {
      for (const next of eligibleByKey.get(keyOf.get(sync)!)!) {
        if (via.has(next)) continue;
        via.set(next, { sync, from: full });
        if (room(next) <= 0) {
          queue.push(next);
          continue;
        }
        // Walk the chain back: each sync moves one step towards the agent with room.
        let to = next;
        for (let step = via.get(to); step !== undefined; step = via.get(step.from)) {
          place(step.sync, to);
          to = step.from;
        }
        return to;
      }
    }
  }
  return undefined;
}

/** The matching agent with room and the fewest syncs (the first by id among equals). */
function leastLoaded(eligible: readonly string[], load: ReadonlyMap<string, number>, room: (agent: string) => number): string | undefined {
  let best: string | undefined;
  for (const agent of eligible) if (room(agent) > 0 && (best === undefined || load.get(agent)! < load.get(best)!)) best = agent;
  return best;
}

function whyUnassigned(placement: string, eligible: readonly string[], agents: number): string {
  if (agents === 0) return 'no agent is running';
  if (eligible.length === 0) return `no agent with ${placement}`;
  const which = placement ? `agents with ${placement}` : 'agents';
  return eligible.length === 1
    ? `the only one of the ${which} is at its capacity (--max-syncs)`
    : `all ${eligible.length} ${which} are at their capacity (--max-syncs)`;
}

function sortedIndex(list: readonly string[], item: string): number {
  let lo = 0;
  let hi = list.length;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (list[mid]! < item) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/** A balanced, sticky assignment of syncs to agents with no labels and no capacity (see `planPlacement`). */
export function planAssignments(agents: Iterable<string>, syncs: Iterable<string>, current: ReadonlyMap<string, string>): Assignment {
  return planPlacement(
    [...agents].map((id) => ({ id })),
    [...syncs].map((id) => ({ id })),
    current,
  ).assignment;
}

/** Syncs whose agent differs between two assignments (new, moved or removed). */
export function changedSyncs(before: ReadonlyMap<string, string>, after: ReadonlyMap<string, string>): string[] {
  const ids = new Set([...before.keys(), ...after.keys()]);
  return [...ids].filter((id) => before.get(id) !== after.get(id)).sort();
}
