import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { HistoryStore } from '@idra/core';
import { startTestServer, type TestServer } from '../testing/harness.ts';

const PASSWORD = 'History-Pa55-0001';
const NEW_PASSWORD = 'History-Pa55-0002';

const pgSync = (id: string, extra: Record<string, unknown> = {}) => ({
  id,
  source: { connector: 'postgres', connection: { host: 'db.internal', user: 'idra', password: PASSWORD, database: 'shop' }, table: 'orders' },
  destination: { connector: 'postgres', connection: { host: 'dw.internal', database: 'dw' }, table: 'orders' },
  mode: 'id',
  cursorColumn: 'id',
  keyColumns: ['id'],
  ...extra,
});

describe('sync history and the offset-compatibility guard through the API', () => {
  let s: TestServer;
  let admin: string, operator: string, viewer: string;
  beforeAll(async () => {
    s = await startTestServer();
    ({ admin, operator, viewer } = s.tokens);
  });
  afterAll(async () => s.close());

  it('records every create, update, pause, resume and delete of a sync: who, when, the diff with secrets masked, the reason', async () => {
    expect((await s.call('POST', '/api/v1/syncs?reason=new%20feed', { token: operator, body: pgSync('h1') })).status).toBe(201);
    expect((await s.call('PUT', '/api/v1/syncs/h1?reason=bigger%20batches', { token: operator, body: pgSync('h1', { batchSize: 500 }) })).status).toBe(200);
    const withNewPassword = pgSync('h1', { batchSize: 500 });
    withNewPassword.source.connection.password = NEW_PASSWORD;
    expect((await s.call('PUT', '/api/v1/syncs/h1', { token: operator, body: withNewPassword })).status).toBe(200);
    expect((await s.call('POST', '/api/v1/syncs/h1/pause?reason=maintenance', { token: operator, body: {} })).status).toBe(200);
    expect((await s.call('POST', '/api/v1/syncs/h1/resume', { token: admin, body: {} })).status).toBe(200);
    expect((await s.call('DELETE', '/api/v1/syncs/h1?reason=retired', { token: operator })).status).toBe(204);

    const h = await s.call('GET', '/api/v1/syncs/h1/history', { token: viewer });
    expect(h.status).toBe(200);
    expect(h.body.map((e: { action: string }) => e.action)).toEqual(['deleted', 'resumed', 'paused', 'updated', 'updated', 'created']);
    const [deleted, resumed, paused, password, batch, created] = h.body;
    expect(created).toMatchObject({ by: 'ops', reason: 'new feed', kind: 'sync', objectId: 'h1' });
    expect(created.changes).toEqual(
      expect.arrayContaining([
        { path: 'source.table', new: 'orders' },
        { path: 'source.connection.password', new: '********' },
      ]),
    );
    expect(batch).toMatchObject({ reason: 'bigger batches', changes: [{ path: 'batchSize', new: 500 }] });
    expect(password.changes).toEqual([{ path: 'source.connection.password', old: '********', new: '********' }]);
    expect(paused).toMatchObject({ by: 'ops', reason: 'maintenance', changes: [{ path: 'enabled', new: false }] });
    expect(resumed).toMatchObject({ by: 'admin', changes: [{ path: 'enabled', old: false, new: true }] });
    expect(deleted).toMatchObject({ reason: 'retired', changes: expect.arrayContaining([{ path: 'cursorColumn', old: 'id' }]) });
    expect(Date.parse(deleted.at)).toBeGreaterThanOrEqual(Date.parse(created.at));
    expect(h.text).not.toContain(PASSWORD);
    expect(h.text).not.toContain(NEW_PASSWORD);
  });

  it('records data source changes too, and keeps each history bounded', async () => {
    await s.call('POST', '/api/v1/datasources?reason=warehouse', {
      token: operator,
      body: { id: 'dw', connector: 'postgres', connection: { host: 'dw.internal', password: PASSWORD } },
    });
    await s.call('PUT', '/api/v1/datasources/dw', {
      token: operator,
      body: { id: 'dw', connector: 'postgres', connection: { host: 'dw2.internal', password: PASSWORD } },
    }); // moving the host needs the password again
    const h = await s.call('GET', '/api/v1/datasources/dw/history', { token: viewer });
    expect(h.body).toMatchObject([
      { action: 'updated', changes: [{ path: 'connection.host', old: 'dw.internal', new: 'dw2.internal' }] },
      { action: 'created', reason: 'warehouse' },
    ]);

    const store = new HistoryStore(s.app.idra.etcd.ns, 3);
    for (let i = 0; i < 5; i++) {
      const { key, value } = store.entry(
        { kind: 'sync', objectId: 'bounded', action: 'updated', by: 'test', changes: [{ path: 'batchSize', new: i }] },
        new Date(Date.UTC(2025, 0, 1, 0, 0, i)),
      );
      await s.app.idra.etcd.ns.put(key).value(value);
    }
    await store.trim('sync', 'bounded');
    expect((await store.list('sync', 'bounded')).map((e) => e.changes[0]!.new)).toEqual([4, 3, 2]);
  });

  it('a change that moves what a stored offset points into needs reset or keep (typed), by an admin, on a paused sync; it is recorded', async () => {
    expect((await s.call('POST', '/api/v1/syncs', { token: operator, body: pgSync('g1') })).status).toBe(201);
    await s.call('POST', '/api/v1/syncs/g1/pause', { token: operator, body: {} });
    expect((await s.call('PUT', '/api/v1/syncs/g1/offset', { token: admin, body: { position: { kind: 'id', value: '250' }, reason: 'replay' } })).status).toBe(
      200,
    );
    await s.call('POST', '/api/v1/syncs/g1/resume', { token: operator, body: {} });

    // What leaves the offset's meaning alone needs nothing.
    expect((await s.call('PUT', '/api/v1/syncs/g1', { token: operator, body: pgSync('g1', { batchSize: 50 }) })).status).toBe(200);
    const moved = pgSync('g1', { batchSize: 50, cursorColumn: 'order_no' });
    const conflict = await s.call('PUT', '/api/v1/syncs/g1', { token: operator, body: moved });
    expect(conflict.status).toBe(409);
    expect(conflict.body).toMatchObject({
      code: 'IDRA_ERR_OFFSET_SCOPE_CHANGED',
      details: { changes: [{ field: 'cursorColumn', old: 'id', new: 'order_no' }], offset: { kind: 'id', value: '250' } },
    });
    expect((await s.call('PUT', '/api/v1/syncs/g1?offset=keep&confirm=g1', { token: operator, body: moved })).status).toBe(403);
    expect((await s.call('PUT', '/api/v1/syncs/g1?offset=keep&confirm=g2', { token: admin, body: moved })).body.code).toBe('IDRA_ERR_OFFSET_CONFIRM');
    expect((await s.call('PUT', '/api/v1/syncs/g1?offset=keep&confirm=g1', { token: admin, body: moved })).body.code).toBe('IDRA_ERR_OFFSET_SYNC_ENABLED');
    await s.call('POST', '/api/v1/syncs/g1/pause', { token: operator, body: {} });
    const kept = await s.call('PUT', '/api/v1/syncs/g1?offset=keep&confirm=g1&reason=column%20renamed', { token: admin, body: { ...moved, enabled: false } });
    expect(kept.status).toBe(200);
    const offset = (await s.call('GET', '/api/v1/syncs/g1/offset', { token: viewer })).body.offset;
    expect(offset).toMatchObject({ kind: 'id', value: '250', scope: { cursorColumn: 'order_no', source: 'postgres db.internal/shop table orders' } });
    const offsetHistory = (await s.call('GET', '/api/v1/syncs/g1/offset/history', { token: viewer })).body;
    expect(offsetHistory.at(-1)).toMatchObject({ by: 'admin', reason: "kept on a change of cursorColumn 'id' → 'order_no': column renamed" });
    const [update] = (await s.call('GET', '/api/v1/syncs/g1/history', { token: viewer })).body;
    expect(update).toMatchObject({ action: 'updated', reason: 'column renamed', offset: { decision: 'keep', changes: [{ field: 'cursorColumn' }] } });

    // An import does not move it either: the change is made on the sync, with the choice.
    const imported = await s.call('POST', '/api/v1/import?overwrite=true', { token: admin, body: [{ ...moved, enabled: false, cursorColumn: 'id' }] });
    expect(imported.status).toBe(409);
    expect(imported.body).toMatchObject({
      code: 'IDRA_ERR_OFFSET_SCOPE_CHANGED',
      details: { changes: [{ field: 'cursorColumn', old: 'order_no', new: 'id' }] },
    });
    expect(
      (await s.call('POST', '/api/v1/import?overwrite=true&reason=batch%20size', { token: admin, body: [{ ...moved, enabled: false, batchSize: 60 }] })).status,
    ).toBe(200);
    expect((await s.call('GET', '/api/v1/syncs/g1/history', { token: viewer })).body[0]).toMatchObject({
      action: 'updated',
      via: 'import',
      reason: 'batch size',
      changes: [{ path: 'batchSize', old: 50, new: 60 }],
    });

    // Another table: reset.
    const otherTable = { ...moved, enabled: false, source: { ...moved.source, table: 'orders_v2' } };
    expect((await s.call('PUT', '/api/v1/syncs/g1', { token: admin, body: otherTable })).body.details.changes).toEqual([
      { field: 'source', old: 'postgres db.internal/shop table orders', new: 'postgres db.internal/shop table orders_v2' },
    ]);
    expect((await s.call('PUT', '/api/v1/syncs/g1?offset=reset', { token: admin, body: otherTable })).status).toBe(200);
    expect((await s.call('GET', '/api/v1/syncs/g1/offset', { token: viewer })).body.offset).toBeNull();
  });

  it('a data source moved to another server asks the same for the offsets of the syncs reading it', async () => {
    await s.call('POST', '/api/v1/datasources', {
      token: operator,
      body: { id: 'shop', connector: 'postgres', connection: { host: 'db-a', database: 'shop' } },
    });
    const sync = { ...pgSync('reader'), enabled: false, source: { connector: 'postgres', dataSourceId: 'shop', table: 'orders' } };
    await s.call('POST', '/api/v1/syncs', { token: operator, body: sync });
    await s.call('PUT', '/api/v1/syncs/reader/offset', { token: admin, body: { position: { kind: 'id', value: '9' }, reason: 'start' } });
    const moved = { id: 'shop', connector: 'postgres', connection: { host: 'db-b', database: 'shop' } };
    const conflict = await s.call('PUT', '/api/v1/datasources/shop', { token: operator, body: moved });
    expect(conflict.status).toBe(409);
    expect(conflict.body.details.changes).toEqual([{ field: 'source', old: 'postgres db-a/shop table orders', new: 'postgres db-b/shop table orders' }]);
    expect((await s.call('PUT', '/api/v1/datasources/shop?offset=keep&confirm=shop', { token: admin, body: moved })).status).toBe(200);
    expect((await s.call('GET', '/api/v1/syncs/reader/offset', { token: viewer })).body.offset).toMatchObject({
      value: '9',
      scope: { source: 'postgres db-b/shop table orders' },
    });
  });
});
