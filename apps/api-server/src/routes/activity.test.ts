import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { KEYS, StatusStore, newSyncStatus, type SyncStatus } from '@idra/core';
import { asSyncOwner, sqliteSync, startTestServer, type TestServer } from '../testing/harness.ts';

describe('health, history, timeline and Retry now through the API', () => {
  let s: TestServer;
  beforeAll(async () => {
    s = await startTestServer();
  });
  afterAll(async () => s.close());

  it('derives health in the overview: far behind is lagging, a missing table failed with attempts, problems carry their reason', async () => {
    const { operator, viewer } = s.tokens;
    for (const id of ['behind', 'broken', 'fine'])
      expect(
        (await s.call('POST', '/api/v1/syncs', { token: operator, body: sqliteSync(id, id === 'fine' ? { lagThreshold: { rows: 500 } } : {}) })).status,
      ).toBe(201);
    for (const id of ['behind', 'broken', 'fine']) await s.app.idra.etcd.ns.put(KEYS.assignment(id)).value(JSON.stringify({ agentId: 'a1', epoch: 1 }));
    const { ns } = s.app.idra.etcd;
    const statuses = new StatusStore(ns);
    const report = (status: SyncStatus) => asSyncOwner(ns, status.syncId, 'a1', (fence) => statuses.put(status, fence));
    await report(newSyncStatus('behind', 'a1', { state: 'running', lag: { rows: 113_500 } }));
    await report(newSyncStatus('fine', 'a1', { state: 'idle', lag: { rows: 400 } }));
    await report(
      newSyncStatus('broken', 'a1', {
        state: 'failed',
        attempts: 3,
        failingSince: '2026-01-01T00:00:00.000Z',
        lastError: { message: 'no such table: missing_table', code: 'IDRA_ERR_CONNECTOR', at: '2026-01-01T00:02:00.000Z' },
      }),
    );
    const overview = (await s.call('GET', '/api/v1/overview', { token: viewer })).body as Array<{ id: string; health: unknown }>;
    const health = Object.fromEntries(overview.map((o) => [o.id, o.health]));
    expect(health.behind).toEqual({ health: 'lagging', reason: '113,500 rows behind (threshold 10,000)' });
    expect(health.fine).toMatchObject({ health: 'healthy' });
    expect(health.broken).toMatchObject({ health: 'failed', attempts: 3, failingSince: '2026-01-01T00:00:00.000Z', reason: 'no such table: missing_table' });
  });

  it('asks the agent for an attempt now through etcd, and records who asked', async () => {
    const { operator, viewer } = s.tokens;
    expect((await s.call('POST', '/api/v1/syncs/broken/retry', { token: viewer })).status).toBe(403);
    const r = await s.call('POST', '/api/v1/syncs/broken/retry', { token: operator });
    expect(r.status).toBe(202);
    expect(JSON.parse((await s.app.idra.etcd.ns.get(KEYS.retry('broken')).string())!)).toMatchObject({ by: 'ops' });
    expect((await s.call('POST', '/api/v1/syncs/nope/retry', { token: operator })).status).toBe(404);
    await s.call('POST', '/api/v1/syncs/fine/pause', { token: operator });
    expect((await s.call('POST', '/api/v1/syncs/fine/retry', { token: operator })).body.code).toBe('IDRA_ERR_SYNC_PAUSED');
  });

  it('serves per-minute history in ranges and a timeline merging agents, operators and offset edits, newest first', async () => {
    const { admin, viewer } = s.tokens;
    const now = Date.now();
    const minute = (ago: number) => new Date(Math.floor((now - ago * 60_000) / 60_000) * 60_000).toISOString();
    const { activity } = s.app.idra;
    await activity.writePoint('fine', { t: minute(200), rows: 1, skipped: 0, batches: 1, errors: 0, state: 'running', agentId: 'a1' });
    await activity.writePoint('fine', { t: minute(3), rows: 700, skipped: 0, batches: 7, errors: 0, lagRows: 10, state: 'running', agentId: 'a1' });
    // A handoff inside one minute: both agents' counts add up.
    await activity.writePoint('fine', { t: minute(3), rows: 50, skipped: 1, batches: 1, errors: 1, lagRows: 0, state: 'idle', agentId: 'a2' });
    const hour = (await s.call('GET', '/api/v1/syncs/fine/activity', { token: viewer })).body;
    expect(hour.range).toBe('1h');
    expect(hour.points).toEqual([{ t: minute(3), rows: 750, skipped: 1, batches: 8, errors: 1, lagRows: 0, state: 'idle', agentId: 'a2' }]);
    expect((await s.call('GET', '/api/v1/syncs/fine/activity?range=6h', { token: viewer })).body.points).toHaveLength(2);
    expect((await s.call('GET', '/api/v1/syncs/fine/activity?range=2d', { token: viewer })).status).toBe(400);

    await activity.addEvent('fine', { at: new Date(now - 5000).toISOString(), kind: 'handoff', text: 'moved from agent a1 to agent a2', agentId: 'a2' });
    await s.call('PUT', '/api/v1/syncs/fine/offset', { token: admin, body: { position: { kind: 'id', value: '42' }, reason: 'replay from 42' } });
    const timeline = (await s.call('GET', '/api/v1/syncs/fine/timeline', { token: viewer })).body as Array<{
      at: string;
      kind: string;
      by?: string;
      text: string;
    }>;
    expect(timeline.map((e) => e.kind).sort()).toEqual(['config', 'handoff', 'offset', 'paused']);
    expect(timeline.map((e) => e.at)).toEqual(
      timeline
        .map((e) => e.at)
        .sort()
        .reverse(),
    );
    expect(timeline.find((e) => e.kind === 'config')).toMatchObject({ by: 'ops', text: 'created' });
    expect(timeline[0]).toMatchObject({ by: 'admin', text: 'offset changed from the beginning to "42": replay from 42' });
    expect(timeline.find((e) => e.kind === 'paused')).toMatchObject({ by: 'ops' });
  });
});
