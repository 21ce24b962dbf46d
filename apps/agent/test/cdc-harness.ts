import { expect } from 'vitest';
import { until } from '@idra/testkit';
import { readAssignments, type EtcdConnection } from '@idra/core';
import { AgentProcess } from './cluster-harness.ts';

// What the cdc end-to-end tests share: rows compared by content, the agents owning the syncs, and the
// wait for each destination to equal the source.

/** A table's rows as `key → json of the other columns`, values as text (bytes as UTF-8), missing columns as null. */
export type Rows = Map<string, string>;

/** Rows keyed by `id`, with `columns` (after the key) compared as text. */
export function keyed(rows: Array<Record<string, unknown>>, columns: string[]): Rows {
  const text = (v: unknown) => (v === null || v === undefined ? null : v instanceof Buffer ? v.toString() : String(v));
  return new Map(rows.map((r) => [String(r.id), JSON.stringify(columns.map((c) => text(r[c])))]));
}

/** Rows of `want` that `got` lacks, rows `got` has beyond them, and rows whose content differs. */
export function differences(want: Rows, got: Rows): { missing: number; extra: number; stale: number } {
  let missing = 0;
  let stale = 0;
  for (const [k, v] of want) {
    if (!got.has(k)) missing++;
    else if (got.get(k) !== v) stale++;
  }
  const extra = [...got.keys()].filter((k) => !want.has(k)).length;
  return { missing, extra, stale };
}

/** The agent each sync is assigned to, and the failovers of the cdc tests (a wait for the assignments says why one did not happen). */
export function ownership(ns: EtcdConnection['ns'], agents: AgentProcess[]) {
  const owners = async () => {
    const { assignments } = await readAssignments(ns);
    return new Map([...assignments].map(([syncId, a]) => [syncId, a.agentId]));
  };
  const untilOwners = (what: string, done: (owners: string[]) => boolean) =>
    until(what, async () => done([...(await owners()).values()]), 60_000).catch(async (err: Error) => {
      const events = agents.flatMap((a) => a.clusterEvents()).sort();
      throw new Error(`${err.message}; assignments ${JSON.stringify([...(await owners())])}; agents' log:\n${events.join('\n')}`, { cause: err });
    });
  /**
   * Agents cdc-a and cdc-b run the syncs. kill -9 the one holding most: the other takes them over
   * from their stored positions. Then a third agent (cdc-c) joins, and the survivor is frozen past
   * its lease: its syncs move to cdc-c; once thawed it writes nothing for them. Returns the killed one.
   */
  const killAndFreeze = async (endpoints: string[], prefix: string): Promise<AgentProcess> => {
    const byOwner = [...(await owners()).values()];
    const victim = agents.find((a) => a.id === (byOwner.filter((x) => x === 'cdc-a').length >= byOwner.length / 2 ? 'cdc-a' : 'cdc-b'))!;
    const survivor = agents.find((a) => a !== victim)!;
    victim.signal('SIGKILL');
    await victim.exited;
    await untilOwners('every sync on the survivor', (o) => o.every((a) => a === survivor.id));
    agents.push(new AgentProcess('cdc-c', endpoints, prefix));
    await untilOwners('the new agent to take a share', (o) => o.includes('cdc-c'));
    survivor.signal('SIGSTOP');
    await untilOwners('every sync on the new agent', (o) => o.every((a) => a === 'cdc-c'));
    survivor.signal('SIGCONT');
    return victim;
  };
  return { owners, killAndFreeze };
}

/** Waits (with a deadline) for each destination to equal `want`, then asserts it: 0 missing, 0 extra, 0 stale. */
export async function expectEqualToSource<K extends string>(want: Rows, kinds: readonly K[], rowsOf: (kind: K) => Promise<Rows>): Promise<void> {
  for (const kind of kinds) {
    // The last difference is what the assertion shows.
    await until(
      `${kind} to equal the source`,
      async () => {
        const diff = differences(want, await rowsOf(kind).catch(() => new Map()));
        return diff.missing + diff.extra + diff.stale === 0;
      },
      120_000,
    ).catch(() => undefined);
    expect({ kind, ...differences(want, await rowsOf(kind)) }).toEqual({ kind, missing: 0, extra: 0, stale: 0 });
  }
}
