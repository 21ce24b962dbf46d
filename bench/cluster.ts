import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { createDatabase, startEtcd, until } from '@idra/testkit';
import { KEYS, connectEtcd, planAssignments, readAssignments } from '@idra/core';
import { AgentProcess } from '../apps/agent/test/cluster-harness.ts';

/** Percentile of sorted numbers (nearest rank). */
function percentile(sorted: number[], p: number): number {
  if (sorted.length === 0) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))]!;
}

/** Planner time for `syncs` × `agents`: a cold plan, and a re-plan after one agent left. */
export function benchPlanner(syncs = 1000, agents = 10, repeats = 50): { coldMs: number; replanMs: number; moved: number } {
  const syncIds = Array.from({ length: syncs }, (_, i) => `sync-${i}`);
  const agentIds = Array.from({ length: agents }, (_, i) => `agent-${i}`);
  const time = (f: () => unknown) => {
    const samples: number[] = [];
    for (let i = 0; i < repeats; i++) {
      const t = performance.now();
      f();
      samples.push(performance.now() - t);
    }
    return percentile(
      samples.sort((a, b) => a - b),
      50,
    );
  };
  const first = planAssignments(agentIds, syncIds, new Map());
  const coldMs = time(() => planAssignments(agentIds, syncIds, new Map()));
  const replanMs = time(() => planAssignments(agentIds.slice(1), syncIds, first));
  const after = planAssignments(agentIds.slice(1), syncIds, first);
  const moved = syncIds.filter((s) => first.get(s) !== after.get(s)).length;
  return { coldMs, replanMs, moved };
}

/**
 * Failover time with default settings: `kill -9` of an agent that owns syncs → the first batch of
 * one of those syncs committed by another agent. Rows keep arriving in the sources meanwhile.
 */
export async function benchFailover(pgUrl: string, repeats = 10): Promise<{ samplesMs: number[]; p50: number; p99: number }> {
  const syncs = 6;
  const source = await createDatabase('postgres', pgUrl);
  const dest = await createDatabase('postgres', pgUrl);
  const etcd = await startEtcd({ members: 3 });
  const src = new pg.Client(source.url);
  await src.connect();
  await src.query('create table events (id bigserial primary key, part int not null, body text not null)');
  const prefix = `/bench-${randomBytes(3).toString('hex')}/`;
  const conn = connectEtcd({ endpoints: etcd.endpoints, prefix });
  for (let p = 0; p < syncs; p++) {
    await conn.ns.put(KEYS.sync(`f${p}`)).value(
      JSON.stringify({
        id: `f${p}`,
        source: { connector: 'postgres', connection: { url: source.url }, query: `select id, body from events where part = ${p}` },
        destination: { connector: 'postgres', connection: { url: dest.url }, table: `f${p}` },
        mode: 'id',
        cursorColumn: 'id',
        keyColumns: ['id'],
        writeMode: 'upsert',
        batchSize: 100,
        pollIntervalMs: 100,
      }),
    );
  }
  // A steady trickle of new rows into every part, so each sync always has a next batch to commit.
  let writing = true;
  const writer = (async () => {
    while (writing) {
      await src.query(`insert into events (part, body) select g % ${syncs}, md5(random()::text) from generate_series(1, 60) g`);
      await new Promise((r) => setTimeout(r, 50));
    }
  })();

  let n = 0;
  const agents = new Map<string, AgentProcess>();
  const spawnAgent = () => {
    const id = `b${n++}`;
    agents.set(id, new AgentProcess(id, etcd.endpoints, prefix));
  };
  const samplesMs: number[] = [];
  try {
    for (let i = 0; i < 3; i++) spawnAgent();
    for (let r = 0; r < repeats; r++) {
      // Wait for a settled, balanced cluster in which every sync is committing.
      await until(
        'balanced',
        async () => {
          const { assignments } = await readAssignments(conn.ns);
          const loads = new Map<string, number>();
          for (const a of assignments.values()) loads.set(a.agentId, (loads.get(a.agentId) ?? 0) + 1);
          return (
            assignments.size === syncs &&
            [...loads.keys()].every((id) => agents.has(id)) &&
            loads.size === agents.size &&
            [...loads.values()].every((l) => l === 2)
          );
        },
        60_000,
      );
      await new Promise((r) => setTimeout(r, 1000));
      const { assignments } = await readAssignments(conn.ns);
      const victimId = [...assignments.values()][r % syncs]!.agentId;
      const victimSyncs = new Set([...assignments].filter(([, a]) => a.agentId === victimId).map(([id]) => id));
      const victim = agents.get(victimId)!;
      const killedAt = Date.now();
      victim.signal('SIGKILL');
      await victim.exited;
      agents.delete(victimId);
      const firstCommit = await until(
        'victim sync committed elsewhere',
        () => {
          const commits = [...agents.values()].flatMap((a) => a.batches()).filter((b) => victimSyncs.has(b.syncId) && b.committedAt > killedAt);
          return commits.length > 0 ? Math.min(...commits.map((c) => c.committedAt)) : undefined;
        },
        60_000,
      );
      samplesMs.push(firstCommit - killedAt);
      spawnAgent();
    }
  } finally {
    writing = false;
    await writer;
    await Promise.all([...agents.values()].map((a) => a.stop()));
    conn.close();
    await src.end();
    await Promise.all([source.drop(), dest.drop(), etcd.stop()]);
  }
  const sorted = [...samplesMs].sort((a, b) => a - b);
  return { samplesMs, p50: percentile(sorted, 50), p99: percentile(sorted, 99) };
}
