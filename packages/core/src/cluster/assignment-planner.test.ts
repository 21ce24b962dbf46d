import { describe, expect, it } from 'vitest';
import { changedSyncs, planAssignments, planPlacement, type Assignment, type PlacementAgent, type PlacementSync } from './assignment-planner.ts';

/** A small seeded PRNG so failures reproduce. */
function rng(seed: number) {
  let s = seed >>> 0;
  return () => {
    s = (s * 1664525 + 1013904223) >>> 0;
    return s / 2 ** 32;
  };
}

function loads(a: Assignment, agents: string[]): number[] {
  return agents.map((id) => [...a.values()].filter((x) => x === id).length);
}

function balanced(a: Assignment, agents: string[], n: number): boolean {
  if (agents.length === 0) return a.size === 0;
  const lo = Math.floor(n / agents.length);
  return loads(a, agents).every((l) => l === lo || l === lo + 1) && a.size === n;
}

/**
 * The least number of syncs on live agents that any balanced assignment must move: each agent can
 * keep at most its capacity, and the ⌈n/a⌉ capacities are best given to the agents holding the most.
 */
function minimumMoves(agents: string[], syncs: string[], current: Map<string, string>): number {
  const base = Math.floor(syncs.length / agents.length);
  let extra = syncs.length % agents.length;
  const kept = agents.map((a) => syncs.filter((s) => current.get(s) === a).length).sort((x, y) => y - x);
  let stay = 0;
  for (const k of kept) {
    stay += Math.min(k, base + (extra > 0 ? 1 : 0));
    if (extra > 0) extra--;
  }
  return kept.reduce((x, y) => x + y, 0) - stay;
}

describe('AssignmentPlanner', () => {
  it('is balanced, sticky (fewest moves) and deterministic over many random cases', () => {
    const random = rng(42);
    for (let round = 0; round < 2000; round++) {
      const agents = Array.from({ length: 1 + Math.floor(random() * 7) }, (_, i) => `agent-${i + Math.floor(random() * 3)}`);
      const uniqueAgents = [...new Set(agents)].sort();
      const syncs = Array.from({ length: Math.floor(random() * 40) }, (_, i) => `sync-${i}`);
      const formerAgents = [...uniqueAgents, 'gone-1', 'gone-2'];
      const current = new Map<string, string>();
      for (const s of syncs) if (random() < 0.8) current.set(s, formerAgents[Math.floor(random() * formerAgents.length)]!);
      current.set('deleted-sync', uniqueAgents[0]!);

      const plan = planAssignments(agents, syncs, current);
      expect(balanced(plan, uniqueAgents, syncs.length)).toBe(true);
      expect([...plan.keys()].sort()).toEqual([...syncs].sort());
      const moved = syncs.filter((s) => uniqueAgents.includes(current.get(s) ?? '') && plan.get(s) !== current.get(s)).length;
      expect(moved).toBe(minimumMoves(uniqueAgents, syncs, current));
      // Same input in another order: same output.
      const again = planAssignments([...agents].reverse(), [...syncs].reverse(), new Map([...current].reverse()));
      expect(again).toEqual(plan);
      // Applying the plan again changes nothing.
      expect(changedSyncs(plan, planAssignments(agents, syncs, plan))).toEqual([]);
    }
  });

  it('gives a joining agent its share and moves only that many', () => {
    const syncs = Array.from({ length: 9 }, (_, i) => `s${i}`);
    const before = planAssignments(['a', 'b'], syncs, new Map());
    expect(loads(before, ['a', 'b'])).toEqual([5, 4]);
    const after = planAssignments(['a', 'b', 'c'], syncs, before);
    expect(loads(after, ['a', 'b', 'c'])).toEqual([3, 3, 3]);
    expect(changedSyncs(before, after)).toHaveLength(3);
  });

  it('moves only the syncs of an agent that left', () => {
    const syncs = Array.from({ length: 12 }, (_, i) => `s${i}`);
    const before = planAssignments(['a', 'b', 'c'], syncs, new Map());
    const after = planAssignments(['a', 'c'], syncs, before);
    const moved = changedSyncs(before, after);
    expect(moved.every((s) => before.get(s) === 'b')).toBe(true);
    expect(moved).toHaveLength(4);
    expect(loads(after, ['a', 'c'])).toEqual([6, 6]);
  });

  it('assigns nothing without agents', () => {
    expect(planAssignments([], ['s1'], new Map([['s1', 'a']])).size).toBe(0);
    expect(planPlacement([], [{ id: 's1' }], new Map()).unassigned.get('s1')).toBe('no agent is running');
  });
});

const REGIONS = ['eu', 'us', 'ap'];
const NETS = ['dc1', 'dc2'];

/** Random agents with labels (and sometimes a capacity) and syncs with placements (or none). */
function randomCluster(random: () => number, prefix = 'agent') {
  const pick = <T>(list: T[]) => list[Math.floor(random() * list.length)]!;
  const agents: PlacementAgent[] = Array.from({ length: 1 + Math.floor(random() * 8) }, (_, i) => ({
    id: `${prefix}-${i}`,
    labels: random() < 0.9 ? { region: pick(REGIONS), ...(random() < 0.5 ? { net: pick(NETS) } : {}) } : undefined,
    capacity: random() < 0.3 ? Math.floor(random() * 6) : undefined,
  }));
  const syncs: PlacementSync[] = Array.from({ length: Math.floor(random() * 60) }, (_, i) => {
    const roll = random();
    const placement: Record<string, string> | undefined =
      roll < 0.4 ? undefined : roll < 0.8 ? { region: pick(REGIONS) } : roll < 0.95 ? { region: pick(REGIONS), net: pick(NETS) } : { zone: 'mars' };
    return { id: `sync-${i}`, placement };
  });
  return { agents, syncs };
}

const matches = (agent: PlacementAgent, sync: PlacementSync) => Object.entries(sync.placement ?? {}).every(([k, v]) => agent.labels?.[k] === v);

/** What breaks the properties every plan has (empty: none); a list, so that a failure says what and where. */
function planProblems(agents: PlacementAgent[], syncs: PlacementSync[], plan: ReturnType<typeof planPlacement>): string[] {
  const problems: string[] = [];
  const byId = new Map(agents.map((a) => [a.id, a]));
  const load = new Map(agents.map((a) => [a.id, 0]));
  for (const agent of plan.assignment.values()) load.set(agent, load.get(agent)! + 1);
  const room = (a: PlacementAgent) => (a.capacity ?? Infinity) - load.get(a.id)!;
  for (const sync of syncs) {
    const agent = plan.assignment.get(sync.id);
    const eligible = agents.filter((a) => matches(a, sync));
    if (agent === undefined) {
      // Unassigned only when no matching agent has room, with the reason.
      if (eligible.some((a) => room(a) > 0)) problems.push(`${sync.id} unassigned while a matching agent has room`);
      const reason = plan.unassigned.get(sync.id) ?? '';
      if (!(eligible.length === 0 ? /^no agent (with|is running)/ : /at (its|their) capacity/).test(reason)) problems.push(`${sync.id}: reason '${reason}'`);
      continue;
    }
    if (plan.unassigned.has(sync.id)) problems.push(`${sync.id} both assigned and unassigned`);
    if (!matches(byId.get(agent)!, sync)) problems.push(`${sync.id} on non-matching ${agent}`);
    // Balanced within the matching set: no matching agent with room holds two syncs fewer.
    for (const other of eligible)
      if (room(other) > 0 && load.get(other.id)! < load.get(agent)! - 1) problems.push(`${sync.id} on ${agent} could move to ${other.id}`);
  }
  for (const a of agents) if (load.get(a.id)! > (a.capacity ?? Infinity)) problems.push(`${a.id} over capacity`);
  if (plan.assignment.size + plan.unassigned.size !== syncs.length) problems.push('syncs missing from the plan');
  return problems;
}

describe('AssignmentPlanner with labels and capacities', () => {
  it('runs syncs only on matching agents, within capacity, balanced among the matching ones, over many random cases', () => {
    const random = rng(20);
    for (let round = 0; round < 3000; round++) {
      const { agents, syncs } = randomCluster(random);
      const current = new Map<string, string>();
      for (const s of syncs) if (random() < 0.7) current.set(s.id, `agent-${Math.floor(random() * 10)}`);
      const plan = planPlacement(agents, syncs, current);
      expect(planProblems(agents, syncs, plan)).toEqual([]);
      // Deterministic whatever the order of the input; applying the plan again moves nothing.
      expect(planPlacement([...agents].reverse(), [...syncs].reverse(), new Map([...current].reverse()))).toEqual(plan);
      expect(changedSyncs(plan.assignment, planPlacement(agents, syncs, plan.assignment).assignment)).toEqual([]);
    }
  });

  it('moves as few syncs as a join or a leave needs', () => {
    const random = rng(7);
    for (let round = 0; round < 2000; round++) {
      const { agents, syncs } = randomCluster(random);
      const before = planPlacement(agents, syncs, new Map()).assignment;
      // A join: every sync that moves makes room for the newcomer (no more moves than it takes on).
      const newcomer: PlacementAgent = { id: 'newcomer', labels: { region: REGIONS[round % 3]!, net: NETS[round % 2]! } };
      const joined = planPlacement([...agents, newcomer], syncs, before);
      expect(planProblems([...agents, newcomer], syncs, joined)).toEqual([]);
      const movedOnJoin = changedSyncs(before, joined.assignment).filter((s) => before.has(s));
      expect(movedOnJoin.length).toBeLessThanOrEqual([...joined.assignment.values()].filter((a) => a === 'newcomer').length);
      // A leave: the syncs of other agents move no more than the leaver held.
      const leaver = agents[0]!.id;
      const left = planPlacement(agents.slice(1), syncs, before);
      expect(planProblems(agents.slice(1), syncs, left)).toEqual([]);
      const movedOnLeave = changedSyncs(before, left.assignment).filter((s) => before.has(s) && before.get(s) !== leaver && left.assignment.has(s));
      expect(movedOnLeave.length).toBeLessThanOrEqual([...before.values()].filter((a) => a === leaver).length);
    }
  });

  it('says why a sync runs nowhere', () => {
    const agents = [
      { id: 'a', labels: { region: 'eu' }, capacity: 1 },
      { id: 'b', labels: { region: 'us' } },
    ];
    const plan = planPlacement(
      agents,
      [
        { id: 's1', placement: { region: 'eu' } },
        { id: 's2', placement: { region: 'eu' } },
        { id: 's3', placement: { region: 'ap', net: 'dc1' } },
      ],
      new Map(),
    );
    expect(plan.assignment).toEqual(new Map([['s1', 'a']]));
    expect(plan.unassigned).toEqual(
      new Map([
        ['s2', 'the only one of the agents with region=eu is at its capacity (--max-syncs)'],
        ['s3', 'no agent with net=dc1, region=ap'],
      ]),
    );
  });

  it('plans 1,000 syncs on 10 labelled agents in 10 ms or less', () => {
    const agents = Array.from({ length: 10 }, (_, i) => ({ id: `agent-${i}`, labels: { region: REGIONS[i % 3]!, net: NETS[i % 2]! } }));
    const syncs = Array.from({ length: 1000 }, (_, i) => ({ id: `sync-${i}`, placement: i % 4 === 0 ? undefined : { region: REGIONS[i % 3]! } }));
    const first = planPlacement(agents, syncs, new Map()).assignment;
    const timings: number[] = [];
    for (let i = 0; i < 7; i++) {
      // From nothing, and a join onto a full plan (the case with the most moves).
      const t0 = performance.now();
      planPlacement(agents, syncs, new Map());
      const t1 = performance.now();
      planPlacement([...agents, { id: 'agent-new', labels: { region: 'eu', net: 'dc1' } }], syncs, first);
      timings.push(t1 - t0, performance.now() - t1);
    }
    // The median, so that another process taking the core for a moment does not fail the test.
    timings.sort((a, b) => a - b);
    expect(timings[Math.floor(timings.length / 2)]!).toBeLessThanOrEqual(10);
  });
});
