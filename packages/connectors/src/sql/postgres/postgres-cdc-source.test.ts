import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { inject } from 'vitest';
import pg from 'pg';
import { createDatabase, until, type TestDatabase } from '@idra/testkit';
import { normalizeSync, validateSyncConfig, type Batch, type Position, type Row, type Source, type Sync } from '@idra/core';
import { PostgresCdcSource, type PgCdcOffset } from './postgres-cdc-source.ts';
import { defaultSlotName } from './postgres-cdc-options.ts';
import { postgresDialect } from './postgres-dialect.ts';

// The cdc source read directly, batch by batch, against a real server with wal_level=logical: what
// it hands the runner is applied to a map by key here, and compared with the table at the end.

let db: TestDatabase;
let admin: pg.Client;
let n = 0;

beforeAll(async () => {
  db = await createDatabase('postgres', inject('pgUrl'));
  admin = new pg.Client(db.url);
  await admin.connect();
});

afterAll(async () => {
  // Slots outlive databases' connections: every slot of this file is dropped.
  await admin
    ?.query("select pg_drop_replication_slot(slot_name) from pg_replication_slots where slot_name like 'idra_cdc_src_%' and not active")
    .catch(() => {});
  await admin?.end();
  await db?.drop();
});

/** A new table and a cdc sync of it (a slot name of its own). */
async function table(ddl = 'id bigint primary key, label text, n int', options: Record<string, unknown> = {}): Promise<{ sync: Sync; name: string }> {
  const name = `t${++n}`;
  await admin.query(`create table ${name} (${ddl})`);
  const config = validateSyncConfig({
    id: `cdc-src-${name}-${process.pid}`,
    source: { connector: 'postgres', connection: { url: db.url }, table: name, options },
    destination: { connector: 'postgres', connection: { url: db.url }, table: `${name}_copy` },
    mode: 'cdc',
    keyColumns: ['id'],
    pollIntervalMs: 200,
  });
  return { sync: normalizeSync(config), name };
}

const open = (sync: Sync) => PostgresCdcSource.open(postgresDialect, { sync, endpoint: sync.source, role: 'source' });

/** Applies a batch in order to rows by key, as a destination would. */
function apply(rows: Map<string, Row>, batch: Batch): void {
  const changes = [...(batch.changes ?? [])];
  const run = (upTo: number) => {
    while (changes.length > 0 && changes[0]!.at <= upTo) {
      const change = changes.shift()!;
      if (change.kind === 'delete') rows.delete(String(change.key.id));
      if (change.kind === 'truncate') rows.clear();
    }
  };
  batch.rows.forEach((row, i) => {
    run(i);
    const key = String(row.id);
    rows.set(key, { ...rows.get(key), ...row });
  });
  run(Infinity);
}

/** Reads and applies batches (committing each) until `done` holds. */
async function follow(
  source: Source,
  from: Position,
  rows: Map<string, Row>,
  done: (position: Position) => boolean | Promise<boolean>,
  limit = 100,
): Promise<Position> {
  let position = from;
  await until(
    'the source to catch up',
    async () => {
      const batch = await source.read(position, limit, AbortSignal.timeout(30_000));
      apply(rows, batch);
      position = batch.position;
      await source.committed?.(position);
      return done(position);
    },
    { timeoutMs: 60_000, intervalMs: 0 },
  );
  return position;
}

async function tableRows(name: string): Promise<Map<string, Row>> {
  const { rows } = await admin.query(`select * from ${name} order by id`);
  return new Map(rows.map((r: Row) => [String(r.id), Object.fromEntries(Object.entries(r).map(([k, v]) => [k, v === null ? null : String(v)]))]));
}

const normalized = (rows: Map<string, Row>) =>
  new Map([...rows].map(([k, r]) => [k, Object.fromEntries(Object.entries(r).map(([c, v]) => [c, v === null ? null : String(v)]))]));
const offset = (p: Position) => p.value as PgCdcOffset;
const streaming = (p: Position) => p.kind === 'stream' && p.value !== null && offset(p).snapshot === undefined;

async function slot(name: string): Promise<{ confirmed: string | null; active: boolean } | undefined> {
  const { rows } = await admin.query('select confirmed_flush_lsn::text as confirmed, active from pg_replication_slots where slot_name = $1', [name]);
  return rows[0];
}

describe('PostgreSQL cdc source', () => {
  it('copies the snapshot the slot exported, then streams what changed after it: no gap, no overlap', async () => {
    const { sync, name } = await table();
    await admin.query(`insert into ${name} select g, 'v' || g, 0 from generate_series(1, 500) g`);
    const source = await open(sync);
    try {
      const rows = new Map<string, Row>();
      const first = await source.read({ kind: 'stream', value: null }, 100, AbortSignal.timeout(30_000));
      expect(first.rows).toHaveLength(100);
      expect(offset(first.position)).toMatchObject({ slot: defaultSlotName(sync.id), snapshot: { rows: 100, total: expect.any(Number) } });
      apply(rows, first);
      // Written after the snapshot: the copy must not see these, the stream must bring them.
      await admin.query(`insert into ${name} select g, 'new' || g, 1 from generate_series(501, 600) g`);
      await admin.query(`update ${name} set label = 'changed', n = 2 where id = 1`);
      await admin.query(`delete from ${name} where id = 2`);
      const copied: Row[] = [];
      let position = first.position;
      while (!streaming(position)) {
        const batch = await source.read(position, 100, AbortSignal.timeout(30_000));
        copied.push(...batch.rows);
        apply(rows, batch);
        position = batch.position;
      }
      expect(copied.length + first.rows.length).toBe(500);
      expect(rows.get('1')).toMatchObject({ label: 'v1' });
      expect(rows.has('2')).toBe(true);
      expect(rows.has('501')).toBe(false);
      await follow(source, position, rows, async () => normalized(rows).size === 599 && normalized(rows).get('1')?.label === 'changed');
      expect(normalized(rows)).toEqual(await tableRows(name));
    } finally {
      await source.close();
    }
  });

  it('turns a key change into a delete and an insert, leaves out unchanged TOAST values, applies truncates and sees added columns', async () => {
    const { sync, name } = await table('id bigint primary key, label text, doc text', { snapshot: 'never' });
    await admin.query(`alter table ${name} alter column doc set storage external`);
    const source = await open(sync);
    try {
      const start = await source.read({ kind: 'stream', value: null }, 100, AbortSignal.timeout(30_000));
      expect(start.rows).toEqual([]);
      const big = 'x'.repeat(50_000);
      await admin.query(`insert into ${name} values (1, 'one', $1)`, [big]);
      await admin.query(`update ${name} set label = 'uno' where id = 1`);
      await admin.query(`update ${name} set id = 10 where id = 1`);
      const batches: Batch[] = [];
      let position = start.position;
      await until('three transactions', async () => {
        const batch = await source.read(position, 100, AbortSignal.timeout(30_000));
        batches.push(batch);
        position = batch.position;
        return batches.reduce((sum, b) => sum + b.rows.length, 0) >= 3;
      });
      const rows = batches.flatMap((b) => b.rows);
      expect(rows[0]!.doc === big).toBe(true);
      // The update left doc alone: it is not in the row, so the destination keeps what it has.
      expect(rows[1]).toEqual({ id: '1', label: 'uno' });
      expect(rows[2]).toMatchObject({ id: '10', label: 'uno' });
      expect(batches.flatMap((b) => b.changes ?? []).filter((c) => c.kind === 'delete')).toEqual([
        { kind: 'delete', at: expect.any(Number), key: { id: '1' } },
      ]);
      // One insert, two updates (the key change is a delete and an update of the row under its new key).
      expect(batches.reduce((sum, b) => sum + (b.updates ?? 0), 0)).toBe(2);

      await admin.query(`truncate ${name}`);
      await admin.query(`alter table ${name} add column extra numeric(10,2)`);
      await admin.query(`insert into ${name} (id, extra) values (5, 1.50)`);
      const later: Batch[] = [];
      await until('the truncate and the new column', async () => {
        const batch = await source.read(position, 100, AbortSignal.timeout(30_000));
        later.push(batch);
        position = batch.position;
        return later.some((b) => b.rows.some((r) => r.id === '5'));
      });
      expect(later.flatMap((b) => b.changes ?? []).map((c) => c.kind)).toEqual(['truncate']);
      // The runner compares columns between batches: the new one is there, typed.
      expect(later.at(-1)!.columns.find((c) => c.name === 'extra')).toEqual({ name: 'extra', type: 'decimal', precision: 10, scale: 2 });
      expect(later.flatMap((b) => b.rows)).toEqual([{ id: '5', label: null, doc: null, extra: '1.50' }]);
    } finally {
      await source.close();
    }
  });

  it('keeps a transaction whole beyond batchSize, and splits one beyond maxTransactionRows with the offset before it', async () => {
    const { sync, name } = await table('id bigint primary key, label text', { snapshot: 'never', maxTransactionRows: 300 });
    const source = await open(sync);
    try {
      let position = (await source.read({ kind: 'stream', value: null }, 50, AbortSignal.timeout(30_000))).position;
      const before = offset(position).lsn;
      await admin.query(`insert into ${name} select g, 'a' from generate_series(1, 200) g`);
      const whole = await until('the transaction', async () => {
        const batch = await source.read(position, 50, AbortSignal.timeout(30_000));
        return batch.rows.length > 0 && batch;
      });
      expect(whole.rows).toHaveLength(200);
      expect(offset(whole.position).lsn).not.toBe(before);
      position = whole.position;
      await admin.query(`insert into ${name} select g, 'b' from generate_series(1001, 1700) g`);
      const pieces: Array<{ rows: number; from: string; to: string }> = [];
      await until('the large transaction', async () => {
        const batch = await source.read(position, 250, AbortSignal.timeout(30_000));
        if (batch.rows.length > 0) pieces.push({ rows: batch.rows.length, from: offset(position).lsn, to: offset(batch.position).lsn });
        position = batch.position;
        return pieces.reduce((sum, b) => sum + b.rows, 0) >= 700;
      });
      // Pieces of at most batchSize rows; only the last one moves the offset past the transaction.
      expect(pieces.map((b) => b.rows)).toEqual([250, 250, 200]);
      expect(pieces.map((b) => b.from === b.to)).toEqual([true, true, false]);
    } finally {
      await source.close();
    }
  });

  it('moves the slot only when told a position is committed, and resumes there in a new source', async () => {
    const { sync, name } = await table('id bigint primary key, label text', { snapshot: 'never' });
    const slotName = defaultSlotName(sync.id);
    let source = await open(sync);
    let position: Position;
    try {
      position = (await source.read({ kind: 'stream', value: null }, 50, AbortSignal.timeout(30_000))).position;
      await admin.query(`insert into ${name} values (1, 'a')`);
      const batch = await until('the insert', async () => {
        const b = await source.read(position, 50, AbortSignal.timeout(30_000));
        return b.rows.length > 0 && b;
      });
      const confirmed = (await slot(slotName))!.confirmed;
      expect(confirmed).toBe(offset(position).lsn);
      await source.committed!(batch.position);
      await until('the slot to move', async () => (await slot(slotName))?.confirmed === offset(batch.position).lsn);
      position = batch.position;
    } finally {
      await source.close();
    }
    await admin.query(`insert into ${name} values (2, 'b')`);
    source = await open(sync);
    try {
      const next = await until('the second insert', async () => {
        const b = await source.read(position, 50, AbortSignal.timeout(30_000));
        position = b.position;
        return b.rows.length > 0 && b;
      });
      expect(next.rows).toEqual([{ id: '2', label: 'b' }]);
    } finally {
      await source.close();
    }
  });

  it('follows the log past transactions of other tables, so the slot does not hold the WAL', async () => {
    const { sync } = await table('id bigint primary key', { snapshot: 'never' });
    const source = await open(sync);
    try {
      const start = (await source.read({ kind: 'stream', value: null }, 50, AbortSignal.timeout(30_000))).position;
      await admin.query('create table other (id int); insert into other values (1)');
      const moved = await until('the position to move', async () => {
        const b = await source.read(start, 50, AbortSignal.timeout(30_000));
        expect(b.rows).toEqual([]);
        return offset(b.position).lsn !== offset(start).lsn && b;
      });
      expect(moved.changes ?? []).toEqual([]);
    } finally {
      await source.close();
    }
  });

  it('copies in parallel key ranges, resumes the copy in a new source after a crash, and ends equal to the table', async () => {
    const { sync, name } = await table('id bigint primary key, label text, n int', { snapshotParallelism: 4 });
    await admin.query(`insert into ${name} select g, 'v' || g, 0 from generate_series(1, 2000) g`);
    await admin.query(`analyze ${name}`);
    const rows = new Map<string, Row>();
    let source = await open(sync);
    let position: Position;
    try {
      const first = await source.read({ kind: 'stream', value: null }, 200, AbortSignal.timeout(30_000));
      expect(offset(first.position).snapshot?.parts).toHaveLength(4);
      apply(rows, first);
      position = first.position;
    } finally {
      // As if the agent died: nothing else is committed.
      await source.close();
    }
    await admin.query(`update ${name} set label = 'late', n = n + 1 where id % 7 = 0`);
    await admin.query(`delete from ${name} where id % 11 = 0`);
    await admin.query(`insert into ${name} select g, 'after', 5 from generate_series(2001, 2100) g`);
    source = await open(sync);
    try {
      const expected = await tableRows(name);
      await follow(source, position, rows, (p) => streaming(p) && normalized(rows).size === expected.size && normalized(rows).get('14')?.label === 'late', 200);
      expect(normalized(rows)).toEqual(expected);
    } finally {
      await source.close();
    }
  });

  it('refuses an offset behind its slot, a slot that is gone, and a table whose deletes would not name their row', async () => {
    const { sync, name } = await table('id bigint primary key', { snapshot: 'never' });
    const source = await open(sync);
    let position: Position;
    try {
      position = (await source.read({ kind: 'stream', value: null }, 50, AbortSignal.timeout(30_000))).position;
      await admin.query(`insert into ${name} values (1)`);
      const batch = await until('the insert', async () => {
        const b = await source.read(position, 50, AbortSignal.timeout(30_000));
        return b.rows.length > 0 && b;
      });
      await source.committed!(batch.position);
      await until('the slot to move', async () => (await slot(defaultSlotName(sync.id)))?.confirmed === offset(batch.position).lsn);
    } finally {
      await source.close();
    }
    const again = await open(sync);
    try {
      await expect(again.read(position, 50, AbortSignal.timeout(30_000))).rejects.toThrow(
        /is behind the replication slot .*: the changes in between are gone; reset the offset/,
      );
    } finally {
      await again.close();
    }
    await admin.query('select pg_drop_replication_slot($1)', [defaultSlotName(sync.id)]);
    const third = await open(sync);
    try {
      await expect(third.read(position, 50, AbortSignal.timeout(30_000))).rejects.toThrow(/the replication slot idra_cdc_src_.* is gone/);
    } finally {
      await third.close();
    }
    const keyless = await table('id bigint, label text');
    await expect(open(keyless.sync)).rejects.toThrow(/has no replica identity .*REPLICA IDENTITY FULL/);
  });
});
