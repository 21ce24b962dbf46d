import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { randomBytes } from 'node:crypto';
import { startEtcd, type EtcdServer, until } from '@idra/testkit';
import { FencedError } from '../errors.ts';
import { SecretBox } from '../secrets.ts';
import { connectEtcd, type EtcdConnection } from './etcd-client.ts';
import { EtcdOffsetStore } from './etcd-offset-store.ts';
import { SyncLock } from './sync-lock.ts';
import { AgentSession, agentInfo } from './agent-session.ts';
import { LeaderLoop } from './leader.ts';
import { ConfigStore } from './config-store.ts';
import { readAssignments, readUnassigned } from './assignments.ts';
import { readAgentEvents } from './agent-events.ts';
import { KEYS } from './keys.ts';
import { StatusStore } from './status-store.ts';
import { newSyncStatus } from '../runner/status.ts';
import { ThrottledStatusWriter } from './status-writer.ts';
import { silentLogger } from '../log.ts';

const ctx = { agentId: 'a1', epoch: 1 };

describe('cluster state in etcd', () => {
  let conn: EtcdConnection;
  beforeAll(() => {
    conn = connectEtcd({ endpoints: inject('etcdEndpoints'), prefix: `/test-${randomBytes(4).toString('hex')}/` });
  });
  afterAll(() => conn.close());

  // Sessions end by revoking their lease unless a test is about expiry (it gives a short TTL): a 2 s lease of a test
  // that only revokes lapsed under load (load average 35) and failed a fenced commit it was meant to allow.
  async function session(id: string, ttl = 10, ns = conn.ns): Promise<AgentSession> {
    const s = new AgentSession(ns, agentInfo(id, 'test'), ttl);
    await s.start();
    return s;
  }

  /** A sync's document: agents write its status and activity only while it exists. */
  const configured = (syncId: string) => conn.ns.put(KEYS.sync(syncId)).value(JSON.stringify({ id: syncId }));

  it('lists syncs as they are now: a changed, a deleted, a broken and a re-added document (each validated again only when it changes)', async () => {
    const ns = conn.ns.namespace(`list-${randomBytes(3).toString('hex')}/`);
    const store = new ConfigStore(ns);
    const sync = (id: string, batchSize: number) => ({
      id,
      source: { connector: 'sqlite', connection: { file: '/tmp/a.db' }, table: 't' },
      destination: { connector: 'sqlite', connection: { file: '/tmp/b.db' }, table: 't' },
      mode: 'full',
      keyColumns: ['id'],
      batchSize,
    });
    await store.putSync(sync('a', 10));
    await store.putSync(sync('b', 10));
    const first = await store.listSyncs();
    expect(first.syncs.map((s) => [s.id, s.batchSize])).toEqual([
      ['a', 10],
      ['b', 10],
    ]);
    // Callers get objects of their own: what one changes the next list does not see.
    first.syncs[0]!.batchSize = 999;
    await store.putSync(sync('b', 20));
    await ns.put(KEYS.sync('c')).value('{"id":"c"}');
    let now = await store.listSyncs();
    expect(now.syncs.map((s) => [s.id, s.batchSize])).toEqual([
      ['a', 10],
      ['b', 20],
    ]);
    expect(now.invalid.map((i) => i.id)).toEqual(['c']);
    await store.deleteSync('a');
    await ns.put(KEYS.sync('c')).value(JSON.stringify(sync('c', 5)));
    now = await store.listSyncs();
    expect(now.syncs.map((s) => [s.id, s.batchSize])).toEqual([
      ['b', 20],
      ['c', 5],
    ]);
    expect(now.invalid).toEqual([]);
    await store.putSync(sync('a', 30));
    expect((await store.listSyncs()).syncs.map((s) => [s.id, s.batchSize])).toEqual([
      ['a', 30],
      ['b', 20],
      ['c', 5],
    ]);
  });

  it('commits an offset only while holding the sync lock (fencing)', async () => {
    const a = await session('agent-a');
    const b = await session('agent-b');
    const lockA = (await SyncLock.acquire(conn.ns, 's1', { agentId: 'agent-a', leaseId: a.leaseId }, new AbortController().signal))!;
    let fence = lockA.fence;
    const store = new EtcdOffsetStore(conn.ns, () => fence);
    await store.commit('s1', { kind: 'id', value: '10' }, ctx);
    expect((await store.load('s1'))?.value).toBe('10');

    // While A holds it, B waits; once A's lease is gone, B takes the lock and A's late commit is refused.
    const bWaits = SyncLock.acquire(conn.ns, 's1', { agentId: 'agent-b', leaseId: b.leaseId }, new AbortController().signal, 20);
    await a.close(true);
    const lockB = (await bWaits)!;
    expect(lockB.fence.createRevision).not.toBe(lockA.fence.createRevision);
    await expect(store.commit('s1', { kind: 'id', value: '11' }, ctx)).rejects.toBeInstanceOf(FencedError);
    fence = lockB.fence;
    await store.commit('s1', { kind: 'id', value: '12' }, ctx);
    expect((await store.load('s1'))?.value).toBe('12');
    expect(await SyncLock.owner(conn.ns, 's1')).toBe('agent-b');

    // Manual changes are refused while the sync runs, accepted once it stopped, and audited.
    await expect(store.set('s1', { kind: 'id', value: '0' }, { by: 'admin', reason: 'replay' })).rejects.toThrow(/running on agent-b/);
    await lockB.release();
    await store.set('s1', { kind: 'id', value: '5' }, { by: 'admin', reason: 'replay' });
    expect((await store.load('s1'))?.value).toBe('5');
    expect(await store.history('s1')).toMatchObject([{ by: 'admin', reason: 'replay', old: { kind: 'id', value: '12' }, new: { kind: 'id', value: '5' } }]);
    await b.close(true);
  });

  it('an idle sync polling again writes its status only at the heartbeat; a status that says something new is written', async () => {
    const statuses = new StatusStore(conn.ns);
    await configured('s-idle');
    const a = await session('status-idle');
    const lock = (await SyncLock.acquire(conn.ns, 's-idle', { agentId: 'status-idle', leaseId: a.leaseId }, new AbortController().signal))!;
    // A heartbeat far longer than the polls take however loaded the machine; the heartbeat itself is shown below
    // by a writer with a short one (a 600 ms heartbeat here was overtaken by ten 20 ms polls on a loaded machine).
    const writer = new ThrottledStatusWriter(statuses, silentLogger, () => lock.fence, 10, 600_000);
    // The key's version counts the writes made to it.
    const writes = async () => Number((await conn.ns.get(KEYS.status('s-idle')).exec()).kvs[0]?.version ?? 0);
    const idle = newSyncStatus('s-idle', 'status-idle', { state: 'idle' });
    writer.update(idle);
    await until('the first status write', async () => (await writes()) === 1, 5000);
    // Polls that change only the time and a timestamp cursor's watermark, for longer than the throttle.
    for (let poll = 0; poll < 10; poll++) {
      writer.update({ ...idle, updatedAt: new Date(Date.now() + poll).toISOString(), watermark: `2024-01-01 00:00:0${poll}` });
      await new Promise((r) => setTimeout(r, 20));
    }
    await writer.flush();
    expect(await writes()).toBe(1);
    writer.update({ ...idle, rowsCopied: 5 });
    await until('the changed status written', async () => (await writes()) === 2, 5000);
    // After the heartbeat, the same status again is written once.
    const beating = new ThrottledStatusWriter(statuses, silentLogger, () => lock.fence, 10, 600);
    beating.update({ ...idle, rowsCopied: 5 });
    await until('the status written by the writer with a short heartbeat', async () => (await writes()) === 3, 5000);
    await new Promise((r) => setTimeout(r, 650)); // the heartbeat's time passing is what is tested
    beating.update({ ...idle, rowsCopied: 5, updatedAt: new Date().toISOString() });
    beating.update({ ...idle, rowsCopied: 5, updatedAt: new Date().toISOString() });
    await until('the heartbeat write', async () => (await writes()) === 4, 5000);
    await beating.flush();
    expect(await writes()).toBe(4);
    await a.close(true);
  });

  it('a change of state is written at once, not after the interval: a sync taken over shows running right after starting', async () => {
    const statuses = new StatusStore(conn.ns);
    await configured('s-state');
    const a = await session('status-state');
    const lock = (await SyncLock.acquire(conn.ns, 's-state', { agentId: 'status-state', leaseId: a.leaseId }, new AbortController().signal))!;
    // An interval far longer than this test may take: only the change of state can have the second write out.
    const writer = new ThrottledStatusWriter(statuses, silentLogger, () => lock.fence, 600_000, 600_000);
    const writes = async () => Number((await conn.ns.get(KEYS.status('s-state')).exec()).kvs[0]?.version ?? 0);
    writer.update(newSyncStatus('s-state', 'status-state', { state: 'starting' }));
    await until('the first status write', async () => (await writes()) === 1, 5000);
    writer.update(newSyncStatus('s-state', 'status-state', { state: 'running' }));
    writer.update(newSyncStatus('s-state', 'status-state', { state: 'idle' }));
    await until('the new state written, long before the interval', async () => (await writes()) === 2, 5000);
    expect(JSON.parse((await conn.ns.get(KEYS.status('s-state')).string())!)).toMatchObject({ state: 'idle' });
    await a.close(true);
  });

  it('a status that could not be written (the lock not yet ours) is written by the next update saying the same, not at the heartbeat', async () => {
    const statuses = new StatusStore(conn.ns);
    await configured('s-early');
    const a = await session('status-early');
    let lock: SyncLock | undefined;
    const writer = new ThrottledStatusWriter(statuses, silentLogger, () => lock?.fence, 10, 600_000);
    const writes = async () => Number((await conn.ns.get(KEYS.status('s-early')).exec()).kvs[0]?.version ?? 0);
    const idle = newSyncStatus('s-early', 'status-early', { state: 'idle', rowsCopied: 150 });
    // A handoff: the new owner reports before its lock is taken; that write is refused.
    writer.update(idle);
    await writer.flush();
    expect(await writes()).toBe(0);
    lock = (await SyncLock.acquire(conn.ns, 's-early', { agentId: 'status-early', leaseId: a.leaseId }, new AbortController().signal))!;
    // The same status on the next poll must reach etcd now (it waited for the 10-minute heartbeat before).
    writer.update({ ...idle, updatedAt: new Date().toISOString() });
    await until('the status written once the lock is ours', async () => (await writes()) === 1, 5000);
    await a.close(true);
  });

  it('writes status and dead letters only under the sync lock: a former owner cannot overwrite the new one', async () => {
    const statuses = new StatusStore(conn.ns, 3);
    await configured('s3');
    const a = await session('status-a');
    const b = await session('status-b');
    const lockA = (await SyncLock.acquire(conn.ns, 's3', { agentId: 'status-a', leaseId: a.leaseId }, new AbortController().signal))!;
    expect(await statuses.put(newSyncStatus('s3', 'status-a', { state: 'running' }), lockA.fence)).toBe(true);
    const rows = ['1', '2', '3', '4'].map((id) => ({ at: new Date().toISOString(), syncId: 's3', row: { id }, error: 'too long' }));
    await statuses.deadLetterSink('s3', () => lockA.fence).record(rows);
    // One batch's rows keep their order, and the oldest beyond the bound are dropped.
    expect((await statuses.listDeadLetters('s3')).map((d) => d.row.id)).toEqual(['2', '3', '4']);
    await a.close(true);
    const lockB = (await SyncLock.acquire(conn.ns, 's3', { agentId: 'status-b', leaseId: b.leaseId }, new AbortController().signal))!;
    expect(await statuses.put(newSyncStatus('s3', 'status-b', { state: 'idle' }), lockB.fence)).toBe(true);
    // A's late writes (resumed after its lease expired) are refused; B's stand.
    expect(await statuses.put(newSyncStatus('s3', 'status-a', { state: 'stopped' }), lockA.fence)).toBe(false);
    await expect(statuses.deadLetterSink('s3', () => lockA.fence).record(rows.slice(0, 1))).rejects.toBeInstanceOf(FencedError);
    await expect(statuses.deadLetterSink('s3', () => undefined).record(rows.slice(0, 1))).rejects.toBeInstanceOf(FencedError);
    expect(await statuses.get('s3')).toMatchObject({ agentId: 'status-b', state: 'idle' });
    expect(await statuses.listDeadLetters('s3')).toHaveLength(3);
    // Once the sync is deleted (its status with it), even its owner's last status is refused.
    await conn.ns.delete().key(KEYS.sync('s3')).exec();
    await statuses.delete('s3');
    expect(await statuses.put(newSyncStatus('s3', 'status-b', { state: 'stopped' }), lockB.fence)).toBe(false);
    expect(await statuses.get('s3')).toBeUndefined();
    await b.close(true);
  });

  it('refuses commits without a lock at all; a manual change (no agent runs the sync) is stored and recorded', async () => {
    const store = new EtcdOffsetStore(conn.ns);
    await expect(store.commit('s2', { kind: 'id', value: '1' }, ctx)).rejects.toBeInstanceOf(FencedError);
    expect(await store.load('s2')).toBeUndefined();
    await store.set('s2', { kind: 'id', value: '7' }, { by: 'x', reason: 'skip ahead' });
    expect(await store.load('s2')).toMatchObject({ kind: 'id', value: '7', agentId: 'manual:x' });
    await store.set('s2', null, { by: 'x', reason: 'start over' });
    expect(await store.load('s2')).toBeUndefined();
    expect((await store.history('s2')).map((h) => [h.reason, h.new?.value ?? null])).toEqual([
      ['skip ahead', '7'],
      ['start over', null],
    ]);
  });

  it('stores connection secrets encrypted and decrypts them for the agent', async () => {
    const box = new SecretBox('a test secret key of enough length');
    const store = new ConfigStore(conn.ns, box);
    await store.putDataSource({ id: 'pg', connector: 'postgres', connection: { host: 'db', user: 'idra', password: 'hunter2' } });
    await store.putSync({
      id: 'with-secrets',
      source: { connector: 'postgres', dataSourceId: 'pg', table: 't' },
      destination: { connector: 'mysql', connection: { url: 'mysql://root:s3cr3t@dw:3306/x' }, table: 't' },
      mode: 'id',
      cursorColumn: 'id',
    });
    const raw = JSON.stringify(await conn.ns.getAll().prefix('').strings());
    expect(raw).not.toContain('hunter2');
    expect(raw).not.toContain('s3cr3t');
    const sync = await store.resolveSync((await store.getSync('with-secrets'))!);
    expect(sync.source.connection.password).toBe('hunter2');
    expect(sync.destination.connection.url).toBe('mysql://root:s3cr3t@dw:3306/x');
    await expect(new ConfigStore(conn.ns, new SecretBox('another key, also long enough')).resolveSync((await store.getSync('with-secrets'))!)).rejects.toThrow(
      /IDRA_SECRET_KEY/,
    );
  });

  it('elects one leader that assigns syncs evenly, and a new leader takes over when it leaves', async () => {
    const ns = conn.client.namespace(`/leader-test-${randomBytes(4).toString('hex')}/`);
    for (let i = 0; i < 7; i++) await ns.put(KEYS.sync(`job-${i}`)).value(JSON.stringify({ id: `job-${i}`, mode: 'id' }));
    const sessions = await Promise.all(['n1', 'n2', 'n3'].map((id) => session(id, 2, ns)));
    const leaders = sessions.map((s) => new LeaderLoop({ ns, agentId: s.info.agentId, ttlSeconds: 2, reconcileIntervalMs: 500 }));
    leaders.forEach((l) => l.start());
    const counts = async () => {
      const { assignments } = await readAssignments(ns);
      const c: Record<string, number> = {};
      for (const [id, a] of assignments) if (id.startsWith('job-')) c[a.agentId] = (c[a.agentId] ?? 0) + 1;
      return c;
    };
    await until(
      'three agents holding 2, 2 and 3 jobs',
      async () => {
        const c = await counts();
        return Object.keys(c).length === 3 && Object.values(c).sort().join() === '2,2,3' && c;
      },
      15_000,
    );
    expect(leaders.filter((l) => l.isLeader)).toHaveLength(1);

    const leaderIndex = leaders.findIndex((l) => l.isLeader);
    await leaders[leaderIndex]!.stop();
    await sessions[leaderIndex]!.close(true);
    const survivors = sessions
      .filter((_, i) => i !== leaderIndex)
      .map((s) => s.info.agentId)
      .sort();
    const after = await until(
      'the two survivors holding 3 and 4 jobs',
      async () => {
        const c = await counts();
        return Object.keys(c).sort().join() === survivors.join() && Object.values(c).sort().join() === '3,4' && c;
      },
      15_000,
    );
    expect(Object.values(after).reduce((x, y) => x + y, 0)).toBe(7);
    expect(leaders.filter((l) => l.isLeader)).toHaveLength(1);
    for (const [i, l] of leaders.entries()) if (i !== leaderIndex) await l.stop();
    for (const [i, s] of sessions.entries()) if (i !== leaderIndex) await s.close(true);
  });

  it("places syncs by their own and their data sources' placement, and says why a sync whose placements disagree runs nowhere", async () => {
    const ns = conn.client.namespace(`/placement-test-${randomBytes(4).toString('hex')}/`);
    const sync = (id: string, extra: Record<string, unknown>) =>
      JSON.stringify({
        id,
        source: { connector: 'sqlite', dataSourceId: 'eu-db', table: 't' },
        destination: { connector: 'sqlite', connection: { file: '/tmp/d.db' }, table: 't' },
        mode: 'full',
        keyColumns: ['id'],
        ...extra,
      });
    await ns
      .put(KEYS.dataSource('eu-db'))
      .value(JSON.stringify({ id: 'eu-db', connector: 'sqlite', connection: { file: '/tmp/s.db' }, placement: { region: 'eu' } }));
    await ns.put(KEYS.sync('by-data-source')).value(sync('by-data-source', {}));
    await ns.put(KEYS.sync('conflicting')).value(sync('conflicting', { placement: { region: 'us' } }));
    const eu = new AgentSession(ns, agentInfo('eu-agent', 'test', { labels: { region: 'eu' } }), 2);
    const plain = new AgentSession(ns, agentInfo('plain-agent', 'test'), 2);
    await Promise.all([eu.start(), plain.start()]);
    const leader = new LeaderLoop({ ns, agentId: 'plain-agent', ttlSeconds: 2, reconcileIntervalMs: 500 });
    leader.start();
    await until('placed', async () => (await readAssignments(ns)).assignments.get('by-data-source')?.agentId === 'eu-agent', 15_000);
    const reasons = await until('the conflict explained', async () => (await readUnassigned(ns)).get('conflicting'), 15_000);
    expect(reasons.reason).toBe('its placement asks for region=us (the sync) and region=eu (data source eu-db)');
    expect((await readAssignments(ns)).assignments.has('conflicting')).toBe(false);
    await leader.stop();
    await Promise.all([eu.close(true), plain.close(true)]);
  });

  it('records each agent that leaves — lost (lease expired) or stopped (said so first) — and where the leader moved its syncs', async () => {
    const ns = conn.client.namespace(`/agent-events-test-${randomBytes(4).toString('hex')}/`);
    for (let i = 0; i < 4; i++) await ns.put(KEYS.sync(`job-${i}`)).value(JSON.stringify({ id: `job-${i}`, mode: 'id' }));
    const keeper = await session('keeper', 2, ns);
    const leader = new LeaderLoop({ ns, agentId: 'keeper', ttlSeconds: 2, reconcileIntervalMs: 500 });
    leader.start();
    await until('keeper leads', () => leader.isLeader, 15_000);
    const [doomed, leaving] = await Promise.all([session('doomed', 1, ns), session('leaving', 2, ns)]);
    const owned = async (agentId: string) =>
      [...(await readAssignments(ns)).assignments]
        .filter(([, a]) => a.agentId === agentId)
        .map(([id]) => id)
        .sort();
    await until('each agent has syncs', async () => (await owned('doomed')).length > 0 && (await owned('leaving')).length > 0, 15_000);
    const doomedSyncs = await owned('doomed');
    const leavingSyncs = await owned('leaving');

    // Lost: its lease just expires (as after kill -9), nothing said before.
    await doomed.close(false);
    const lost = await until('the loss recorded', async () => (await readAgentEvents(ns)).find((e) => e.agentId === 'doomed'), 15_000);
    expect(lost).toMatchObject({ kind: 'lost', moved: doomedSyncs.map((syncId) => ({ syncId, to: expect.stringMatching(/^(keeper|leaving)$/) })) });
    const { assignments } = await readAssignments(ns);
    for (const m of lost.moved) expect(m.to).toBe(assignments.get(m.syncId)?.agentId);

    // Stopped: as SIGTERM does, it says so, then revokes its lease.
    await until('its syncs moved', async () => (await owned('leaving')).length >= leavingSyncs.length, 15_000);
    const stillLeaving = await owned('leaving');
    await leaving.markStopping();
    await leaving.close(true);
    const stopped = await until('the stop recorded', async () => (await readAgentEvents(ns)).find((e) => e.agentId === 'leaving'), 15_000);
    expect(stopped).toMatchObject({ kind: 'stopped', moved: stillLeaving.map((syncId) => ({ syncId, to: 'keeper' })) });
    expect((await readAgentEvents(ns)).map((e) => e.agentId)).toEqual(['leaving', 'doomed']);
    await leader.stop();
    await keeper.close(true);
  });
});

describe('agent session against an etcd that goes away', () => {
  let etcd: EtcdServer;
  beforeAll(async () => {
    etcd = await startEtcd();
  });
  afterAll(async () => {
    await etcd.stop();
  });

  it('reports the lease lost within its TTL when etcd is unreachable, and refuses writes from then on', async () => {
    const conn = connectEtcd({ endpoints: etcd.endpoints, prefix: '/idra/' });
    const s = new AgentSession(conn.ns, agentInfo('lonely', 'test'), 2);
    await s.start();
    expect(s.valid).toBe(true);
    const lost = new Promise<number>((resolve) => s.once('lost', () => resolve(Date.now())));
    const killedAt = Date.now();
    await etcd.members[0]!.kill('SIGKILL');
    const lostAt = await lost;
    expect(lostAt - killedAt).toBeLessThan(2000);
    expect(() => s.assertValid('any')).toThrow(FencedError);
    await s.close(false);
    conn.close();
  });
});
