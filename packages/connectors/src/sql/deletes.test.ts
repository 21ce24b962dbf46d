import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { tempDir, until } from '@idra/testkit';
import type { Row, SyncConfig } from '@idra/core';
import { DDL, TEST_DIALECTS, createTestDb, insertRows, makeSync, registryWithSourceReads, TestRun, ts, type TestDb } from '../testing/fixtures.ts';

const BASE = '2024-03-01 12:00:00';
const rows = (from: number, count: number): Row[] => Array.from({ length: count }, (_, k) => ({ id: String(from + k), name: `row ${from + k}` }));

// Deletes of the polling modes on every SQL database with a real server here, each the source and the destination of its own syncs.
for (const name of TEST_DIALECTS) {
  describe(`deletes: ${name}`, () => {
    const D = DDL[name];
    let db: TestDb;
    let state: string;

    beforeEach(async () => {
      db = await createTestDb(name);
      state = await tempDir('idra-state-');
    });
    afterEach(async () => {
      await db.drop();
    });

    it("full mode with deletes 'mirror' deletes the rows gone from the source after a complete pass, while a writer inserts and deletes", async () => {
      await db.exec(`create table src (id ${D.bigint} primary key, name ${D.text})`);
      await insertRows(db, 'src', rows(1, 200));
      const run = new TestRun(makeSync(db, db, { mode: 'full', keyColumns: ['id'], writeMode: 'upsert', deletes: 'mirror', batchSize: 50 }), state);
      try {
        await run.waitFor((s) => s.state === 'idle' && (s.totals?.rowsCopied ?? 0) >= 200);
        expect(await db.rows('dst', ['id'])).toEqual(await db.rows('src', ['id']));
        // A writer deletes and inserts while passes run.
        for (let round = 0; round < 3; round++) {
          await db.exec(`delete from src where id % 10 = ${round}`);
          await insertRows(db, 'src', rows(1000 + round * 10, 10));
        }
        const wanted = await db.rows('src', ['id']);
        await run.waitFor((s) => (s.totals?.rowsDeleted ?? 0) >= 60 && s.state === 'idle');
        await until('the destination matches the source', async () => JSON.stringify(await db.rows('dst', ['id'])) === JSON.stringify(wanted), 20_000);
        expect(run.status.reconciliation).toMatchObject({ kind: 'mirror', sourceKeys: wanted.length, deleted: expect.any(Number) });
      } finally {
        await run.runner.stop();
      }
      expect(await db.rows('dst', ['id'])).toEqual(await db.rows('src', ['id']));
    });

    it('a source table emptied by mistake is refused by the maxDeleteFraction guard: nothing is deleted and the sync stops saying why', async () => {
      await db.exec(`create table src (id ${D.bigint} primary key, name ${D.text})`);
      await insertRows(db, 'src', rows(1, 100));
      const run = new TestRun(makeSync(db, db, { mode: 'full', keyColumns: ['id'], writeMode: 'upsert', deletes: 'mirror', batchSize: 30 }), state);
      try {
        await run.waitFor((s) => s.state === 'idle' && (s.totals?.rowsCopied ?? 0) >= 100);
        await db.exec('delete from src');
        const failed = await run.waitFor((s) => s.state === 'failed');
        expect(failed.lastError?.code).toBe('IDRA_ERR_DELETE_GUARD');
        expect(failed.lastError?.message).toMatch(
          /would delete 100 of the destination's 100 rows, over maxDeleteFraction 0\.5 \(50 rows\).*nothing was deleted/,
        );
        expect(failed.reconciliation).toMatchObject({ kind: 'mirror', deleted: 0, refused: expect.any(String) });
      } finally {
        await run.runner.stop();
      }
      expect(await db.count('dst')).toBe(100);
    });

    it('maxDeleteFraction at its edge: one row over it is refused, exactly at it the rows are deleted', async () => {
      await db.exec(`create table src (id ${D.bigint} primary key, name ${D.text})`);
      await insertRows(db, 'src', rows(1, 100));
      // 100 × 0.57 is 56.99999999999999 in binary floating point: 57 deletes must still pass.
      const run = new TestRun(makeSync(db, db, { mode: 'full', keyColumns: ['id'], writeMode: 'upsert', deletes: 'mirror', maxDeleteFraction: 0.57 }), state);
      try {
        await run.waitFor((s) => s.state === 'idle' && (s.totals?.rowsCopied ?? 0) >= 100);
        await db.exec('delete from src where id <= 58');
        const refused = await run.waitFor((s) => s.state === 'failed');
        expect(refused.lastError?.message).toMatch(/would delete 58 of the destination's 100 rows, over maxDeleteFraction 0\.57 \(57 rows\)/);
        expect(await db.count('dst')).toBe(100);
        await insertRows(db, 'src', rows(58, 1));
        run.runner.retryNow();
        // Polled on the status itself: waitFor gives up on the failed state the retry is about to leave.
        await until('the retried pass deletes the 57 rows', () => run.status.state === 'idle' && run.status.reconciliation?.deleted === 57, 20_000);
      } finally {
        await run.runner.stop();
      }
      expect(await db.rows('dst', ['id'])).toEqual(await db.rows('src', ['id']));
    });

    it('a pass stopped midway deletes nothing; the pass it resumes deletes only what the source lost', async () => {
      await db.exec(`create table src (id ${D.bigint} primary key, name ${D.text})`);
      await insertRows(db, 'src', rows(1, 300));
      const sync = makeSync(db, db, { mode: 'full', keyColumns: ['id'], writeMode: 'upsert', deletes: 'mirror', batchSize: 20 });
      // The second pass is held at its read after key 100 (passes follow each other every 50 ms: a poll of
      // the status could miss that pass altogether), and stopped there.
      let midway = false;
      const held = registryWithSourceReads((read) => async (position, limit, signal, upTo) => {
        if (position.kind === 'full' && position.value.run === 2 && Number(position.value.after?.[0] ?? 0) >= 100) {
          midway = true;
          await new Promise((_, reject) => signal.addEventListener('abort', () => reject(signal.reason as Error), { once: true }));
        }
        return read(position, limit, signal, upTo);
      });
      const first = new TestRun(sync, state, held);
      try {
        // The first pass is complete; the second is stopped (its batch in flight abandoned) after a few batches, well
        // before its end, and the source loses rows meanwhile.
        await until('the second pass held after key 100', () => midway, 45_000);
        await db.exec('delete from src where id > 290');
      } finally {
        await first.runner.abort();
      }
      expect(first.status.totals?.rowsDeleted ?? 0).toBe(0);
      expect(await db.count('dst')).toBe(300);
      const second = new TestRun(sync, state);
      try {
        // A pass that compared the keys and deleted: passes follow each other every 50 ms, so 'idle' may not be seen.
        await second.waitFor((s) => (s.totals?.rowsDeleted ?? 0) >= 10 && s.reconciliation?.kind === 'mirror');
      } finally {
        await second.runner.stop();
      }
      expect(second.status.totals?.rowsDeleted).toBe(10);
      expect(await db.rows('dst', ['id'])).toEqual(await db.rows('src', ['id']));
    });

    it("softDeleteColumn: rows marked deleted at the source are deleted (deletes 'delete') or copied with their mark ('mark')", async () => {
      await db.exec(`create table src (id ${D.bigint} primary key, name ${D.text}, updated_at ${D.ts}, deleted_at ${D.ts})`);
      await insertRows(
        db,
        'src',
        rows(1, 20).map((r, i) => ({ ...r, updated_at: ts(BASE, i * 1000), deleted_at: null })),
      );
      const common: Partial<SyncConfig> = {
        mode: 'timestamp',
        cursorColumn: 'updated_at',
        keyColumns: ['id'],
        writeMode: 'upsert',
        softDeleteColumn: 'deleted_at',
        watermark: 'delay-only',
      };
      const deleting = new TestRun(makeSync(db, db, { ...common, deletes: 'delete', destinationTable: 'dst_delete' }), state);
      const marking = new TestRun(makeSync(db, db, { ...common, deletes: 'mark', destinationTable: 'dst_mark' }), await tempDir('idra-state-'));
      try {
        await Promise.all([deleting, marking].map((r) => r.waitFor((s) => s.state === 'idle' && s.rowsCopied === 20)));
        await db.exec(`update src set deleted_at = updated_at, updated_at = '${ts(BASE, 100_000)}' where id in (3, 4, 5)`);
        await deleting.waitFor((s) => s.rowsDeleted === 3);
        await marking.waitFor((s) => s.rowsCopied === 23);
      } finally {
        await Promise.all([deleting.runner.stop(), marking.runner.stop()]);
      }
      const alive = (await db.rows('src', ['id'])).filter((r) => r.deleted_at === null);
      expect(await db.rows('dst_delete', ['id'])).toEqual(alive);
      expect(await db.rows('dst_mark', ['id'])).toEqual(await db.rows('src', ['id']));
    });

    it('reconcileEvery deletes, in id mode, the keys gone from the source and reports the rows the destination lacks', async () => {
      await db.exec(`create table src (id ${D.bigint} primary key, name ${D.text})`);
      await insertRows(db, 'src', rows(1, 120));
      const run = new TestRun(makeSync(db, db, { mode: 'id', keyColumns: ['id'], writeMode: 'upsert', reconcileEvery: '200ms', batchSize: 50 }), state);
      try {
        await run.waitFor((s) => s.state === 'idle' && s.rowsCopied === 120);
        await db.exec('delete from src where id in (5, 50, 100)');
        await run.waitFor((s) => s.rowsDeleted === 3);
        // A row removed from the destination behind the sync's back is reported missing.
        await db.exec('delete from dst where id = 7');
        await run.waitFor((s) => s.reconciliation?.missing === 1);
      } finally {
        await run.runner.stop();
      }
      expect((await db.rows('dst', ['id'])).map((r) => r.id)).toEqual((await db.rows('src', ['id'])).map((r) => r.id).filter((id) => id !== '7'));
    });
  });
}
