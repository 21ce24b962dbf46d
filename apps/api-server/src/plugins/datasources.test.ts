import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { tempDir } from '@idra/testkit';
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

  it('is for operators (viewers get 403) and answers 404 for an unknown data source', async () => {
    expect((await s.call('GET', '/api/v1/datasources/shop/tables', { token: s.tokens.viewer })).status).toBe(403);
    expect((await s.call('GET', '/api/v1/datasources/nope/tables', { token: s.tokens.operator })).status).toBe(404);
  });
});
