import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { KEYS } from '@idra/core';
import { sqliteSync, startTestServer, type TestServer } from '../testing/harness.ts';

describe('offsets: read, audited change on paused syncs only, history', () => {
  let s: TestServer;
  beforeAll(async () => {
    s = await startTestServer();
    await s.call('POST', '/api/v1/syncs', { token: s.tokens.operator, body: sqliteSync('orders') });
    await s.call('POST', '/api/v1/syncs', { token: s.tokens.operator, body: sqliteSync('dest-mode', { mode: 'destination-id', enabled: false }) });
  });
  afterAll(async () => s.close());

  const set = (token: string, body: unknown, id = 'orders') => s.call('PUT', `/api/v1/syncs/${id}/offset`, { token, body });

  it('refuses a change while the sync is enabled or its lock exists, and to anyone but admins', async () => {
    const { admin, operator } = s.tokens;
    expect((await s.call('GET', '/api/v1/syncs/orders/offset', { token: s.tokens.viewer })).body).toEqual({
      syncId: 'orders',
      offset: null,
      enabled: true,
      runningOn: null,
    });
    const enabled = await set(admin, { position: { kind: 'id', value: '10' }, reason: 'replay' });
    expect(enabled.status).toBe(409);
    expect(enabled.body.code).toBe('IDRA_ERR_OFFSET_SYNC_ENABLED');
    expect(enabled.body.message).toMatch(/pause it first/);

    await s.call('POST', '/api/v1/syncs/orders/pause', { token: operator });
    // An agent still holds the lock (finishing its batch).
    await s.app.idra.etcd.ns.put(KEYS.lock('orders')).value(JSON.stringify({ agentId: 'agent-7', at: new Date().toISOString() }));
    const running = await set(admin, { position: { kind: 'id', value: '10' }, reason: 'replay' });
    expect(running.status).toBe(409);
    expect(running.body).toMatchObject({ code: 'IDRA_ERR_OFFSET_SYNC_RUNNING', details: { agentId: 'agent-7' } });
    expect((await s.call('GET', '/api/v1/syncs/orders/offset', { token: admin })).body.runningOn).toBe('agent-7');
    await s.app.idra.etcd.ns.delete().key(KEYS.lock('orders')).exec();

    const byOperator = await set(operator, { position: { kind: 'id', value: '10' }, reason: 'replay' });
    expect(byOperator.status).toBe(403);
  });

  it('checks the body and the position kind', async () => {
    const { admin } = s.tokens;
    const noReason = await set(admin, { position: { kind: 'id', value: '10' } });
    expect(noReason.status).toBe(400);
    expect(noReason.body.details.issues[0].path).toBe('reason');
    // The position schema of core: an id may be an ObjectId (MongoDB), but nothing longer than a cursor value can be.
    const tooLong = await set(admin, { position: { kind: 'id', value: '1'.repeat(4097) }, reason: 'x y z' });
    expect(tooLong.status).toBe(400);
    const negativeRun = await set(admin, { position: { kind: 'full', value: { run: -1, after: null } }, reason: 'x y z' });
    expect(negativeRun.status).toBe(400);
    const wrongKind = await set(admin, { position: { kind: 'timestamp', value: '2024-01-01 00:00:00', tiebreaker: '1' }, reason: 'wrong kind' });
    expect(wrongKind.status).toBe(400);
    expect(wrongKind.body.details.issues[0].path).toBe('position.kind');
    expect((await set(admin, { position: null, reason: 'no offset here' }, 'dest-mode')).body.code).toBe('IDRA_ERR_OFFSET_NOT_STORED');
    expect((await set(admin, { position: null, reason: 'missing' }, 'missing')).status).toBe(404);
  });

  it('changes the offset of a paused, stopped sync and records who, when, old, new and why', async () => {
    const { admin, viewer } = s.tokens;
    const first = await set(admin, { position: { kind: 'id', value: '9007199254740993' }, reason: 'skip the broken range' });
    expect(first.status).toBe(200);
    expect(first.body.offset).toMatchObject({ kind: 'id', value: '9007199254740993', agentId: 'manual:admin' });
    expect((await set(admin, { position: null, reason: 'start over' })).status).toBe(200);
    expect((await s.call('GET', '/api/v1/syncs/orders/offset', { token: viewer })).body.offset).toBeNull();
    const history = (await s.call('GET', '/api/v1/syncs/orders/offset/history', { token: viewer })).body;
    expect(history).toHaveLength(2);
    expect(history[0]).toMatchObject({ by: 'admin', reason: 'skip the broken range', old: null, new: { kind: 'id', value: '9007199254740993' } });
    expect(history[1]).toMatchObject({ by: 'admin', reason: 'start over', old: { kind: 'id', value: '9007199254740993' }, new: null });
    expect(Date.parse(history[0].at)).toBeGreaterThan(Date.now() - 60_000);
  });
});
