import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import pino from 'pino';
import { KEYS, connectEtcd, type EtcdConnection } from '@idra/core';
import { etcdMetric, startEtcd, until, type EtcdServer } from '@idra/testkit';
import type { ClusterEvent } from '@idra/api-client';
import { ClusterEventHub } from './events-hub.ts';

// An etcd of its own: its count of open watchers is this file's alone.
describe('ClusterEventHub', () => {
  let etcd: EtcdServer;
  let conn: EtcdConnection;

  beforeAll(async () => {
    etcd = await startEtcd();
    conn = connectEtcd({ endpoints: etcd.endpoints, prefix: '/hub-test/' });
  });
  afterAll(async () => {
    conn?.close();
    await etcd?.stop();
  });

  const watchers = () => etcdMetric(etcd.endpoints[0]!, 'etcd_debugging_mvcc_watcher_total');

  it('hands a burst of changes to a subscriber in a few batches, each key with its latest change only', async () => {
    const hub = new ClusterEventHub(conn.ns, pino({ level: 'silent' }), 300);
    const batches: ClusterEvent[][] = [];
    const unsubscribe = await hub.subscribe((b) => batches.push(b));
    const started = Date.now();
    // 100 syncs × 3 statuses each, as fast as etcd takes them.
    for (let round = 1; round <= 3; round++)
      await Promise.all(Array.from({ length: 100 }, (_, i) => conn.ns.put(KEYS.status(`s${i}`)).value(JSON.stringify({ round }))));
    const latest = new Map<string, unknown>();
    await until('every sync in its last round', () => {
      for (const e of batches.flat()) latest.set(e.id, e.value);
      return latest.size === 100 && [...latest.values()].every((v) => (v as { round: number }).round === 3);
    });
    const elapsed = Date.now() - started;
    unsubscribe();
    await hub.close();
    // One batch per 300 ms at most (and the one in flight), whatever the number of changes.
    expect(batches.length).toBeLessThanOrEqual(Math.ceil(elapsed / 300) + 1);
    for (const b of batches) expect(new Set(b.map((e) => e.id)).size).toBe(b.length);
    expect(batches.flat().length).toBeLessThan(300);
  });

  it('watches etcd only while someone follows: the last subscriber to leave takes the watches with it', async () => {
    const hub = new ClusterEventHub(conn.ns, pino({ level: 'silent' }), 50);
    // The test before cancelled its watches as it closed: etcd counts them out shortly after.
    const idle = await until('no watch left', async () => ((await watchers()) === 0 ? 0 : undefined), 10_000);
    const first = await hub.subscribe(() => {});
    const got: ClusterEvent[] = [];
    const second = await hub.subscribe((b) => got.push(...b));
    const following = await until('the hub to watch', async () => ((await watchers()) > idle ? watchers() : undefined), 10_000);
    first();
    first(); // a second call of the same unsubscribe changes nothing
    expect(await watchers()).toBe(following);
    await conn.ns.put(KEYS.agent('a1')).value('{}');
    await until('the remaining subscriber to get the change', () => got.some((e) => e.kind === 'agent' && e.id === 'a1'));
    second();
    await until('the watches to be cancelled', async () => (await watchers()) === idle, 10_000);
    // A new subscriber starts them again.
    const again: ClusterEvent[] = [];
    const third = await hub.subscribe((b) => again.push(...b));
    await conn.ns.put(KEYS.agent('a2')).value('{}');
    await until('a subscriber after the release to get changes', () => again.some((e) => e.id === 'a2'));
    third();
    await hub.close();
    await until('no watch left after close', async () => (await watchers()) === idle, 10_000);
  });
});
