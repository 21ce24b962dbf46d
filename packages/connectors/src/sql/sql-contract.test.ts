import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { sql } from 'kysely';
import { startFaultProxy, tempDir } from '@idra/testkit';
import { abortDuringHungWrite } from '../testing/connector-contract.ts';
import { tableEndpoint } from '../testing/endpoints.ts';
import type { Row } from '@idra/core';
import { DDL, TEST_DIALECTS, createTestDb, insertRows, makeSync, runOnce, TestRun, ts, type TestDb } from '../testing/fixtures.ts';

const BASE = '2024-03-01 12:00:00';

function sampleRows(from: number, count: number, stamp: (i: number) => string = (i) => ts(BASE, i * 1000, 123)): Row[] {
  return Array.from({ length: count }, (_, k) => {
    const i = from + k;
    return { id: String(i), name: `row ${i}`, amount: `${i}.250000`, ts: stamp(i), flag: i % 2 === 0, doc: { n: i, tags: ['a', String(i)] } };
  });
}

// One contract, every SQL dialect that has a real server here. SQL Server: see sql-statements.test.ts.
for (const name of TEST_DIALECTS) {
  describe(`SQL connector contract: ${name}`, () => {
    const D = DDL[name];
    let db: TestDb;
    let state: string;

    beforeEach(async () => {
      db = await createTestDb(name);
      state = await tempDir('idra-state-');
      await db.exec(`create table src (id ${D.bigint} primary key, name ${D.text}, amount ${D.decimal}, ts ${D.ts}, flag ${D.bool}, doc ${D.json})`);
    });
    afterEach(async () => {
      await db.drop();
    });

    it('id mode copies every row in small batches and a restart resumes without re-copying', async () => {
      await insertRows(db, 'src', sampleRows(1, 250));
      // No key columns: the destination has no primary key, so a re-copied row would show as a duplicate.
      const sync = makeSync(db, db, { mode: 'id', cursorColumn: 'id' });
      const first = await runOnce(sync, state);
      expect(first.status.rowsCopied).toBe(250);
      expect(first.status.position).toEqual({ kind: 'id', value: '250' });
      await insertRows(db, 'src', sampleRows(251, 30));
      const second = await runOnce(sync, state);
      expect(second.status.rowsCopied).toBe(30);
      expect(await db.count('dst')).toBe(280);
      expect(await db.rows('dst', ['id'])).toEqual(await db.rows('src', ['id']));
    });

    it('keeps 64-bit ids, decimals and microsecond timestamps exact', async () => {
      const rows = [
        {
          id: '9007199254740993',
          name: 'beyond 2^53',
          amount: '1234567890123456789012.123456',
          ts: '2024-02-29 23:59:59.999999',
          flag: true,
          doc: { big: '9223372036854775807' },
        },
        { id: '9223372036854775807', name: 'max int64', amount: '-0.000001', ts: '1999-12-31 00:00:00.000001', flag: false, doc: [1, 2] },
      ];
      await insertRows(db, 'src', rows);
      const { status } = await runOnce(makeSync(db, db, { mode: 'id', cursorColumn: 'id', keyColumns: ['id'] }), state);
      expect(status.position).toEqual({ kind: 'id', value: '9223372036854775807' });
      const copied = await db.rows('dst', ['id']);
      expect(copied.map((r) => [r.id, r.amount, r.ts])).toEqual(rows.map((r) => [r.id, r.amount, r.ts]));
      expect(copied).toEqual(await db.rows('src', ['id']));
    });

    it('keeps JSON numbers a double cannot hold exact, at any depth', async () => {
      const text = '{"big": 9007199254740993, "nested": {"list": [123456789012345678901234567890, 0.1000000000000000055511151231257827]}, "small": 1.5}';
      await db.exec(`insert into src (id, doc) values (1, '${text}')`);
      await runOnce(makeSync(db, db, { mode: 'id', cursorColumn: 'id', keyColumns: ['id'] }), state);
      for (const table of ['src', 'dst']) {
        const [row] = await db.rows(table, ['id']);
        const copied = JSON.stringify(row!.doc);
        expect(copied).toContain('"big":9007199254740993');
        expect(copied).toContain('"list":[123456789012345678901234567890,0.1000000000000000055511151231257827]');
        expect(JSON.parse(copied)).toMatchObject({ small: 1.5 });
      }
    });

    it('timestamp mode loses no row when many rows share a timestamp across batch boundaries, and upserts changes', async () => {
      const same = ts(BASE, 0, 500);
      await insertRows(
        db,
        'src',
        sampleRows(1, 60, () => same),
      );
      const sync = makeSync(db, db, { mode: 'timestamp', cursorColumn: 'ts', tiebreakerColumn: 'id', keyColumns: ['id'], writeMode: 'upsert' });
      const first = await runOnce(sync, state);
      expect(first.status.rowsCopied).toBe(60);
      expect(first.status.position).toMatchObject({ kind: 'timestamp', tiebreaker: '60' });
      expect(first.status.position?.kind === 'timestamp' && first.status.position.value).toMatch(/^2024-03-01 12:00:00\.0005(00)?$/);
      // Ten rows change, all to one new timestamp (another tie), plus five new rows at that time.
      const later = ts(BASE, 60_000, 1);
      await db.exec(sql`update src set name = ${'changed'}, ts = ${later} where id <= 10`);
      await insertRows(
        db,
        'src',
        sampleRows(61, 5, () => later),
      );
      const second = await runOnce(sync, state);
      expect(second.status.rowsCopied).toBe(15);
      expect(await db.rows('dst', ['id'])).toEqual(await db.rows('src', ['id']));
    });

    it('destination-id mode resumes from the largest id already in the destination', async () => {
      await insertRows(db, 'src', sampleRows(1, 40));
      const sync = makeSync(db, db, { mode: 'destination-id', cursorColumn: 'id', keyColumns: ['id'] });
      await runOnce(sync, state);
      await db.exec('delete from dst where id > 30');
      await insertRows(db, 'src', sampleRows(41, 5));
      const { status } = await runOnce(sync, state);
      expect(status.rowsCopied).toBe(15);
      expect(await db.rows('dst', ['id'])).toEqual(await db.rows('src', ['id']));
    });

    it('destination-timestamp mode resumes from the newest (timestamp, id) in the destination', async () => {
      const same = ts(BASE, 5000, 7);
      await insertRows(
        db,
        'src',
        sampleRows(1, 20, () => same),
      );
      const sync = makeSync(db, db, { mode: 'destination-timestamp', cursorColumn: 'ts', keyColumns: ['id'], writeMode: 'upsert' });
      expect((await runOnce(sync, state)).status.rowsCopied).toBe(20);
      await insertRows(
        db,
        'src',
        sampleRows(21, 4, () => same),
      );
      expect((await runOnce(sync, state)).status.rowsCopied).toBe(4);
      expect(await db.rows('dst', ['id'])).toEqual(await db.rows('src', ['id']));
    });

    it('full mode pages by a composite key and picks up changes on the next pass', async () => {
      await db.exec(`create table pairs (a ${D.bigint} not null, b ${D.text === 'text' ? 'varchar(20)' : D.text} not null, v ${D.text}, primary key (a, b))`);
      const pairs = Array.from({ length: 30 }, (_, i) => ({ a: String(i % 4), b: `k${String(i).padStart(2, '0')}`, v: `v${i}` }));
      await insertRows(db, 'pairs', pairs);
      const sync = makeSync(db, db, {
        mode: 'full',
        cursorColumn: undefined,
        keyColumns: ['a', 'b'],
        writeMode: 'upsert',
        sourceTable: 'pairs',
        destinationTable: 'pairs_copy',
        pollIntervalMs: 100,
      });
      const run = new TestRun(sync, state);
      await run.waitFor((s) => s.position?.kind === 'full' && s.position.value.run === 2);
      expect(await db.rows('pairs_copy', ['a', 'b'])).toEqual(await db.rows('pairs', ['a', 'b']));
      await db.exec(sql`update pairs set v = ${'updated'} where a = 1`);
      await run.waitFor((s) => s.position?.kind === 'full' && s.position.value.run === 3);
      await run.runner.stop();
      expect(await db.rows('pairs_copy', ['a', 'b'])).toEqual(await db.rows('pairs', ['a', 'b']));
    });

    it('reads from a query source', async () => {
      await insertRows(db, 'src', sampleRows(1, 30));
      const sync = makeSync(db, db, { mode: 'id', cursorColumn: 'id', keyColumns: ['id'], query: 'select id, name from src where id >= 10' });
      const { status } = await runOnce(sync, state);
      expect(status.rowsCopied).toBe(21);
      expect((await db.rows('dst', ['id'])).map((r) => r.id)).toEqual(Array.from({ length: 21 }, (_, i) => String(i + 10)));
    });

    it('onError skip sets rejected rows aside and copies the rest; onError stop fails the sync', async () => {
      await db.exec(`create table dst (id ${D.bigint} primary key, name ${D.shortText})`);
      const rows = [1, 2, 3, 4, 5, 6, 7, 8, 9, 10].map((i) => ({ id: String(i), name: i === 3 || i === 8 ? 'far too long' : `ok${i}` }));
      await db.exec(`create table narrow (id ${D.bigint} primary key, name ${D.text})`);
      await insertRows(db, 'narrow', rows);
      const skip = makeSync(db, db, { mode: 'id', cursorColumn: 'id', keyColumns: ['id'], sourceTable: 'narrow', onError: 'skip', batchSize: 10 });
      const { status, run } = await runOnce(skip, state);
      expect(status.rowsCopied).toBe(8);
      expect(status.rowsSkipped).toBe(2);
      expect(run.deadLetters.map((d) => d.row.id)).toEqual(['3', '8']);
      expect(run.deadLetters[0]!.error.length).toBeGreaterThan(0);
      expect(await db.count('dst')).toBe(8);

      await db.exec('delete from dst');
      const stopState = await tempDir('idra-state-');
      const stop = makeSync(db, db, { mode: 'id', cursorColumn: 'id', keyColumns: ['id'], sourceTable: 'narrow', onError: 'stop', batchSize: 10 });
      const failing = new TestRun(stop, stopState);
      const failed = await failing.waitFor((s) => s.state === 'failed');
      expect(failed.lastError?.code).toBe('IDRA_ERR_SYNC_FAILED');
      // The rejected row is named by its key (and column, where the database says), and the sync stops
      // at it: the rows before it in the batch are written, as a replay of the batch would write them.
      expect(failed.lastError?.message).toMatch(/^destination rejected the row id=3\b/);
      expect(failed.lastError?.row).toEqual({ id: '3' });
      expect(await db.count('dst')).toBe(2);
    });

    it('insert mode keeps rows whose key already exists, so a replayed batch is harmless', async () => {
      await insertRows(db, 'src', sampleRows(1, 20));
      const sync = makeSync(db, db, { mode: 'id', cursorColumn: 'id', keyColumns: ['id'], writeMode: 'insert', batchSize: 20 });
      await runOnce(sync, state);
      await db.exec(sql`update dst set name = ${'kept'} where id <= 5`);
      // Forget the offset: the next run replays the same rows plus five new ones.
      await insertRows(db, 'src', sampleRows(21, 5));
      const { status } = await runOnce(sync, await tempDir('idra-state-'));
      expect(status.rowsCopied).toBe(25);
      const rows = await db.rows('dst', ['id']);
      expect(rows).toHaveLength(25);
      expect(rows.filter((r) => r.name === 'kept').map((r) => r.id)).toEqual(['1', '2', '3', '4', '5']);
    });

    // SQLite runs in-process: there is no server to hang.
    it.skipIf(name === 'sqlite')('aborting a sync whose destination server stops answering mid-write ends at once; the batch is not committed', async () => {
      const url = db.connection.url!;
      const proxy = await startFaultProxy(url);
      try {
        const destination = { ...tableEndpoint(db, 'hang_dst'), connection: { url: proxy.url(url) } };
        await abortDuringHungWrite(db, 'hang_src', destination, { pause: () => proxy.blackhole(), resume: () => proxy.heal() });
      } finally {
        await proxy.close();
      }
    });

    it("a column the destination table lacks is added under schemaChanges 'evolve' (the default); under 'fail' the sync stops at once naming table and column", async () => {
      await db.exec(`create table dst (id ${D.bigint} primary key, name ${D.text})`);
      await db.exec(`create table dst_fail (id ${D.bigint} primary key, name ${D.text})`);
      await insertRows(db, 'src', sampleRows(1, 3));
      const failing = new TestRun(
        makeSync(db, db, { mode: 'id', cursorColumn: 'id', keyColumns: ['id'], schemaChanges: 'fail', destinationTable: 'dst_fail' }),
        state,
      );
      const failed = await failing.waitFor((s) => s.state === 'failed' || s.state === 'retrying');
      await failing.runner.stop();
      expect(failed.state).toBe('failed');
      expect(failed.lastError?.code).toBe('IDRA_ERR_SCHEMA_CHANGE_REFUSED');
      expect(failed.lastError?.message).toMatch(
        /^\w+ destination: table dst_fail has no column "amount" \(decimal[(\d,)]*\) that the source now has, and schemaChanges is 'fail'/,
      );
      expect(await db.count('dst_fail')).toBe(0);
      await runOnce(makeSync(db, db, { mode: 'id', cursorColumn: 'id', keyColumns: ['id'] }), await tempDir('idra-state-'));
      expect(await db.rows('dst', ['id'])).toEqual(await db.rows('src', ['id']));
    });

    it('creates the destination table with mapped types when it is missing', async () => {
      await insertRows(db, 'src', sampleRows(1, 3));
      await runOnce(makeSync(db, db, { mode: 'id', cursorColumn: 'id', keyColumns: ['id'], writeMode: 'upsert' }), state);
      const [row] = await db.rows('dst', ['id']);
      expect(row).toEqual({
        id: '1',
        name: 'row 1',
        amount: expect.stringMatching(/^1\.25/),
        ts: ts(BASE, 1000, 123),
        flag: false,
        doc: { n: 1, tags: ['a', '1'] },
      });
    });
  });
}
