import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { tempDir } from '@idra/testkit';
import { StatusStore } from '@idra/core';
import { asSyncOwner, startTestServer, type TestServer } from '../testing/harness.ts';

describe('rejected rows retried through the destination (real SQLite)', () => {
  let s: TestServer;
  beforeAll(async () => {
    s = await startTestServer();
  });
  afterAll(async () => s.close());

  it('writes the rows that go in now, keeps the refused ones with their new error; viewers cannot', async () => {
    const dir = await tempDir('idra-dead-letters-');
    const dst = new Database(join(dir, 'dst.db'));
    dst.exec('create table orders (id integer primary key, amount real not null)');
    const sync = {
      id: 'orders',
      source: { connector: 'sqlite', connection: { file: join(dir, 'src.db') }, table: 'orders' },
      destination: { connector: 'sqlite', connection: { file: join(dir, 'dst.db') }, table: 'orders' },
      mode: 'id',
      cursorColumn: 'id',
      keyColumns: ['id'],
      onError: 'skip',
    };
    expect((await s.call('POST', '/api/v1/syncs', { token: s.tokens.operator, body: sync })).status).toBe(201);
    const statuses = new StatusStore(s.app.idra.etcd.ns);
    const at = new Date().toISOString();
    await asSyncOwner(s.app.idra.etcd.ns, 'orders', 'a1', (fence) =>
      statuses.recordDeadLetters(
        'orders',
        [
          { at, syncId: 'orders', row: { id: '5', amount: null }, error: 'NOT NULL constraint failed: orders.amount' },
          { at, syncId: 'orders', row: { id: '6', amount: '2.5' }, error: 'no such table: orders' },
        ],
        fence,
      ),
    );
    const listed = (await s.call('GET', '/api/v1/syncs/orders/errors', { token: s.tokens.viewer })).body as Array<{ id: string; row: { id: string } }>;
    const ids = listed.map((l) => l.id);
    expect((await s.call('POST', '/api/v1/syncs/orders/errors/retry', { token: s.tokens.viewer, body: { ids } })).status).toBe(403);
    const r = await s.call('POST', '/api/v1/syncs/orders/errors/retry', { token: s.tokens.operator, body: { ids } });
    expect(r.status, r.text).toBe(200);
    const five = listed.find((l) => l.row.id === '5')!.id;
    const six = listed.find((l) => l.row.id === '6')!.id;
    expect(r.body).toEqual({ written: [six], rejected: [{ id: five, error: expect.stringMatching(/NOT NULL constraint failed: orders\.amount/) }] });
    expect(dst.prepare('select id, amount from orders').all()).toEqual([{ id: 6, amount: 2.5 }]);
    const left = (await s.call('GET', '/api/v1/syncs/orders/errors', { token: s.tokens.viewer })).body as Array<{ id: string }>;
    expect(left.map((l) => l.id)).toEqual([five]);
    expect((await s.call('POST', '/api/v1/syncs/orders/errors/retry', { token: s.tokens.operator, body: { ids: ['nope'] } })).status).toBe(400);
  });
});
