import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { tempDir, until } from '@idra/testkit';
import { FileOffsetStore, rangesUnderWay, type CopyRange, type Position, type Row, type SyncStatus } from '@idra/core';
import { DDL, TEST_DIALECTS, createTestDb, insertRows, makeSync, TestRun, type TestDb } from '../testing/fixtures.ts';

const rows = (from: number, count: number): Row[] => Array.from({ length: count }, (_, k) => ({ id: String(from + k), name: `row ${from + k}` }));

const rangesOf = (p: Position | undefined): CopyRange[] | undefined => (p && p.kind !== 'stream' ? p.ranges : undefined);

/** The most ranges under way at once (begun, not done) that any status showed. */
const mostAtOnce = (statuses: SyncStatus[]): number => Math.max(0, ...statuses.map((s) => rangesUnderWay(rangesOf(s.position) ?? [])));

// The copy in key ranges (`parallelism`) on every SQL database with a real server here, each the
// source and the destination of its own syncs. SQLite takes no writers side by side: its ranges are
// copied one after another, by one writer.
for (const name of TEST_DIALECTS) {
  describe(`parallel copy in key ranges: ${name}`, () => {
    const D = DDL[name];
    const sideBySide = name !== 'sqlite';
    let db: TestDb;
    let state: string;

    beforeEach(async () => {
      db = await createTestDb(name);
      state = await tempDir('idra-state-');
    });
    afterEach(async () => {
      await db.drop();
    });

    it(`full mode, parallelism 3: each pass is cut into 3 key ranges, ${sideBySide ? 'copied side by side' : 'copied one after another'}, and the destination equals the source`, async () => {
      await db.exec(`create table src (id ${D.bigint} primary key, name ${D.text})`);
      await insertRows(db, 'src', rows(1, 1500));
      const run = new TestRun(makeSync(db, db, { mode: 'full', keyColumns: ['id'], writeMode: 'upsert', batchSize: 50, parallelism: 3 }), state);
      try {
        await run.waitFor((s) => s.state === 'idle' && (s.totals?.rowsCopied ?? 0) >= 1500);
        const cut = run.statuses.map((s) => rangesOf(s.position)).find((r) => r !== undefined);
        // Cut at the 501st and the 1,001st row in key order; the last range ends at the last row.
        expect(cut?.map((r) => r.to)).toEqual([['501'], ['1001'], ['1500']]);
        const atOnce = mostAtOnce(run.statuses);
        if (sideBySide) expect(atOnce).toBeGreaterThanOrEqual(2);
        else expect(atOnce).toBe(1);
        expect(await db.rows('dst', ['id', 'name'])).toEqual(await db.rows('src', ['id', 'name']));
        // The pass ended at the last key; the next pass starts from the start and is cut again.
        await db.exec(`update src set name = 'changed' where id in (2, 700, 1499)`);
        await until(
          'the next pass brings the changes',
          async () => (await db.rows('dst', ['id', 'name'])).filter((r) => r.name === 'changed').length === 3,
          20_000,
        );
      } finally {
        await run.runner.stop();
      }
      expect(run.statuses.some((s) => s.position?.kind === 'full' && s.position.value.run >= 2 && rangesOf(s.position) !== undefined)).toBe(true);
    });

    it('id mode, parallelism 2: a copy stopped midway resumes each range where it was, and rows written meanwhile arrive once', async () => {
      await db.exec(`create table src (id ${D.bigint} primary key, name ${D.text})`);
      await insertRows(db, 'src', rows(1, 1000));
      const sync = makeSync(db, db, { mode: 'id', cursorColumn: 'id', keyColumns: ['id'], batchSize: 40, parallelism: 2 });
      const first = new TestRun(sync, state);
      try {
        await first.waitFor((s) => (s.totals?.rowsCopied ?? 0) >= 200 && rangesOf(s.position) !== undefined);
      } finally {
        await first.runner.stop();
      }
      const stored = await new FileOffsetStore(state).load(sync.id);
      const ranges = rangesOf(stored);
      // Stopped inside the copy: the offset holds both ranges, where every row before its value is copied.
      expect(ranges?.length).toBe(2);
      expect(ranges?.some((r) => !r.done)).toBe(true);
      const copied = await db.count('dst');
      expect(copied).toBeGreaterThanOrEqual(200);
      expect(copied).toBeLessThan(1000);
      // Rows written while it was stopped: past the last cut, they come with the open-ended range or the reads after it.
      await insertRows(db, 'src', rows(1001, 100));
      const second = new TestRun(sync, state);
      try {
        await second.waitFor((s) => s.state === 'idle' && s.heldBack === undefined && s.position?.kind === 'id' && s.position.value === '1100');
      } finally {
        await second.runner.stop();
      }
      // Resumed in the same ranges: not cut again.
      const resumedCut = second.statuses.map((s) => rangesOf(s.position)).find((r) => r !== undefined);
      expect(resumedCut?.map((r) => r.to)).toEqual(ranges!.map((r) => r.to));
      expect(await db.rows('dst', ['id', 'name'])).toEqual(await db.rows('src', ['id', 'name']));
      const done = await new FileOffsetStore(state).load(sync.id);
      expect(done).toMatchObject({ kind: 'id', value: '1100' });
      expect(rangesOf(done)).toBeUndefined();
    });
  });
}
