import { randomBytes } from 'node:crypto';
import { afterAll, afterEach, beforeAll, describe, expect, inject, it } from 'vitest';
import pg from 'pg';
import { createDatabase, startEtcd, type EtcdServer, type TestDatabase, until } from '@idra/testkit';
import { connectEtcd, readAssignments, KEYS, type EtcdConnection } from '@idra/core';
import { AgentProcess, EtcdHistory, unfencedCommits } from './cluster-harness.ts';

const SYNCS = 6;
const ROWS = 200_000;

describe('cluster mode: agents as real processes, coordinated only through etcd', () => {
  let source: TestDatabase;
  let dest: TestDatabase;
  let src: pg.Client;
  let dst: pg.Client;
  let etcd: EtcdServer;
  let agents: AgentProcess[] = [];

  beforeAll(async () => {
    [source, dest, etcd] = await Promise.all([
      createDatabase('postgres', inject('pgUrl')),
      createDatabase('postgres', inject('pgUrl')),
      startEtcd({ members: 3 }),
    ]);
    src = new pg.Client(source.url);
    dst = new pg.Client(dest.url);
    await Promise.all([src.connect(), dst.connect()]);
    await src.query('create table events (id bigint primary key, part int not null, body text not null)');
    await src.query(`insert into events select g, g % ${SYNCS}, md5(g::text) from generate_series(1, $1) g`, [ROWS]);
  });
  afterEach(async () => {
    await Promise.all(agents.map((a) => a.stop()));
    agents = [];
  });
  afterAll(async () => {
    await Promise.all([src.end(), dst.end()]);
    await Promise.all([source.drop(), dest.drop(), etcd.stop()]);
  });

  /** A fresh key prefix with SYNCS syncs, each copying one part of `events` into its own table (upsert). */
  async function cluster(name: string, batchSize = 500): Promise<{ prefix: string; conn: EtcdConnection; tables: string[] }> {
    const prefix = `/t-${name}-${randomBytes(3).toString('hex')}/`;
    const conn = connectEtcd({ endpoints: etcd.endpoints, prefix });
    const tables: string[] = [];
    for (let p = 0; p < SYNCS; p++) {
      const table = `${name}_${p}`;
      tables.push(table);
      await conn.ns.put(KEYS.sync(table)).value(
        JSON.stringify({
          id: table,
          source: { connector: 'postgres', connection: { url: source.url }, query: `select id, body from events where part = ${p}` },
          destination: { connector: 'postgres', connection: { url: dest.url }, table },
          mode: 'id',
          cursorColumn: 'id',
          keyColumns: ['id'],
          writeMode: 'upsert',
          batchSize,
          pollIntervalMs: 200,
        }),
      );
    }
    return { prefix, conn, tables };
  }

  const copied = async (tables: string[]) => {
    let total = 0;
    for (const t of tables) total += Number((await dst.query(`select count(*) as n from ${t}`).catch(() => ({ rows: [{ n: 0 }] }))).rows[0].n);
    return total;
  };

  async function expectExactCopies(tables: string[]): Promise<void> {
    for (const [p, t] of tables.entries()) {
      const want = (await src.query(`select count(*)::int as n, md5(string_agg(id || body, ',' order by id)) as h from events where part = ${p}`)).rows[0];
      const got = (await dst.query(`select count(*)::int as n, md5(string_agg(id || body, ',' order by id)) as h from ${t}`)).rows[0];
      expect(got).toEqual(want);
    }
  }

  async function loads(conn: EtcdConnection): Promise<Record<string, number>> {
    const { assignments } = await readAssignments(conn.ns);
    const c: Record<string, number> = {};
    for (const a of assignments.values()) c[a.agentId] = (c[a.agentId] ?? 0) + 1;
    return c;
  }

  it('a joining agent takes its share; a leaving agent hands its syncs over at once', async () => {
    const { prefix, conn } = await cluster('join');
    agents = [new AgentProcess('j1', etcd.endpoints, prefix), new AgentProcess('j2', etcd.endpoints, prefix)];
    await until('3/3', async () => {
      const l = await loads(conn);
      return l.j1 === 3 && l.j2 === 3;
    });
    agents.push(new AgentProcess('j3', etcd.endpoints, prefix));
    await until('2/2/2', async () => Object.values(await loads(conn)).join() === '2,2,2');
    expect(Object.keys(await loads(conn)).sort()).toEqual(['j1', 'j2', 'j3']);
    const leaving = agents[0]!;
    await leaving.stop();
    // SIGTERM revokes the lease before the process exits: its registration and locks are gone the
    // moment it has exited, not a TTL later (judged by etcd, not by a clock a loaded machine stretches).
    expect(await conn.ns.get(KEYS.agent('j1')).string()).toBeNull();
    expect(Object.values(await conn.ns.getAll().prefix(KEYS.locks).strings()).map((v) => JSON.parse(v).agentId)).not.toContain('j1');
    await until('3/3 without j1', async () => {
      const l = await loads(conn);
      return !('j1' in l) && Object.values(l).join() === '3,3';
    });
    conn.close();
  }, 120_000);

  it('kill -9 of one of three agents during a 200k-row sync set: its syncs resume elsewhere, 0 rows lost, 0 duplicates, no overlap', async () => {
    const { prefix, conn, tables } = await cluster('crash');
    const history = await EtcdHistory.start(conn.ns);
    agents = ['c1', 'c2', 'c3'].map((id) => new AgentProcess(id, etcd.endpoints, prefix));
    await until('some progress', async () => (await copied(tables)) > ROWS / 5, 90_000);
    // The victim holds the lock of a sync it has committed a batch under: that sync, mid-copy, must move.
    const { victim, syncId, epoch } = await until('an agent holding the lock of a sync it committed a batch under', async () => {
      for (const kv of (await conn.ns.getAll().prefix(KEYS.locks).exec()).kvs) {
        const agent = agents.find((a) => a.id === (JSON.parse(kv.value.toString()) as { agentId: string }).agentId);
        const held = { syncId: kv.key.toString().split(KEYS.locks).pop()!, epoch: String(kv.create_revision) };
        if (agent?.batches().some((b) => b.syncId === held.syncId && b.epoch === held.epoch)) return { victim: agent, ...held };
      }
      return undefined;
    });
    victim.signal('SIGKILL');
    await victim.exited;
    await until('all rows copied', async () => (await copied(tables)) === ROWS, 120_000);
    await until('victim unassigned', async () => !(victim.id in (await loads(conn))));
    await expectExactCopies(tables);
    const records = agents.flatMap((a) => a.batches());
    expect(records.length).toBeGreaterThan(ROWS / 500 / 2);
    expect(new Set(records.map((r) => r.agentId)).size).toBe(3);
    // The killed agent's sync went on under a newer lock of another agent.
    expect(records.filter((r) => r.syncId === syncId && r.agentId !== victim.id && BigInt(r.epoch) > BigInt(epoch)).length).toBeGreaterThan(0);
    expect(unfencedCommits(records)).toEqual([]);
    await history.settle();
    expect(history.violations()).toEqual([]);
    await history.stop();
    conn.close();
  }, 240_000);

  it('a frozen agent (SIGSTOP) loses its syncs when its lease expires, and its late commit is refused after SIGCONT', async () => {
    const { prefix, conn, tables } = await cluster('zombie', 2000);
    const history = await EtcdHistory.start(conn.ns);
    agents = ['z1', 'z2'].map((id) => new AgentProcess(id, etcd.endpoints, prefix));
    await until('some progress', async () => (await copied(tables)) > 20_000, 90_000);
    const zombie = agents[0]!;
    const frozenAt = Date.now();
    zombie.signal('SIGSTOP');
    const epochsBeforeFreeze = new Set(zombie.batches().map((b) => b.epoch));
    await until('zombie unassigned', async () => !('z1' in (await loads(conn))), 30_000);
    // Let the survivor take the locks, then wake the zombie (it may still hold a destination transaction).
    await until(
      'survivor holds every lock',
      async () => {
        const owners = Object.values(await conn.ns.getAll().prefix(KEYS.locks).strings()).map((v) => JSON.parse(v).agentId);
        return owners.length === SYNCS && owners.every((o) => o === 'z2');
      },
      30_000,
    );
    zombie.signal('SIGCONT');
    await until('zombie noticed', () => zombie.has(/lease lost|lost its lock/), 15_000);
    // What the zombie had in flight when frozen (statuses, a batch) was refused, not written over the survivor's.
    await until('zombie stopped its syncs', () => zombie.has('lease lost: stopping every sync now'), 15_000);
    await until('all rows copied by the survivor', async () => (await copied(tables)) === ROWS, 120_000);
    await expectExactCopies(tables);
    const records = agents.flatMap((a) => a.batches());
    expect(unfencedCommits(records)).toEqual([]);
    // The survivor committed under its own, newer locks, and by etcd's order no commit was made
    // under one of the zombie's old locks once a newer lock of the same sync existed.
    const survivorBatches = agents[1]!.batches().filter((b) => b.startedAt > frozenAt);
    expect(survivorBatches.length).toBeGreaterThan(0);
    expect(survivorBatches.every((b) => !epochsBeforeFreeze.has(b.epoch))).toBe(true);
    // Judged by etcd's revisions: every status, offset and dead letter was written by the sync's owner at that moment.
    await history.settle();
    expect(history.violations()).toEqual([]);
    expect(history.counts().statuses).toBeGreaterThan(SYNCS);
    await history.stop();
    conn.close();
  }, 240_000);

  it('etcd: one member down changes nothing; quorum lost pauses the agents without loss; quorum back resumes them', async () => {
    const { prefix, conn, tables } = await cluster('quorum');
    agents = ['q1', 'q2'].map((id) => new AgentProcess(id, etcd.endpoints, prefix));
    await until('all rows copied', async () => (await copied(tables)) === ROWS, 120_000);

    await etcd.members[0]!.kill('SIGKILL');
    await src.query(`insert into events select g, g % ${SYNCS}, md5(g::text) from generate_series($1::bigint + 1, $1::bigint + 3000) g`, [ROWS]);
    await until('copied with one member down', async () => (await copied(tables)) === ROWS + 3000, 60_000);

    await etcd.members[1]!.kill('SIGKILL');
    await until('agents paused', () => agents.every((a) => a.has('lease lost: stopping every sync now')), 30_000);
    const atPause = await copied(tables);
    await src.query(`insert into events select g, g % ${SYNCS}, md5(g::text) from generate_series($1::bigint + 3001, $1::bigint + 6000) g`, [ROWS]);
    // Nothing to poll for: without a lease the agents must not write, so nothing changes for a while.
    await new Promise((r) => setTimeout(r, 1500));
    const whilePaused = await copied(tables);

    await etcd.members[0]!.start();
    await etcd.members[1]!.start();
    await until('copied after quorum returned', async () => (await copied(tables)) === ROWS + 6000, 90_000);
    expect(whilePaused).toBe(atPause);
    await expectExactCopies(tables);
    expect(unfencedCommits(agents.flatMap((a) => a.batches()))).toEqual([]);
    await src.query(`delete from events where id > $1`, [ROWS]);
    conn.close();
  }, 240_000);
});
