import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freePort, tempDir } from '@idra/testkit';
import { startTestServer, type TestServer } from '../testing/harness.ts';

describe('data source tables', () => {
  let s: TestServer;
  let file: string;
  beforeAll(async () => {
    s = await startTestServer();
    file = join(await tempDir('idra-api-tables-'), 'shop.db');
    const db = new Database(file);
    db.exec('create table orders (id bigint primary key, customer text, total decimal text, updated_at timestamp text)');
    db.close();
    const created = await s.call('POST', '/api/v1/datasources', { token: s.tokens.operator, body: { id: 'shop', connector: 'sqlite', connection: { file } } });
    expect(created.status).toBe(201);
  });
  afterAll(async () => s.close());

  it('lists the tables of a stored data source with column types and primary keys', async () => {
    const r = await s.call('GET', '/api/v1/datasources/shop/tables', { token: s.tokens.operator });
    expect(r.status).toBe(200);
    expect(r.body).toEqual({
      ok: true,
      tables: [
        {
          name: 'orders',
          columns: [
            { name: 'id', type: 'int64', primaryKey: true },
            { name: 'customer', type: 'text', primaryKey: false },
            { name: 'total', type: 'decimal', primaryKey: false },
            { name: 'updated_at', type: 'timestamp', primaryKey: false },
          ],
        },
      ],
    });
  });

  it('test-connection errors hide the password but stay readable when it is short', async () => {
    const port = await freePort(); // nothing listens there
    const test = (password: string) =>
      s.call('POST', '/api/v1/datasources/test', {
        token: s.tokens.operator,
        body: { id: 'probe', connector: 'postgres', connection: { host: '127.0.0.1', port, user: 'u', password } },
      });
    const short = await test('e');
    expect(short.body.ok).toBe(false);
    expect(short.body.error).toMatch(/^could not reach 127\.0\.0\.1:\d+: no postgres server answered there/);
    expect(short.body.error).not.toContain('********');
    const quoted = await s.call('POST', '/api/v1/datasources/test', {
      token: s.tokens.operator,
      body: { id: 'probe', connector: 'postgres', connection: { url: `postgres://u:Long-Pa55-9d8c@127.0.0.1:${port}/db` } },
    });
    expect(quoted.text).not.toContain('Long-Pa55-9d8c');
  });

  it('refuses a PUT whose id is not the one in its path, like every PUT of the API (the field named)', async () => {
    const shop = { id: 'shop', connector: 'sqlite', connection: { file } };
    const moved = await s.call('PUT', '/api/v1/datasources/other', { token: s.tokens.operator, body: shop });
    expect(moved.status).toBe(400);
    expect(moved.body).toMatchObject({ code: 'IDRA_ERR_API_ID_MISMATCH', details: { issues: [{ path: 'id', message: 'differs from the id in the path' }] } });
    const channel = { id: 'team', name: 'Team', kind: 'webhook', url: 'https://hooks.example.com/x' };
    const renamed = await s.call('PUT', '/api/v1/notifications/channels/other', { token: s.tokens.admin, body: channel });
    expect(renamed.status).toBe(400);
    expect(renamed.body).toMatchObject({ code: 'IDRA_ERR_API_ID_MISMATCH' });
  });

  it('is for operators (viewers get 403) and answers 404 for an unknown data source', async () => {
    expect((await s.call('GET', '/api/v1/datasources/shop/tables', { token: s.tokens.viewer })).status).toBe(403);
    expect((await s.call('GET', '/api/v1/datasources/nope/tables', { token: s.tokens.operator })).status).toBe(404);
  });
});
