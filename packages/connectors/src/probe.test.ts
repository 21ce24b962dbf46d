import { join } from 'node:path';
import Database from 'better-sqlite3';
import { describe, expect, inject, it } from 'vitest';
import { freePort, tempDir } from '@idra/testkit';
import { discover, testConnection } from './probe.ts';
import { DDL, TEST_DIALECTS, createTestDb } from './testing/fixtures.ts';

describe('testConnection', () => {
  it('connects to an existing SQLite file and refuses to create a missing one', async () => {
    const dir = await tempDir('test-connection');
    const file = join(dir, 'ok.db');
    new Database(file).close();
    expect(await testConnection('sqlite', { file })).toMatchObject({ ok: true, connector: 'sqlite' });
    const missing = await testConnection('sqlite', { file: join(dir, 'missing.db') });
    expect(missing.ok).toBe(false);
    expect(missing.error).toMatch(/not exist|unable to open|SQLITE_CANTOPEN/i);
  });

  it('runs select 1 on PostgreSQL and reports a refused login without repeating its password', async () => {
    const url = new URL(inject('pgUrl'));
    expect(await testConnection('postgres', { url: url.toString() })).toMatchObject({ ok: true });
    url.username = 'no_such_role';
    url.password = 'Wr0ng-Secret-Xyz';
    const bad = await testConnection('postgres', { url: url.toString() });
    expect(bad.ok).toBe(false);
    expect(bad.error).toMatch(/no_such_role|password|authentication/i);
    expect(bad.error).not.toContain('Wr0ng-Secret-Xyz');
  });

  it('reports an unreachable server within the timeout', async () => {
    const port = await freePort();
    const res = await testConnection('postgres', { host: '127.0.0.1', port, user: 'x', password: 'p4ssw0rd-zz', database: 'x' }, { timeoutMs: 3000 });
    expect(res.ok).toBe(false);
    expect(res.error).toMatch(/ECONNREFUSED|connect/i);
    expect(res.error).not.toContain('p4ssw0rd-zz');
  });

});

describe('discover', () => {
  for (const name of TEST_DIALECTS) {
    it(`lists ${name} tables and views with column types and primary keys`, async () => {
      const db = await createTestDb(name);
      try {
        const D = DDL[name];
        await db.exec(`create table orders (id ${D.bigint} not null, line ${D.bigint} not null, amount ${D.decimal}, at ${D.ts}, note ${D.text}, primary key (id, line))`);
        await db.exec('create view big_orders as select id, amount from orders');
        const listing = await discover(name, db.connection);
        expect(listing.ok).toBe(true);
        const orders = listing.tables.find((t) => t.name === 'orders');
        expect(orders?.columns).toEqual([
          { name: 'id', type: 'int64', primaryKey: true },
          { name: 'line', type: 'int64', primaryKey: true },
          { name: 'amount', type: 'decimal', primaryKey: false },
          { name: 'at', type: 'timestamp', primaryKey: false },
          { name: 'note', type: 'text', primaryKey: false },
        ]);
        expect(listing.tables.find((t) => t.name === 'big_orders')?.columns.map((c) => c.name)).toEqual(['id', 'amount']);
        expect(listing.tables.every((t) => !/^(pg_|sqlite_)/.test(t.name) && t.schema !== 'information_schema')).toBe(true);
      } finally {
        await db.drop();
      }
    });
  }

  it('reports an unreachable server as an error, not an exception', async () => {
    const listing = await discover('postgres', { url: `postgres://idra:pw@127.0.0.1:${await freePort()}/x` }, { timeoutMs: 3000 });
    expect(listing).toMatchObject({ ok: false, tables: [] });
    expect(listing.error).toMatch(/ECONNREFUSED/);
  });
});
