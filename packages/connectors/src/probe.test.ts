import { join } from 'node:path';
import Database from 'better-sqlite3';
import { describe, expect, inject, it } from 'vitest';
import { freePort, tempDir } from '@idra/testkit';
import pg from 'pg';
import { checkSource, discover, testConnection } from './probe.ts';
import { DDL, TEST_DIALECTS, createTestDb, makeSync, restrictedUser } from './testing/fixtures.ts';

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
    // One wording for refused, reset and silent ports (no port scanning through test connections).
    expect(res.error).toBe(`could not reach 127.0.0.1:${port}: no postgres server answered there (refused, reset, timed out or another protocol)`);
    expect(res.error).not.toContain('p4ssw0rd-zz');
  });
});

describe('discover', () => {
  for (const name of TEST_DIALECTS) {
    it(`lists ${name} tables and views with column types and primary keys`, async () => {
      const db = await createTestDb(name);
      try {
        const D = DDL[name];
        await db.exec(
          `create table orders (id ${D.bigint} not null, line ${D.bigint} not null, amount ${D.decimal}, at ${D.ts}, note ${D.text}, primary key (id, line))`,
        );
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
    expect(listing.error).toMatch(/^could not reach 127\.0\.0\.1:\d+: no postgres server answered there/);
  });
});

describe("what a source user can see of other sessions' transactions (Test connection, the sync form's check)", () => {
  it('SQLite and a PostgreSQL superuser see them', async () => {
    const dir = await tempDir('test-connection');
    const file = join(dir, 'ok.db');
    new Database(file).close();
    expect((await testConnection('sqlite', { file })).transactions).toEqual({ visible: true });
    expect((await testConnection('postgres', { url: inject('pgUrl') })).transactions).toEqual({ visible: true });
  });

  for (const name of ['postgres', 'mysql'] as const) {
    it(`${name}: Test connection names the privilege the user lacks and the statement to run, until it is granted`, async () => {
      const db = await createTestDb(name);
      try {
        await db.exec(`create table src (id bigint primary key, ts ${DDL[name].ts} not null)`);
        const user = await restrictedUser(db, name);
        try {
          const before = await testConnection(name, { url: user.url });
          expect(before).toMatchObject({ ok: true, transactions: { visible: false, grant: user.grantStatement } });
          expect(before.transactions?.reason).toMatch(
            name === 'postgres'
              ? /^(the transactions of \d+ session\(s\) of other roles cannot be seen|this user cannot see other users' open transactions)$/
              : /needs the PROCESS privilege/,
          );
          await user.grant();
          expect((await testConnection(name, { url: user.url })).transactions).toEqual({ visible: true });
        } finally {
          await user.drop();
        }
      } finally {
        await db.drop();
      }
    });
  }

  it('postgres: the sync check refuses an id/timestamp sync its agent would refuse, says what to run, and passes one that accepts the delay', async () => {
    const db = await createTestDb('postgres');
    // A session of another role, connected for the whole test.
    const other = new pg.Client({ connectionString: db.connection.url });
    await other.connect();
    try {
      await db.exec('create table src (id bigint primary key, ts timestamp(6) not null)');
      const user = await restrictedUser(db, 'postgres');
      try {
        const sync = (overrides: Parameters<typeof makeSync>[2]) => {
          const s = makeSync(db, db, { mode: 'timestamp', cursorColumn: 'ts', tiebreakerColumn: 'id', keyColumns: ['id'], ...overrides });
          return { ...s, source: { ...s.source, connection: { url: user.url } } };
        };
        const refused = await checkSource(sync({}));
        expect(refused).toMatchObject({
          ok: false,
          problem: { code: 'IDRA_ERR_CONFIG_WATERMARK_BLIND' },
          transactions: { visible: false, grant: user.grantStatement },
        });
        expect(refused.problem?.message).toMatch(
          new RegExp(`^postgres source: the transactions of \\d+ session\\(s\\) of other roles cannot be seen, .*: run ${user.grantStatement} on the source`),
        );
        const delayed = await checkSource(sync({ delayMs: 2000 }));
        expect([delayed.ok, delayed.problem]).toEqual([true, undefined]);
        expect(delayed.warning).toMatch(/only delayMs \(2000 ms\) protects rows committed late$/);
        const full = await checkSource(sync({ mode: 'full', cursorColumn: undefined, tiebreakerColumn: undefined }));
        expect([full.ok, full.problem, full.warning]).toEqual([true, undefined, undefined]);
        await user.grant();
        expect(await checkSource(sync({}))).toEqual({ ok: true, transactions: { visible: true }, warning: undefined });
      } finally {
        await user.drop();
      }
    } finally {
      await other.end();
      await db.drop();
    }
  });

  it('the sync check reports a connection that fails, without its password', async () => {
    const db = await createTestDb('sqlite');
    const sync = makeSync(db, db, {});
    const port = await freePort();
    const res = await checkSource(
      { ...sync, source: { ...sync.source, connector: 'postgres', connection: { url: `postgres://idra:S3cret-pw-9@127.0.0.1:${port}/x` } } },
      { timeoutMs: 3000 },
    );
    expect(res.ok).toBe(false);
    expect(res.error).toMatch(`could not reach 127.0.0.1:${port}`);
    expect(res.error).not.toContain('S3cret-pw-9');
  });
});
