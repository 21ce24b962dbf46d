import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { tempDir, until } from '@idra/testkit';
import type { Row, SyncConfig } from '@idra/core';
import { comparableRows, comparableValue } from '../testing/compare.ts';
import { DDL, TEST_DIALECTS, createTestDb, makeSync, privateMariadb, TestRun, ts, type TestDb, type TestDialect } from '../testing/fixtures.ts';
import { DeleteWatch, SourceWriter, idsOf } from '../testing/source-writer.ts';

// Issue 15's matrix: every pair of PostgreSQL, MariaDB and SQLite, source and destination. While
// writers change the source, its table is altered (a column added, widened, dropped) under each
// schemaChanges policy, and rows are deleted under mirror, softDeleteColumn (delete, mark) and key
// reconciliation. At the end each destination is compared with its source row by row, by content.

const PAIRS = TEST_DIALECTS.flatMap((from) => TEST_DIALECTS.map((to) => [from, to] as [TestDialect, TestDialect]));
const SEED = 30;
/** Beyond a 32-bit integer: only a widened column holds it. */
const WIDE = 2n ** 40n;
const INT32_MAX = 2n ** 31n - 1n;

/** The statement widening `qty` from int to bigint; SQLite has none (its columns take any integer). */
const WIDEN: Record<TestDialect, string | undefined> = {
  postgres: 'alter table src alter column qty type bigint',
  mysql: 'alter table src modify qty bigint',
  sqlite: undefined,
};

const common = (extra: Partial<SyncConfig>): Partial<SyncConfig> => ({ keyColumns: ['id'], writeMode: 'upsert', batchSize: 10, pollIntervalMs: 100, ...extra });
const byTime: Partial<SyncConfig> = { mode: 'timestamp', cursorColumn: 'updated_at', tiebreakerColumn: 'id' };

const pick = (n: number) => Math.floor(Math.random() * n);

/** Waits until the destination table's rows (in `columns`) equal `expected()`; names both on timeout. */
async function converged(run: TestRun, what: string, db: TestDb, table: string, columns: string[], expected: () => Promise<Row[]>): Promise<void> {
  let last: { got: Row[]; want: Row[] } | undefined;
  await until(
    what,
    async () => {
      const [got, want] = [await comparableRows(db, table, columns).catch(() => []), await expected()];
      last = { got, want };
      return JSON.stringify(got) === JSON.stringify(want);
    },
    90_000,
  ).catch((err: Error) => {
    throw new Error(`${err.message}\nsync status: ${JSON.stringify(run.status)}\nrows: ${JSON.stringify(last)}`);
  });
}

describe.concurrent('a faithful copy across databases, under concurrent writers', () => {
  const dbs = new Map<string, TestDb>();
  let maria: Awaited<ReturnType<typeof privateMariadb>> | undefined;
  beforeAll(async () => {
    // A MariaDB of this file's own: the watermark of a MariaDB source waits for every open transaction of the server, other files' too.
    maria = await privateMariadb();
    const open = (name: TestDialect) => createTestDb(name, name === 'mysql' ? maria!.url : undefined);
    await Promise.all(
      PAIRS.flatMap(([from, to]) => [
        open(from).then((db) => dbs.set(`${from}>${to}:source`, db)),
        open(to).then((db) => dbs.set(`${from}>${to}:destination`, db)),
      ]),
    );
  });
  afterAll(async () => {
    await Promise.all([...dbs.values()].map((db) => db.drop()));
    await maria?.stop();
  });

  for (const [from, to] of PAIRS) {
    const S = DDL[from];

    it(`${from} → ${to}: columns added, widened and dropped while writers write, under evolve, ignore and fail`, async () => {
      const src = dbs.get(`${from}>${to}:source`)!;
      const dst = dbs.get(`${from}>${to}:destination`)!;
      await src.exec(`create table src (id ${S.bigint} primary key, name ${S.text}, qty int, note ${S.text}, updated_at ${S.ts})`);
      for (let id = 1; id <= SEED; id++) await src.exec(`insert into src values (${id}, 'row ${id}', ${id}, 'note ${id}', '${ts('2024-01-01 00:00:00', id)}')`);
      const has = { email: false, wide: false, note: true };
      let nextId = SEED + 1;
      const writer = new SourceWriter(async () => {
        if (Math.random() < 0.5) {
          const id = nextId++;
          const cols = ['id', 'name', 'qty', 'updated_at', ...(has.note ? ['note'] : []), ...(has.email ? ['email'] : [])];
          const vals = [
            id,
            `'row ${id}'`,
            has.wide ? String(WIDE + BigInt(id)) : id,
            S.now,
            ...(has.note ? [`'note ${id}'`] : []),
            ...(has.email ? [`'${id}@x'`] : []),
          ];
          await src.exec(`insert into src (${cols.join(', ')}) values (${vals.join(', ')})`);
        } else {
          await src.exec(`update src set name = 'changed ${pick(1000)}', updated_at = ${S.now} where id = ${1 + pick(nextId - 1)}`);
        }
      });
      const state = await Promise.all([1, 2, 3].map(() => tempDir('idra-state-')));
      const runs = {
        evolve: new TestRun(makeSync(src, dst, { ...common(byTime), destinationTable: 'dst_evolve' }), state[0]!),
        // A value the destination's unwidened column cannot hold is a rejected row: set aside, the others keep coming.
        ignore: new TestRun(makeSync(src, dst, { ...common(byTime), schemaChanges: 'ignore', onError: 'skip', destinationTable: 'dst_ignore' }), state[1]!),
        fail: new TestRun(makeSync(src, dst, { ...common(byTime), schemaChanges: 'fail', destinationTable: 'dst_fail' }), state[2]!),
      };
      const history = () => (runs.evolve.status.schemaChanges ?? []).flatMap((r) => r.changes);
      try {
        await Promise.all(Object.values(runs).map((r) => r.waitFor((s) => s.rowsCopied >= SEED, 40_000)));
        writer.start();
        await writer.more(6);
        await src.exec(`alter table src add column email ${S.text}`);
        has.email = true;
        await writer.more(6);
        await runs.evolve.waitFor(() => history().some((c) => c.startsWith('column email added')), 40_000);
        const widen = WIDEN[from];
        if (widen) {
          await src.exec(widen);
          has.wide = true;
          await writer.more(6);
          await runs.evolve.waitFor(() => history().includes('column qty widened from int32 to int64'), 40_000);
        }
        // The application stops writing the column before it is dropped, as a deployment does.
        has.note = false;
        await src.exec('alter table src drop column note');
        // Rows stamped after this were written after the drop.
        const dropped = String(comparableValue((await src.exec('select max(updated_at) as t from src'))[0]!.t));
        await writer.more(6);
        await runs.evolve.waitFor(() => history().some((c) => c.startsWith('column note dropped')), 40_000);
        await writer.stop();
        expect(writer.errors).toEqual([]);

        // evolve: every source column, every row, every value.
        const now = ['id', 'name', 'qty', 'email', 'updated_at'];
        await converged(runs.evolve, 'evolve: destination equal to the source', dst, 'dst_evolve', now, () => comparableRows(src, 'src', now));
        // The dropped column is kept; the rows written after the drop leave it NULL, updates of older rows too.
        const late = (await comparableRows(dst, 'dst_evolve', ['updated_at', 'note'])).filter((r) => String(r.updated_at) > dropped);
        expect(late.length).toBeGreaterThan(0);
        expect(late.filter((r) => r.note !== null)).toEqual([]);
        expect(runs.evolve.status.schemaChanges?.map((r) => r.outcome)).toEqual(widen ? ['applied', 'applied', 'applied'] : ['applied', 'applied']);

        // ignore: the first columns only; a widened value the destination's column cannot hold is set aside, not lost silently.
        const first = ['id', 'name', 'qty', 'updated_at'];
        const holds = (r: Row) => to === 'sqlite' || BigInt(String(r.qty)) <= INT32_MAX;
        const wanted = async () => (await comparableRows(src, 'src', first)).filter(holds);
        await converged(runs.ignore, 'ignore: destination equal to the source in its own columns', dst, 'dst_ignore', first, wanted);
        const tooWide = idsOf((await comparableRows(src, 'src', first)).filter((r) => !holds(r)));
        const setAside = () => [...new Set(runs.ignore.deadLetters.map((d) => String(d.row.id)))].sort().join();
        await until('ignore: the rows its columns cannot hold set aside', () => setAside() === tooWide.sort().join(), 45_000);
        await converged(runs.ignore, 'ignore: still equal once they are', dst, 'dst_ignore', first, wanted);
        expect(Object.keys((await dst.rows('dst_ignore', ['id']))[0]!)).not.toContain('email');
        expect(runs.ignore.status.schemaChanges?.every((r) => r.outcome === 'ignored')).toBe(true);

        // fail: stopped at the first change, naming it; the destination has none of it.
        const failed = runs.fail.status;
        expect(failed.state).toBe('failed');
        expect(failed.lastError?.code).toBe('IDRA_ERR_SCHEMA_CHANGE_REFUSED');
        expect(failed.lastError?.message).toMatch(/column email added.*schemaChanges is 'fail'/);
        // A source whose reads trail its writes (MariaDB's watermark: 1 s) may show the later changes in the same read.
        expect(failed.schemaChanges).toEqual([
          expect.objectContaining({ outcome: 'refused', changes: expect.arrayContaining([expect.stringMatching(/^column email added/)]) }),
        ]);
        expect(Object.keys((await dst.rows('dst_fail', ['id']))[0]!)).not.toContain('email');
      } finally {
        await writer.stop();
        await Promise.all(Object.values(runs).map((r) => r.runner.stop()));
      }
    }, 240_000);

    it(`${from} → ${to}: rows deleted while writers write, under mirror, softDeleteColumn (delete, mark) and reconcileEvery`, async () => {
      const src = dbs.get(`${from}>${to}:source`)!;
      const dst = dbs.get(`${from}>${to}:destination`)!;
      await src.exec(`create table hard (id ${S.bigint} primary key, name ${S.text})`);
      await src.exec(`create table soft (id ${S.bigint} primary key, name ${S.text}, updated_at ${S.ts}, deleted_at ${S.ts})`);
      for (let id = 1; id <= SEED; id++) {
        await src.exec(`insert into hard values (${id}, 'row ${id}')`);
        await src.exec(`insert into soft values (${id}, 'row ${id}', '${ts('2024-01-01 00:00:00', id)}', null)`);
      }
      // Keys deleted at the source are never written again (what DeleteWatch relies on).
      let nextHard = SEED + 1;
      let nextSoft = SEED + 1;
      const hardWriter = new SourceWriter(async () => {
        const id = nextHard;
        if (Math.random() < 0.6) await src.exec(`insert into hard values (${nextHard++}, 'row ${id}')`);
        else await src.exec(`delete from hard where id = ${1 + pick(nextHard - 1)}`);
      });
      const softWriter = new SourceWriter(async () => {
        const r = Math.random();
        const id = nextSoft;
        if (r < 0.4) await src.exec(`insert into soft values (${nextSoft++}, 'row ${id}', ${S.now}, null)`);
        else if (r < 0.7) await src.exec(`update soft set name = 'changed ${pick(1000)}', updated_at = ${S.now} where id = ${1 + pick(nextSoft - 1)}`);
        else await src.exec(`update soft set deleted_at = ${S.now}, updated_at = ${S.now} where deleted_at is null and id = ${1 + pick(nextSoft - 1)}`);
      });
      const state = await Promise.all([1, 2, 3, 4].map(() => tempDir('idra-state-')));
      const softly = { ...common(byTime), sourceTable: 'soft', softDeleteColumn: 'deleted_at' };
      const runs = {
        mirror: new TestRun(
          makeSync(src, dst, { ...common({ mode: 'full', deletes: 'mirror' }), sourceTable: 'hard', destinationTable: 'd_mirror' }),
          state[0]!,
        ),
        reconcile: new TestRun(
          makeSync(src, dst, { ...common({ mode: 'id', cursorColumn: 'id', reconcileEvery: '300ms' }), sourceTable: 'hard', destinationTable: 'd_reconcile' }),
          state[1]!,
        ),
        softDelete: new TestRun(makeSync(src, dst, { ...softly, deletes: 'delete', destinationTable: 'd_soft' }), state[2]!),
        softMark: new TestRun(makeSync(src, dst, { ...softly, deletes: 'mark', destinationTable: 'd_mark' }), state[3]!),
      };
      const hardKeys = async () => idsOf(await src.rows('hard', ['id']));
      const watches = ['d_mirror', 'd_reconcile'].map((t) => new DeleteWatch(async () => idsOf(await dst.rows(t, ['id'])), hardKeys));
      let watching = true;
      const watcher = (async () => {
        while (watching) {
          for (const w of watches) await w.check();
          await new Promise((r) => setTimeout(r, 50));
        }
      })();
      try {
        // The writers start once every sync has copied the first rows: deletes then hit rows the destinations hold.
        await Promise.all(Object.values(runs).map((r) => r.waitFor((s) => s.rowsCopied >= SEED, 40_000)));
        hardWriter.start();
        softWriter.start();
        await hardWriter.more(60, 40_000);
        await softWriter.more(60, 40_000);
        await Promise.all([hardWriter.stop(), softWriter.stop()]);
        expect([...hardWriter.errors, ...softWriter.errors]).toEqual([]);

        const hard = () => comparableRows(src, 'hard', ['id', 'name']);
        await converged(runs.mirror, 'mirror: destination equal to the source', dst, 'd_mirror', ['id', 'name'], hard);
        await converged(runs.reconcile, 'reconcileEvery: destination equal to the source', dst, 'd_reconcile', ['id', 'name'], hard);
        const cols = ['id', 'name', 'updated_at', 'deleted_at'];
        const alive = async () => (await comparableRows(src, 'soft', cols)).filter((r) => r.deleted_at === null);
        await converged(runs.softDelete, "softDeleteColumn, deletes 'delete': the marked rows deleted", dst, 'd_soft', cols, alive);
        await converged(runs.softMark, "softDeleteColumn, deletes 'mark': every row with its mark", dst, 'd_mark', cols, () =>
          comparableRows(src, 'soft', cols),
        );
        expect(runs.mirror.status.totals?.rowsDeleted ?? runs.mirror.status.rowsDeleted).toBeGreaterThan(0);
        expect(runs.reconcile.status.rowsDeleted).toBeGreaterThan(0);
        expect(runs.softDelete.status.rowsDeleted).toBeGreaterThan(0);
      } finally {
        watching = false;
        await watcher;
        await Promise.all([hardWriter.stop(), softWriter.stop()]);
        await Promise.all(Object.values(runs).map((r) => r.runner.stop()));
      }
      expect(watches.map((w) => w.wrong)).toEqual([[], []]);
      expect(Math.min(...watches.map((w) => w.checks))).toBeGreaterThan(5);
    }, 240_000);
  }
});
