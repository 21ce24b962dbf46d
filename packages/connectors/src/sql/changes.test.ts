import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { tempDir } from '@idra/testkit';
import type { Batch, Column, Row } from '@idra/core';
import { createConnectorRegistry } from '../registry.ts';
import { DDL, TEST_DIALECTS, createTestDb, insertRows, makeSync, TestRun, type TestDb } from '../testing/fixtures.ts';

const COLUMNS: Column[] = [
  { name: 'id', type: 'int64' },
  { name: 'name', type: 'text' },
];

const email: Column = { name: 'email', type: 'text' };

const row = (id: number, extra: Row = {}): Row => ({ id: String(id), name: `row ${id}`, ...extra });

// The change contract on every SQL destination with a real server here (SQL Server shares the code; its statements: sql-statements.test.ts).
for (const name of TEST_DIALECTS) {
  describe(`changes in a batch: ${name}`, () => {
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

    it('applies rows, deletes by key and an added column in their order, in one write', async () => {
      const sync = makeSync(db, db, { keyColumns: ['id'], writeMode: 'upsert' });
      const destination = await createConnectorRegistry().openDestination({ sync, endpoint: sync.destination, role: 'destination' });
      const signal = new AbortController().signal;
      try {
        const position = { kind: 'id', value: null } as const;
        await destination.write({ columns: COLUMNS, rows: [row(1), row(2), row(3)], position }, signal);
        const batch: Batch = {
          columns: [...COLUMNS, email],
          // 2 is deleted then written again (it stays); 3 is written then deleted (it goes); 1 is deleted.
          rows: [row(4, { email: 'a@x' }), row(2, { email: 'b@x' }), row(3, { email: 'c@x' })],
          changes: [
            { kind: 'delete', at: 0, key: { id: '1' } },
            { kind: 'delete', at: 0, key: { id: '2' } },
            { kind: 'schema', at: 0, change: { kind: 'add', column: email } },
            { kind: 'delete', at: 3, key: { id: '3' } },
          ],
          position,
        };
        await destination.write(batch, signal);
      } finally {
        await destination.close();
      }
      expect(await db.rows('dst', ['id'])).toEqual([
        { id: '2', name: 'row 2', email: 'b@x' },
        { id: '4', name: 'row 4', email: 'a@x' },
      ]);
    });

    it('a column dropped at the source is kept, and rows written after the drop set it to NULL (upserts too, in later batches)', async () => {
      const sync = makeSync(db, db, { keyColumns: ['id'], writeMode: 'upsert' });
      const destination = await createConnectorRegistry().openDestination({ sync, endpoint: sync.destination, role: 'destination' });
      const signal = new AbortController().signal;
      const position = { kind: 'id', value: null } as const;
      const note: Column = { name: 'note', type: 'text' };
      try {
        await destination.write({ columns: [...COLUMNS, note], rows: [row(1, { note: 'a' }), row(2, { note: 'b' }), row(3, { note: 'c' })], position }, signal);
        // The drop comes in its place: row 1 is written before it (with its note), rows 2 and 4 after it.
        const dropping: Batch = {
          columns: [...COLUMNS, note],
          rows: [row(1, { note: 'a2' }), row(2), row(4)],
          changes: [{ kind: 'schema', at: 1, change: { kind: 'drop', column: 'note' } }],
          position,
        };
        await destination.write(dropping, signal);
        await destination.write({ columns: COLUMNS, rows: [row(3)], position }, signal);
      } finally {
        await destination.close();
      }
      expect(await db.rows('dst', ['id'])).toEqual([
        { id: '1', name: 'row 1', note: 'a2' },
        { id: '2', name: 'row 2', note: null },
        { id: '3', name: 'row 3', note: null },
        { id: '4', name: 'row 4', note: null },
      ]);
    });

    it('upserts over existing keys after a column was widened and one added: the write takes the altered table, not the one it knew', async () => {
      const sync = makeSync(db, db, { keyColumns: ['id'], writeMode: 'upsert' });
      // One connection: whatever the write keeps per connection (PostgreSQL's staging table) is reused.
      const endpoint = { ...sync.destination, options: { poolSize: 1 } };
      const destination = await createConnectorRegistry().openDestination({ sync, endpoint, role: 'destination' });
      const signal = new AbortController().signal;
      const position = { kind: 'id', value: null } as const;
      const narrow: Column[] = [
        { name: 'id', type: 'int64' },
        { name: 'qty', type: 'int32' },
      ];
      const wide: Column[] = [{ name: 'id', type: 'int64' }, { name: 'qty', type: 'int64' }, email];
      try {
        await destination.write({ columns: narrow, rows: [{ id: '1', qty: 1 }], position }, signal);
        // Updates of existing keys (PostgreSQL writes them through its staging table).
        await destination.write({ columns: narrow, rows: [{ id: '1', qty: 2 }], position }, signal);
        const changes: Batch['changes'] = [
          { kind: 'schema', at: 0, change: { kind: 'widen', column: wide[1]!, from: narrow[1]! } },
          { kind: 'schema', at: 0, change: { kind: 'add', column: email } },
        ];
        await destination.write({ columns: wide, rows: [{ id: '1', qty: '1099511627776', email: 'a@x' }], changes, position }, signal);
      } finally {
        await destination.close();
      }
      expect((await db.rows('dst', ['id'])).map((r) => ({ ...r, qty: String(r.qty) }))).toEqual([{ id: '1', qty: '1099511627776', email: 'a@x' }]);
    });

    it('empties the table at a truncate, in its place among the rows, in the batch transaction', async () => {
      await db.exec(`create table dst (id ${D.bigint} primary key, name ${D.shortText} not null)`);
      const sync = makeSync(db, db, { keyColumns: ['id'], writeMode: 'upsert' });
      const destination = await createConnectorRegistry().openDestination({ sync, endpoint: sync.destination, role: 'destination' });
      const signal = new AbortController().signal;
      const position = { kind: 'id', value: null } as const;
      try {
        await destination.write({ columns: COLUMNS, rows: [row(1), row(2)], position }, signal);
        await destination.write({ columns: COLUMNS, rows: [row(3), row(4)], changes: [{ kind: 'truncate', at: 1 }], position }, signal);
        expect(await db.rows('dst', ['id'])).toEqual([{ id: '4', name: 'row 4' }]);
        // A batch that fails after its truncate leaves the table as it was.
        const failing: Batch = { columns: COLUMNS, rows: [{ id: '5', name: null }], changes: [{ kind: 'truncate', at: 0 }], position };
        await expect(destination.write(failing, signal)).rejects.toThrow();
      } finally {
        await destination.close();
      }
      expect(await db.rows('dst', ['id'])).toEqual([{ id: '4', name: 'row 4' }]);
    });

    it('a delete whose batch fails is rolled back with the rows (one transaction)', async () => {
      await db.exec(`create table dst (id ${D.bigint} primary key, name ${D.shortText} not null)`);
      await insertRows(db, 'dst', [{ id: '1', name: 'one' }]);
      const sync = makeSync(db, db, { keyColumns: ['id'], writeMode: 'upsert' });
      const destination = await createConnectorRegistry().openDestination({ sync, endpoint: sync.destination, role: 'destination' });
      try {
        const batch: Batch = {
          columns: COLUMNS,
          rows: [{ id: '2', name: null }],
          changes: [{ kind: 'delete', at: 0, key: { id: '1' } }],
          position: { kind: 'id', value: null },
        };
        await expect(destination.write(batch, new AbortController().signal)).rejects.toThrow();
      } finally {
        await destination.close();
      }
      expect(await db.rows('dst', ['id'])).toEqual([{ id: '1', name: 'one' }]);
    });

    it('a change log batch of many transactions, coalesced into few statements, leaves the table as applying them in order does', async () => {
      // Keys changed, deleted then reinserted, updated without a column (an unchanged TOAST value): the
      // same batch to a cdc sync's table (coalesced) and to a full sync's (step by step, in order).
      for (const table of ['dst', 'seq']) {
        await db.exec(`create table ${table} (id ${D.bigint} primary key, name ${D.text}, doc ${D.text}, mark ${D.text} default 'd')`);
        await insertRows(
          db,
          table,
          [1, 2, 3, 4, 5, 6].map((id) => ({ id: String(id), name: 'old', doc: 'old doc', mark: 'old' })),
        );
      }
      let seed = 7;
      const random = () => (seed = (seed * 1664525 + 1013904223) >>> 0) / 2 ** 32;
      const key = () => String(1 + Math.floor(random() * 10));
      const rows: Row[] = [];
      const changes: Batch['changes'] = [];
      for (let i = 0; i < 40; i++) {
        const r = random();
        if (r < 0.4) rows.push({ id: key(), name: `n${i}`, doc: `d${i}` });
        else if (r < 0.6) rows.push({ id: key(), name: `partial ${i}` });
        else if (r < 0.8) changes.push({ kind: 'delete', at: rows.length, key: { id: key() } });
        else {
          changes.push({ kind: 'delete', at: rows.length, key: { id: key() } });
          rows.push({ id: key(), name: `moved ${i}`, doc: `m${i}` });
        }
      }
      const batch: Batch = { columns: [...COLUMNS, { name: 'doc', type: 'text' }], rows, changes, position: { kind: 'id', value: null } };
      // Only the destinations are opened: the cdc sync's source is a PostgreSQL table that need not exist.
      const logSource = { connector: 'postgres' as const, connection: { url: 'postgres://127.0.0.1/unused' }, table: 'unused' };
      const syncs = [
        makeSync(db, db, { id: 'coalesced', mode: 'cdc', cursorColumn: undefined, keyColumns: ['id'], destinationTable: 'dst', source: logSource }),
        makeSync(db, db, { id: 'in-order', mode: 'full', keyColumns: ['id'], writeMode: 'upsert', destinationTable: 'seq' }),
      ];
      for (const sync of syncs) {
        const destination = await createConnectorRegistry().openDestination({ sync, endpoint: sync.destination, role: 'destination' });
        try {
          await destination.write(batch, new AbortController().signal);
        } finally {
          await destination.close();
        }
      }
      const seq = await db.rows('seq', ['id']);
      // Reinserted rows (the destination's default in `mark`) and rows updated without `doc` are among them.
      expect(seq.some((r) => r.mark === 'd') && seq.some((r) => String(r.name).startsWith('partial') && r.doc !== null)).toBe(true);
      expect(await db.rows('dst', ['id'])).toEqual(seq);
    });

    it("a column added at the source while the sync runs reaches the destination (schemaChanges 'evolve', the default) and shows in the status", async () => {
      await db.exec(`create table src (id ${D.bigint} primary key, name ${D.text})`);
      await insertRows(db, 'src', [row(1), row(2)]);
      const run = new TestRun(makeSync(db, db, { keyColumns: ['id'] }), state);
      try {
        await run.waitFor((s) => s.rowsCopied === 2 && s.state === 'idle');
        await db.exec(`alter table src add column email ${D.text}`);
        await insertRows(db, 'src', [row(3, { email: 'c@x' })]);
        const status = await run.waitFor((s) => s.rowsCopied === 3);
        expect(status.schemaChanges).toEqual([expect.objectContaining({ outcome: 'applied', changes: ['column email added (text)'] })]);
      } finally {
        await run.runner.stop();
      }
      expect(await db.rows('dst', ['id'])).toEqual(await db.rows('src', ['id']));
      expect((await db.rows('dst', ['id']))[2]).toEqual({ id: '3', name: 'row 3', email: 'c@x' });
    });

    it("schemaChanges 'ignore' keeps copying the destination's columns; 'fail' stops naming the column", async () => {
      await db.exec(`create table src (id ${D.bigint} primary key, name ${D.text})`);
      await insertRows(db, 'src', [row(1)]);
      for (const policy of ['ignore', 'fail'] as const) {
        const dst = `dst_${policy}`;
        const run = new TestRun(makeSync(db, db, { keyColumns: ['id'], schemaChanges: policy, destinationTable: dst }), await tempDir('idra-state-'));
        try {
          await run.waitFor((s) => s.rowsCopied === 1 && s.state === 'idle');
        } finally {
          await run.runner.stop();
        }
      }
      await db.exec(`alter table src add column email ${D.text}`);
      await insertRows(db, 'src', [row(2, { email: 'b@x' })]);
      const ignoring = new TestRun(
        makeSync(db, db, { keyColumns: ['id'], schemaChanges: 'ignore', destinationTable: 'dst_ignore' }),
        await tempDir('idra-state-'),
      );
      const failing = new TestRun(makeSync(db, db, { keyColumns: ['id'], schemaChanges: 'fail', destinationTable: 'dst_fail' }), await tempDir('idra-state-'));
      try {
        await ignoring.waitFor((s) => s.state === 'idle' && s.rowsCopied === 2);
        const failed = await failing.waitFor((s) => s.state === 'failed');
        expect(failed.lastError?.code).toBe('IDRA_ERR_SCHEMA_CHANGE_REFUSED');
        expect(failed.lastError?.message).toMatch(/table dst_fail has no column "email" \(text\).*schemaChanges is 'fail'/);
      } finally {
        await Promise.all([ignoring.runner.stop(), failing.runner.stop()]);
      }
      expect(await db.rows('dst_ignore', ['id'])).toEqual([
        { id: '1', name: 'row 1' },
        { id: '2', name: 'row 2' },
      ]);
      expect(await db.rows('dst_fail', ['id'])).toEqual([{ id: '1', name: 'row 1' }]);
    });
  });
}

// Types widened at a PostgreSQL source while the sync runs, into each destination: PostgreSQL and MariaDB alter the
// column; SQLite needs no ALTER (an INTEGER column holds any 64-bit integer, Idra's decimal columns are text), and the
// values beyond the old bounds arrive exact. A narrowing then stops the sync naming the column, both types and what to do.
describe('widened and narrowed source columns (PostgreSQL source)', () => {
  it.each(TEST_DIALECTS)('→ %s: widening is followed, narrowing stops the sync with the column, old and new type', async (name) => {
    const [source, destination] = await Promise.all([createTestDb('postgres'), createTestDb(name)]);
    await source.exec('create table src (id integer primary key, amount numeric(10,2))');
    await insertRows(source, 'src', [{ id: '1', amount: '12345678.90' }]);
    const run = new TestRun(makeSync(source, destination, { keyColumns: ['id'] }), await tempDir('idra-state-'));
    try {
      await run.waitFor((s) => s.rowsCopied === 1 && s.state === 'idle');
      await source.exec('alter table src alter column id type bigint, alter column amount type numeric(30,2)');
      await insertRows(source, 'src', [{ id: '9007199254740993', amount: '1234567890123456789012345678.91' }]);
      const widened = await run.waitFor((s) => s.rowsCopied === 2);
      expect(widened.schemaChanges?.[0]).toMatchObject({
        outcome: 'applied',
        changes: ['column id widened from int32 to int64', 'column amount widened from decimal(10,2) to decimal(30,2)'],
      });
      expect((await destination.rows('dst', ['id'])).map((r) => [String(r['id']), String(r['amount'])])).toEqual([
        ['1', '12345678.90'],
        ['9007199254740993', '1234567890123456789012345678.91'],
      ]);
      await source.exec('delete from src where id > 1');
      await source.exec('alter table src alter column amount type numeric(12,2)');
      await insertRows(source, 'src', [{ id: '9007199254740994', amount: '1.00' }]);
      const failed = await run.waitFor((s) => s.state === 'failed');
      expect(failed.lastError?.code).toBe('IDRA_ERR_SCHEMA_CHANGE_REFUSED');
      expect(failed.lastError?.message).toBe(
        "source column amount changed from decimal(30,2) to decimal(12,2) and a narrower type cannot be followed without losing values (schemaChanges 'evolve' follows only widening changes): change the destination column by hand (or recreate the table) and press Retry, or reset the sync",
      );
    } finally {
      await run.runner.stop();
      await Promise.all([source.drop(), destination.drop()]);
    }
  });
});
