import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { randomBytes } from 'node:crypto';
import { until } from '@idra/testkit';
import { FencedError } from '../errors.ts';
import { sleep } from '../runner/backoff.ts';
import type { SlotWait } from '../runner/status.ts';
import { AgentSession, agentInfo } from './agent-session.ts';
import { DataSourceSlots, readSlots, slotDecision, type QueuedSlot, type SlotRole } from './data-source-slots.ts';
import { connectEtcd, type EtcdConnection } from './etcd-client.ts';
import { KEYS } from './keys.ts';
import { SyncLock } from './sync-lock.ts';

const entry = (syncId: string, ticket: number, held: boolean, roles: SlotRole[] = ['read']): QueuedSlot => ({
  syncId,
  agentId: 'a',
  roles,
  held,
  since: '2026-01-01T00:00:00.000Z',
  ticket: BigInt(ticket),
});

describe('slotDecision (who may take a slot now)', () => {
  it('grants up to the limit, in queue order, and says who holds the slots', () => {
    const queue = [entry('s1', 1, true), entry('s2', 2, false), entry('s3', 3, false)];
    expect(slotDecision('pg', { maxConcurrentSyncs: 2 }, queue, 's2')).toBeUndefined();
    // s3 is behind s2, which takes the second slot first.
    expect(slotDecision('pg', { maxConcurrentSyncs: 2 }, queue, 's3')).toMatchObject({ limit: 'syncs', held: 1, max: 2, holders: ['s1 on a'], ahead: 1 });
    expect(slotDecision('pg', { maxConcurrentSyncs: 3 }, queue, 's3')).toBeUndefined();
  });

  it('counts readers and writers apart, and lets nobody overtake a waiter that does not fit', () => {
    const queue = [entry('w1', 1, true, ['write']), entry('w2', 2, false, ['write']), entry('r1', 3, false, ['read'])];
    expect(slotDecision('pg', { maxWriters: 1 }, queue, 'w2')).toMatchObject({ limit: 'writers', held: 1, max: 1 });
    // r1 fits the reader limit but waits behind w2: served in order, w2 cannot starve.
    expect(slotDecision('pg', { maxWriters: 1, maxReaders: 5 }, queue, 'r1')).toMatchObject({ ahead: 1 });
    expect(slotDecision('pg', { maxWriters: 2, maxReaders: 5 }, queue, 'r1')).toBeUndefined();
    // A sync both reading and writing the same data source counts for both.
    expect(slotDecision('pg', { maxReaders: 1 }, [entry('rw', 1, true, ['read', 'write']), entry('r', 2, false)], 'r')).toMatchObject({
      limit: 'readers',
      held: 1,
    });
  });
});

describe('DataSourceSlots in etcd', () => {
  let conn: EtcdConnection;
  const sessions: AgentSession[] = [];
  beforeAll(async () => {
    conn = connectEtcd({ endpoints: inject('etcdEndpoints'), prefix: `/test-slots-${randomBytes(4).toString('hex')}/` });
    await conn.ns
      .put(KEYS.dataSource('pg'))
      .value(JSON.stringify({ id: 'pg', connector: 'postgres', connection: { url: 'postgres://x' }, maxConcurrentSyncs: 2 }));
  });
  afterAll(async () => {
    for (const s of sessions) await s.close(true);
    conn.close();
  });

  // Long enough that a loaded machine does not let a lease lapse where the test does not mean it to.
  async function session(id: string, ttl = 5): Promise<AgentSession> {
    const s = new AgentSession(conn.ns, agentInfo(id, 'test'), ttl);
    await s.start();
    sessions.push(s);
    return s;
  }

  /** A sync's lock and its slots on `pg`, as a worker holds them. */
  async function syncOn(agent: AgentSession, syncId: string) {
    const lock = (await SyncLock.acquire(conn.ns, syncId, { agentId: agent.info.agentId, leaseId: agent.leaseId }, new AbortController().signal))!;
    let fence: typeof lock.fence | undefined = lock.fence;
    const slots = new DataSourceSlots({
      ns: conn.ns,
      syncId,
      agentId: agent.info.agentId,
      leaseId: agent.leaseId,
      fenceOf: () => fence,
      needs: [{ dataSourceId: 'pg', roles: ['read'] }],
      holdWhileIdle: false,
    });
    return { lock, slots, dropFence: () => (fence = undefined) };
  }

  it('never lets more than the limit hold a slot, serves waiters in order and starves none', async () => {
    const agents = await Promise.all(['a1', 'a2', 'a3'].map((id) => session(id)));
    const syncs = await Promise.all(Array.from({ length: 6 }, (_, i) => syncOn(agents[i % 3]!, `contended-${i}`)));
    let holding = 0;
    let most = 0;
    const turns = new Map<string, number>();
    const waits: SlotWait[] = [];
    await Promise.all(
      syncs.map(async ({ slots }, i) => {
        for (let round = 0; round < 5; round++) {
          expect(await slots.acquire(new AbortController().signal, (w) => waits.push(w))).toBe(true);
          most = Math.max(most, ++holding);
          turns.set(`contended-${i}`, (turns.get(`contended-${i}`) ?? 0) + 1);
          await sleep(20); // reading
          holding--;
          await slots.release();
        }
      }),
    );
    expect(most).toBe(2);
    expect([...turns.values()]).toEqual([5, 5, 5, 5, 5, 5]);
    expect(waits.length).toBeGreaterThan(0);
    expect(waits.every((w) => w.dataSourceId === 'pg' && w.max === 2)).toBe(true);
    expect((await readSlots(conn.ns)).get('pg') ?? []).toEqual([]);
  });

  it('frees the slots of an agent whose lease expired, and refuses a sync that lost its lock', async () => {
    const dead = await session('doomed', 1);
    const alive = await session('alive');
    const first = await syncOn(dead, 'held-1');
    const second = await syncOn(dead, 'held-2');
    await first.slots.acquire(new AbortController().signal, () => {});
    await second.slots.acquire(new AbortController().signal, () => {});
    const waiting = await syncOn(alive, 'waiting-1');
    const seen: SlotWait[] = [];
    const granted = waiting.slots.acquire(new AbortController().signal, (w) => seen.push(w));
    await until('the waiter to report its wait', () => seen.length > 0, 5000);
    expect(seen[0]).toMatchObject({ held: 2, max: 2, holders: ['held-1 on doomed', 'held-2 on doomed'] });
    // The agent stops renewing its lease (as if killed): its slots go with it.
    const started = performance.now();
    await dead.close(false);
    expect(await granted).toBe(true);
    expect(performance.now() - started).toBeLessThan(5000);
    expect((await readSlots(conn.ns)).get('pg')!.map((e) => [e.syncId, e.held])).toEqual([['waiting-1', true]]);

    // A sync without its lock takes no slot.
    const zombie = await syncOn(alive, 'zombie');
    zombie.dropFence();
    await expect(zombie.slots.acquire(new AbortController().signal, () => {})).rejects.toBeInstanceOf(FencedError);
    await waiting.slots.release();
  });
});
