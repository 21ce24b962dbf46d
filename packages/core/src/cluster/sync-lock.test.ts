import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { etcdMetric, startEtcd, until, type EtcdServer } from '@idra/testkit';
import { connectEtcd, type EtcdConnection } from './etcd-client.ts';
import { SyncLock } from './sync-lock.ts';

// An etcd of its own: its count of Raft proposals is this file's alone.
describe('SyncLock', () => {
  let etcd: EtcdServer;
  let conn: EtcdConnection;

  beforeAll(async () => {
    etcd = await startEtcd();
    conn = connectEtcd({ endpoints: etcd.endpoints, prefix: '/lock-test/' });
  });
  afterAll(async () => {
    conn?.close();
    await etcd?.stop();
  });

  const proposals = () => etcdMetric(etcd.endpoints[0]!, 'etcd_server_proposals_committed_total');

  it('waits for a held lock with reads, not transactions (each a Raft proposal), and takes it once it is free', async () => {
    const lease = conn.client.lease(30, { autoKeepAlive: true });
    const leaseId = await lease.grant();
    const held = (await SyncLock.acquire(conn.ns, 's1', { agentId: 'a', leaseId }, new AbortController().signal))!;
    const before = await proposals();
    // 20 syncs waiting for 1 s, polling every 50 ms: 400 failed transactions before.
    const ctl = new AbortController();
    const waiting = Array.from({ length: 20 }, () => SyncLock.acquire(conn.ns, 's1', { agentId: 'b', leaseId }, ctl.signal, 50));
    await new Promise((r) => setTimeout(r, 1000));
    // The lease keeps itself alive meanwhile: a few proposals are etcd's own.
    expect((await proposals()) - before).toBeLessThan(20);
    ctl.abort();
    expect(await Promise.all(waiting)).toEqual(Array.from({ length: 20 }, () => undefined));
    await held.release();
    const taken = await until('the free lock taken', () => SyncLock.acquire(conn.ns, 's1', { agentId: 'b', leaseId }, new AbortController().signal, 50));
    expect(BigInt(taken.fence.createRevision)).toBeGreaterThan(BigInt(held.fence.createRevision));
    await lease.revoke();
  });
});
