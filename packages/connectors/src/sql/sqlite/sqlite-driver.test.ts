import { existsSync, readdirSync, readlinkSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { sql } from 'kysely';
import { describe, expect, it } from 'vitest';
import { tempDir, until } from '@idra/testkit';
import { JSON_NULL } from '../../records/exact-json.ts';
import { connectSqlite } from './sqlite-driver.ts';
import { sqliteDialect } from './sqlite-dialect.ts';

/** This process's open descriptors of `file` (its -wal and -shm apart). */
function openHandles(file: string): number {
  return readdirSync('/proc/self/fd').filter((fd) => {
    try {
      return readlinkSync(`/proc/self/fd/${fd}`) === file;
    } catch {
      return false;
    }
  }).length;
}

const count = sql<{ n: bigint }>`select count(*) as n from t`.compile(sqliteDialect.db);

describe('SQLite values', () => {
  it("reads a JSON column's null as a JSON null (not SQL NULL) and its numbers as stored", async () => {
    const file = join(await tempDir('idra-sqlite-json-'), 'db.sqlite');
    const pool = await connectSqlite({ file }, { role: 'source' });
    try {
      await pool.execute(sql`create table t (id integer primary key, doc json)`.compile(sqliteDialect.db));
      await pool.execute(sql`insert into t values (1, 'null'), (2, null), (3, '{"a": 1.10}')`.compile(sqliteDialect.db));
      const { rows } = await pool.execute(sql`select id, doc from t order by id`.compile(sqliteDialect.db));
      expect(rows[0]!.doc).toBe(JSON_NULL);
      expect(rows[1]!.doc).toBeNull();
      expect(JSON.stringify(rows[2]!.doc)).toBe('{"a":1.10}');
    } finally {
      await pool.close();
    }
  });
});

describe('SQLite handle (real files)', () => {
  it('is closed after idleCloseMs with nothing to do, opened again by the next statement, and kept through a long transaction', async () => {
    const file = join(await tempDir('idra-sqlite-idle-'), 'db.sqlite');
    const pool = await connectSqlite({ file }, { idleCloseMs: 50, role: 'destination' });
    try {
      await pool.execute(sql`create table t (id integer primary key)`.compile(sqliteDialect.db));
      expect(openHandles(file)).toBe(1);
      await until('the idle handle closed', () => openHandles(file) === 0, 5_000);
      expect((await pool.execute(count)).rows).toEqual([{ n: '0' }]);
      expect(openHandles(file)).toBe(1);

      // A transaction open well past the idle delay keeps its handle (its statements run on it).
      const began = Date.now();
      await pool.transaction(async (session) => {
        await session.execute(sql`insert into t (id) values (1)`.compile(sqliteDialect.db));
        await until('three idle delays within the transaction', () => Date.now() - began > 150 && openHandles(file) === 1);
        await session.execute(sql`insert into t (id) values (2)`.compile(sqliteDialect.db));
      });
      expect((await pool.execute(count)).rows).toEqual([{ n: '2' }]);
    } finally {
      await pool.close();
    }
    expect(openHandles(file)).toBe(0);
    await expect(pool.execute(count)).rejects.toThrow(/not open/);
  });

  it('refuses a file that vanished while closed instead of opening a new empty one', async () => {
    const file = join(await tempDir('idra-sqlite-idle-'), 'db.sqlite');
    const pool = await connectSqlite({ file }, { idleCloseMs: 50 });
    try {
      await pool.execute(sql`create table t (id integer primary key)`.compile(sqliteDialect.db));
      await until('the idle handle closed', () => openHandles(file) === 0, 5_000);
      rmSync(file);
      await expect(pool.execute(count)).rejects.toMatchObject({ code: 'SQLITE_CANTOPEN' });
      expect(existsSync(file)).toBe(false);
    } finally {
      await pool.close();
    }
  });

  it('lets timers and I/O run between statements, however many are awaited in a row', async () => {
    const file = join(await tempDir('idra-sqlite-turns-'), 'db.sqlite');
    const pool = await connectSqlite({ file }, {});
    let ticks = 0;
    const timer = setInterval(() => ticks++, 1);
    try {
      await pool.execute(sql`create table t (id integer primary key)`.compile(sqliteDialect.db));
      const since = performance.now();
      // Without a turn of the loop per statement this whole loop is one run of microtasks: no timer fires.
      while (performance.now() - since < 50) await pool.execute(count);
      expect(ticks).toBeGreaterThan(0);
    } finally {
      clearInterval(timer);
      await pool.close();
    }
  });

  it('stays open with idleCloseMs 0', async () => {
    const file = join(await tempDir('idra-sqlite-idle-'), 'db.sqlite');
    const pool = await connectSqlite({ file }, { idleCloseMs: 0 });
    try {
      await pool.execute(sql`create table t (id integer primary key)`.compile(sqliteDialect.db));
      const since = Date.now();
      await until('2.5 s with the handle open', () => Date.now() - since > 2_500 || openHandles(file) === 0, 5_000);
      expect(openHandles(file)).toBe(1);
    } finally {
      await pool.close();
    }
  });
});
