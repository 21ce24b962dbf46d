import { describe, expect, it } from 'vitest';
import { changedSyncs, planAssignments, type Assignment } from './assignment-planner.ts';

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
  });
});
