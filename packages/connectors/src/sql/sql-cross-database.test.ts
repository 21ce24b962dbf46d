import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { tempDir, freePort } from '@idra/testkit';
import type { Row } from '@idra/core';
import { comparableRow } from '../testing/compare.ts';
import { DDL, TEST_DIALECTS, createTestDb, insertRows, makeSync, runOnce, TestRun, type TestDb, type TestDialect } from '../testing/fixtures.ts';

const ROWS: Row[] = [
  { id: '1', name: 'plain', amount: '10.500000', ts: '2024-01-01 00:00:00.000001', flag: true, doc: { a: 1 } },
  { id: '2', name: 'ünïcødé ✓ 漢字', amount: '-99999999999.999999', ts: '2024-01-01 00:00:00.000001', flag: false, doc: [1, 'two', null] },
  { id: '9007199254740993', name: 'quotes \' " ; drop table src; --', amount: '0.000001', ts: '2026-01-19 03:14:08.999999', flag: null, doc: null },
  { id: '9223372036854775807', name: null, amount: null, ts: '2024-06-30 23:59:59.5', flag: true, doc: { nested: { deep: [true] } } },
];

const PAIRS = TEST_DIALECTS.flatMap((from) => TEST_DIALECTS.filter((to) => to !== from).map((to) => [from, to] as [TestDialect, TestDialect]));

describe('cross-database syncs', () => {
  const dbs = new Map<TestDialect, TestDb>();
  beforeAll(async () => {
    for (const name of TEST_DIALECTS) {
      const db = await createTestDb(name);
      const D = DDL[name];
      await db.exec(`create table src (id ${D.bigint} primary key, name ${D.text}, amount ${D.decimal}, ts ${D.ts}, flag ${D.bool}, doc ${D.json})`);
      await insertRows(db, 'src', ROWS);
      dbs.set(name, db);
    }
  });
  afterAll(async () => {
    for (const db of dbs.values()) await db.drop();
  });

  for (const [from, to] of PAIRS) {
    it(`${from} → ${to}: every type arrives with its value, in timestamp mode with upserts`, async () => {
      const source = dbs.get(from)!;
      const destination = dbs.get(to)!;
      const table = `from_${from}`;
      const sync = makeSync(source, destination, {
        mode: 'timestamp',
        cursorColumn: 'ts',
        tiebreakerColumn: 'id',
        keyColumns: ['id'],
        writeMode: 'upsert',
        destinationTable: table,
        batchSize: 3,
      });
      const { status } = await runOnce(sync, await tempDir('idra-state-'));
      expect(status.rowsCopied).toBe(ROWS.length);
      const copied = (await destination.rows(table, ['id'])).map((r) => comparableRow(r));
      expect(copied).toEqual((await source.rows('src', ['id'])).map((r) => comparableRow(r)));
      expect(copied.map((r) => r.id)).toEqual(['1', '2', '9007199254740993', '9223372036854775807']);
    });
  }
});

describe('unreachable databases and bad credentials', () => {
  it('reports a wrong MariaDB password in the status with the cause, retries, and recovers once it is right', async () => {
    const db = await createTestDb('mysql');
    try {
      await db.exec("create user if not exists 'idra_t'@'%' identified by 'right-one'");
      await db.exec(`grant all on *.* to 'idra_t'@'%'`);
      await db.exec(`create table src (id bigint primary key, name varchar(20))`);
      await insertRows(db, 'src', [
        { id: '1', name: 'a' },
        { id: '2', name: 'b' },
      ]);
      const url = new URL(db.connection.url!);
      url.username = 'idra_t';
      url.password = 'wrong-pass';
      const bad = { ...db, connection: { url: url.toString() } } as TestDb;
      const run = new TestRun(makeSync(bad, db, { keyColumns: ['id'] }), await tempDir('idra-state-'));
      // An error someone must fix: failed, and still retried (slowly in production).
      const failed = await run.waitFor((s) => s.state === 'failed');
      expect(failed.lastError?.message).toMatch(/mysql source: Access denied for user 'idra_t'/);
      expect(failed.lastError?.message).not.toContain('wrong-pass');
      expect(failed.retryInMs).toBeGreaterThan(0);
      await run.waitFor(() => (run.status.attempts ?? 0) >= 2);
      await db.exec("alter user 'idra_t'@'%' identified by 'wrong-pass'");
      await run.waitFor((s) => s.state === 'idle' && s.rowsCopied === 2);
      await run.runner.stop();
      expect(await db.count('dst')).toBe(2);
    } finally {
      await db.exec("drop user if exists 'idra_t'@'%'");
      await db.drop();
    }
  });

  it('reports an unreachable PostgreSQL and an unknown role with the cause and keeps retrying', async () => {
    const db = await createTestDb('postgres');
    try {
      const port = await freePort();
      const down = { ...db, connection: { url: `postgres://idra:secret@127.0.0.1:${port}/nowhere` } } as TestDb;
      const run = new TestRun(makeSync(down, db, {}), await tempDir('idra-state-'));
      const s = await run.waitFor((x) => x.state === 'retrying');
      expect(s.lastError?.message).toMatch(/postgres source: .*ECONNREFUSED/);
      expect(s.lastError?.message).not.toContain('secret');
      await run.waitFor(() => run.statuses.filter((x) => x.state === 'retrying').length >= 3);
      await run.runner.stop();
      expect(run.status.state).toBe('stopped');

      await db.exec('create table src (id bigint primary key)');
      const url = new URL(db.connection.url!);
      url.username = 'no_such_role';
      const nobody = { ...db, connection: { url: url.toString() } } as TestDb;
      const run2 = new TestRun(makeSync(db, nobody, {}), await tempDir('idra-state-'));
      const s2 = await run2.waitFor((x) => x.state === 'failed');
      expect(s2.lastError?.message).toMatch(/postgres destination: role "no_such_role" does not exist/);
      expect(s2.retryInMs).toBeGreaterThan(0);
      await run2.runner.stop();
    } finally {
      await db.drop();
    }
  });
});
