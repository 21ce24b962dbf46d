import { mkdir, symlink } from 'node:fs/promises';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { tempDir } from '@idra/testkit';
import { startTestServer, type TestServer } from './testing/harness.ts';

describe('the API opens SQLite files only under IDRA_SQLITE_ROOTS (test connection, table listing)', () => {
  let s: TestServer;
  let allowed: string;
  let outside: string;
  beforeAll(async () => {
    allowed = await tempDir('idra-api-roots-');
    outside = join(await tempDir('idra-api-outside-'), 'host.db');
    const db = new Database(outside);
    db.exec('create table payroll (id integer primary key, ssn text)');
    db.close();
    await mkdir(join(allowed, 'data'));
    await symlink(outside, join(allowed, 'data', 'innocent.db'));
    const inside = new Database(join(allowed, 'data', 'shop.db'));
    inside.exec('create table orders (id integer primary key)');
    inside.close();
    s = await startTestServer({ sqliteRoots: [join(allowed, 'data')] });
  });
  afterAll(async () => s.close());

  const op = () => s.tokens.operator;

  it('lists the tables of a file inside the roots', async () => {
    await s.call('POST', '/api/v1/datasources', {
      token: op(),
      body: { id: 'shop', connector: 'sqlite', connection: { file: join(allowed, 'data', 'shop.db') } },
    });
    const r = await s.call('GET', '/api/v1/datasources/shop/tables', { token: op() });
    expect(r.body.tables.map((t: { name: string }) => t.name)).toEqual(['orders']);
  });

  it.each([
    ['a file elsewhere on the host', () => outside],
    ['a symlink inside the roots to a file elsewhere', () => join(allowed, 'data', 'innocent.db')],
    ['a path climbing out with ..', () => join(allowed, 'data', '..', '..', outside.split('/').slice(-2).join('/'))],
  ])('refuses %s: no table is listed, the answer names the field', async (_what, file) => {
    const id = `ds-${Math.random().toString(36).slice(2, 8)}`;
    expect((await s.call('POST', '/api/v1/datasources', { token: op(), body: { id, connector: 'sqlite', connection: { file: file() } } })).status).toBe(201);
    const tables = await s.call('GET', `/api/v1/datasources/${id}/tables`, { token: op() });
    expect(tables.body).toMatchObject({ ok: false, tables: [] });
    expect(tables.body.error).toMatch(/connection\.file: '.*' is outside the directories SQLite files may be in/);
    const test = await s.call('POST', '/api/v1/datasources/test', { token: op(), body: { id: 'probe', connector: 'sqlite', connection: { file: file() } } });
    expect(test.body.ok).toBe(false);
    expect(JSON.stringify([tables.body, test.body])).not.toContain('payroll');
  });
});
