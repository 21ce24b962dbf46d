import { randomBytes } from 'node:crypto';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { sql } from 'kysely';
import { tempDir } from '@idra/testkit';
import { FileOffsetStore, SyncRunner, sleep, type Batch, type Logger, type Position, type Sync } from '@idra/core';
import { createConnectorRegistry } from '../registry.ts';
import { DDL, createTestDb, makeSync, privateMariadb, type TestDb } from '../testing/fixtures.ts';
import { unguarded } from '../testing/torture.ts';
import type { SqlDialect, TransactionView } from './dialect.ts';
import { SqlSource } from './sql-source.ts';
import { Watermark } from './watermark.ts';

const signal = new AbortController().signal;
const START_TS: Position = { kind: 'timestamp', value: null, tiebreaker: null };
const START_ID: Position = { kind: 'id', value: null };

const heldOpen: Array<{ commit(): Promise<void> }> = [];

/** Runs statements in a transaction on a connection of its own and keeps it open until `commit` (or the test's end). */
async function holdOpen(db: TestDb, statements: string[]): Promise<{ commit(): Promise<void> }> {
  const pool = await db.dialect.connect(db.connection, {});
  let release!: () => void;
  let ready!: () => void;
  const gate = new Promise<void>((r) => (release = r));
  const started = new Promise<void>((r) => (ready = r));
  const done = pool.transaction(async (session) => {
    for (const statement of statements) await session.execute(sql.raw(statement).compile(db.dialect.db));
    ready();
    await gate;
  });
  await Promise.race([started, done]);
  let committed: Promise<void> | undefined;
  const handle = {
    commit: () =>
      (committed ??= (async () => {
        release();
        await done;
        await pool.close();
      })()),
  };
  heldOpen.push(handle);
  return handle;
}

/**
 * Reads until `until` holds for what was read so far and the last batch (MariaDB lists open
 * transactions through a cache that another reader may have just filled: a read may keep its
 * previous limit once, so the status can lag one poll).
 */
async function readUntil(source: SqlSource, from: Position, until: (rows: string[], batch: Batch) => boolean): Promise<{ rows: string[]; batch: Batch }> {
  const rows: string[] = [];
  let position = from;
  const deadline = Date.now() + 10_000;
  for (;;) {
    const batch = await source.read(position, 7, signal);
    rows.push(...ids(batch.rows));
    position = batch.position;
    if (until(rows, batch)) return { rows, batch };
    if (Date.now() > deadline) throw new Error(`read ${JSON.stringify(rows)}; last batch ${JSON.stringify({ ...batch, columns: undefined })}`);
    await sleep(150);
  }
}

function openSource(dialect: SqlDialect, sync: Sync): Promise<SqlSource> {
  return SqlSource.open(dialect, { sync, endpoint: sync.source, role: 'source' });
}

const ids = (rows: Array<Record<string, unknown>>) => rows.map((r) => String(r.id));

// How long the clock part of each dialect's watermark stays behind (see the dialect files), plus slack.
const PAST_CLOCK_GUARD_MS = { postgres: 300, mysql: 1300 } as const;

// These tests hold transactions open on purpose: MariaDB's innodb_trx spans every database of a
// server, so they get a server of their own instead of holding back other test files' syncs.
let mariadb: Awaited<ReturnType<typeof privateMariadb>>;
beforeAll(async () => {
  mariadb = await privateMariadb();
});
afterAll(async () => {
  await mariadb.stop();
});
const testDb = (name: 'postgres' | 'mysql') => createTestDb(name, name === 'mysql' ? mariadb.url : undefined);

for (const name of ['postgres', 'mysql'] as const) {
  describe(`late commits behind the cursor: ${name}`, () => {
    const D = DDL[name];
    let db: TestDb;
    const sources: SqlSource[] = [];
    const open = async (dialect: SqlDialect, sync: Sync) => {
      const source = await openSource(dialect, sync);
      sources.push(source);
      return source;
    };

    beforeEach(async () => {
      db = await testDb(name);
    });
    afterEach(async () => {
      await Promise.all(heldOpen.splice(0).map((h) => h.commit()));
      await Promise.all(sources.splice(0).map((s) => s.close()));
      await db.drop();
    });

    it('timestamp mode: a row stamped after an open transaction started waits until that transaction commits', async () => {
      await db.exec(`create table src (id ${D.bigint} primary key, ts ${D.ts} not null, v ${D.text})`);
      const sync = makeSync(db, db, { mode: 'timestamp', cursorColumn: 'ts', tiebreakerColumn: 'id', keyColumns: ['id'] });
      const source = await open(db.dialect, sync);

      const early = await holdOpen(db, [`insert into src values (5, ${D.now}, 'early')`]);
      await db.exec(`insert into src values (6, ${D.now}, 'late')`);
      await sleep(PAST_CLOCK_GUARD_MS[name]);
      const held = await readUntil(source, START_TS, (_, b) => b.heldBack !== undefined);
      expect(held.rows).toEqual([]);
      expect(held.batch.heldBack).toMatch(/^oldest open transaction \((pid|connection) \d+\) started \d+\.\d s ago$/);
      expect(held.batch.watermark).toMatch(/^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d/);
      expect(held.batch.warning).toBeUndefined();

      await early.commit();
      const after = await readUntil(source, held.batch.position, (rows) => rows.length >= 2);
      expect(after.rows).toEqual(['5', '6']);
      expect(after.batch.heldBack).toBeUndefined();
    });

    it('timestamp mode without the watermark skips the row of a transaction that commits late (the guard matters)', async () => {
      await db.exec(`create table src (id ${D.bigint} primary key, ts ${D.ts} not null, v ${D.text})`);
      const sync = makeSync(db, db, { mode: 'timestamp', cursorColumn: 'ts', tiebreakerColumn: 'id', keyColumns: ['id'] });
      const source = await open(unguarded(db.dialect), sync);

      const early = await holdOpen(db, [`insert into src values (5, ${D.now}, 'early')`]);
      await db.exec(`insert into src values (6, ${D.now}, 'late')`);
      const first = await source.read(START_TS, 7, signal);
      expect(ids(first.rows)).toEqual(['6']);
      await early.commit();
      const second = await source.read(first.position, 7, signal);
      expect(ids(second.rows)).toEqual([]); // row 5 is committed now, but it lies behind the cursor: lost
      expect(await db.count('src')).toBe(2);
    });

    it('id mode: an id taken early and committed late is never passed over, also right after a restart', async () => {
      await db.exec(`create table src (id ${D.identity}, v ${D.text})`);
      await db.exec(`insert into src (v) values ('a'), ('b'), ('c')`);
      const sync = makeSync(db, db, { mode: 'id', cursorColumn: 'id' });
      const source = await open(db.dialect, sync);
      const first = await readUntil(source, START_ID, (rows) => rows.length >= 3);
      expect(first.rows).toEqual(['1', '2', '3']);
      expect(first.batch.watermark).toBe('3');

      const early = await holdOpen(db, [`insert into src (v) values ('early')`]); // takes id 4
      await db.exec(`insert into src (v) values ('late')`); // id 5, committed first
      const held = await readUntil(source, first.batch.position, (_, b) => b.heldBack !== undefined);
      expect(held.rows).toEqual([]);
      expect(held.batch.watermark).toBe('3');
      expect(held.batch.heldBack).toMatch(/^ids above 3 wait: a transaction open for \d+\.\d s \((pid|connection) \d+\) may still commit lower ids$/);

      // A source that has just started knows no safe limit yet while a transaction is open.
      const restarted = await open(db.dialect, sync);
      const fresh = await readUntil(restarted, first.batch.position, (_, b) => b.heldBack !== undefined);
      expect(fresh.rows).toEqual([]);
      expect(fresh.batch.watermark).toBeUndefined();
      expect(fresh.batch.heldBack).toMatch(/^all ids wait: /);

      await early.commit();
      expect((await readUntil(source, held.batch.position, (rows) => rows.length >= 2)).rows).toEqual(['4', '5']);
      expect((await readUntil(restarted, fresh.batch.position, (rows) => rows.length >= 2)).rows).toEqual(['4', '5']);
    });

    it('id mode without the watermark skips an id committed late (the guard matters)', async () => {
      await db.exec(`create table src (id ${D.identity}, v ${D.text})`);
      const sync = makeSync(db, db, { mode: 'id', cursorColumn: 'id' });
      const source = await open(unguarded(db.dialect), sync);
      const early = await holdOpen(db, [`insert into src (v) values ('early')`]); // id 1
      await db.exec(`insert into src (v) values ('late')`); // id 2
      const first = await source.read(START_ID, 7, signal);
      expect(ids(first.rows)).toEqual(['2']);
      await early.commit();
      expect(ids((await source.read(first.position, 7, signal)).rows)).toEqual([]); // id 1: lost
    });
  });
}

describe('without the privilege to see other sessions, the delay alone protects and the status says so', () => {
  let db: TestDb;
  afterEach(async () => {
    await Promise.all(heldOpen.splice(0).map((h) => h.commit()));
    await db.drop();
  });

  it('postgres: without pg_read_all_stats, other roles\' transactions are hidden; one warning in the status and the log', async () => {
    db = await testDb('postgres');
    const role = `idra_np_${randomBytes(4).toString('hex')}`;
    await db.exec(`create table src (id bigint primary key, ts timestamp(6) not null)`);
    await db.exec(`insert into src values (1, now() - interval '1 minute')`);
    await db.exec(`create role ${role} login`);
    await db.exec(`grant select on src to ${role}`);
    const url = new URL(db.connection.url!);
    url.username = role;
    const sync = makeSync(db, db, { mode: 'timestamp', cursorColumn: 'ts', tiebreakerColumn: 'id', keyColumns: ['id'], pollIntervalMs: 20 });
    sync.source = { ...sync.source, connection: { url: url.toString() } };

    const other = await holdOpen(db, ['select 1']); // a session of another role, in a transaction
    const warnings: string[] = [];
    const logger: Logger = {
      debug() {},
      info() {},
      error() {},
      warn: (obj, msg) => void (msg === 'source warning' && warnings.push(String((obj as { warning?: string }).warning))),
      child: () => logger,
    };
    const runner = new SyncRunner({
      sync,
      connectors: createConnectorRegistry(),
      offsets: new FileOffsetStore(await tempDir('idra-state-')),
      deadLetters: { record: async () => {} },
      agentId: 'test-agent',
      logger,
    });
    void runner.start();
    try {
      const deadline = Date.now() + 20_000;
      while (runner.snapshot.batches < 1 || warnings.length === 0) {
        if (Date.now() > deadline) throw new Error(`timed out: ${JSON.stringify(runner.snapshot)}`);
        await sleep(20);
      }
      await sleep(200); // several more polls: still one warning in the log
      expect(runner.snapshot.warning).toMatch(/^the transactions of \d+ session\(s\) of other roles cannot be seen \(grant pg_read_all_stats to the source's user\): only delayMs \(0 ms\) protects/);
      expect(warnings).toEqual([runner.snapshot.warning]);
      expect(runner.snapshot.rowsCopied).toBe(1);
    } finally {
      await runner.stop();
      await other.commit();
      await db.exec(`drop owned by ${role}`);
      await db.exec(`drop role ${role}`);
    }
  });

  it('mysql: without PROCESS, innodb_trx cannot be read; the read goes on with the delay and warns', async () => {
    db = await testDb('mysql');
    const user = `idra_np_${randomBytes(4).toString('hex')}`;
    const url = new URL(db.connection.url!);
    await db.exec(`create table src (id bigint primary key, ts datetime(6) not null)`);
    await db.exec(`insert into src values (1, now(6) - interval 1 minute)`);
    await db.exec(`create user '${user}'@'%' identified by 'np'`);
    await db.exec(`grant select on \`${url.pathname.slice(1)}\`.* to '${user}'@'%'`);
    url.username = user;
    url.password = 'np';
    const sync = makeSync(db, db, { mode: 'timestamp', cursorColumn: 'ts', tiebreakerColumn: 'id', keyColumns: ['id'], delayMs: 2000 });
    sync.source = { ...sync.source, connection: { url: url.toString() } };
    const source = await openSource(db.dialect, sync);
    try {
      const batch = await source.read(START_TS, 7, signal);
      expect(ids(batch.rows)).toEqual(['1']);
      expect(batch.warning).toBe(
        "other connections' transactions cannot be seen (information_schema.innodb_trx needs the PROCESS privilege): only delayMs (2000 ms) protects rows they commit late",
      );
    } finally {
      await source.close();
      await db.exec(`drop user '${user}'@'%'`);
    }
  });
});

describe('Watermark (the limit logic, without a database)', () => {
  const at = (s: number) => `2024-05-01 12:00:${String(s).padStart(2, '0')}.000000`;
  const view = (v: Partial<TransactionView> & { at: string }): TransactionView => ({ timestampLimit: v.at, ...v });

  it('id cursor: the newest observation older than every open transaction is the limit', () => {
    const w = new Watermark('id', 0);
    expect(w.next(view({ at: at(1), maxCursor: '10' })).value).toBe('10'); // nobody else open: the current max
    // A transaction opened at :02 holds an id; ids up to 20 are visible at :03 and 30 at :04.
    const open = { start: at(2), ageMs: 1000, holder: 'pid 7' };
    expect(w.next(view({ at: at(3), maxCursor: '20', oldest: open })).value).toBe('10');
    expect(w.next(view({ at: at(4), maxCursor: '30', oldest: open })).value).toBe('10');
    // It commits; another one opens at :04.5 — observations up to :04 are final now.
    const next = { start: '2024-05-01 12:00:04.500000', ageMs: 500, holder: 'pid 8' };
    const limit = w.next(view({ at: at(5), maxCursor: '40', oldest: next }));
    expect(limit.value).toBe('30');
    expect(limit.heldBack).toBe('ids above 30 wait: a transaction open for 0.5 s (pid 8) may still commit lower ids');
  });

  it('id cursor: after a restart nothing is read while a transaction is open; delayMs makes observations wait', () => {
    const w = new Watermark('id', 2000);
    const first = w.next(view({ at: at(1), maxCursor: '10' }));
    expect(first).toMatchObject({ hold: true, value: undefined, heldBack: 'all ids wait for delayMs (2000 ms)' });
    expect(w.next(view({ at: at(2), maxCursor: '12' })).value).toBeUndefined();
    expect(w.next(view({ at: at(3), maxCursor: '15' })).value).toBe('10');
    expect(w.next(view({ at: at(5), maxCursor: '15' })).value).toBe('15');
  });

  it('a stale list or a prepared transaction keeps the previous limit; limits never move back', () => {
    const ts = new Watermark('timestamp', 0);
    expect(ts.next(view({ at: at(5), timestampLimit: at(4) })).value).toBe(at(4));
    expect(ts.next(view({ at: at(6), timestampLimit: at(3) })).value).toBe(at(4));
    expect(ts.next(view({ at: at(7), timestampLimit: at(7), stale: { retryInMs: 110 } })).value).toBe(at(4));
    const prepared = ts.next(view({ at: at(8), timestampLimit: at(8), unknown: '1 prepared transaction(s)' }));
    expect(prepared).toMatchObject({ value: at(4), heldBack: '1 prepared transaction(s)' });
    expect(ts.next(view({ at: at(9), timestampLimit: at(8) })).value).toBe(at(8));
    const fresh = new Watermark('timestamp', 0);
    expect(fresh.next(view({ at: at(1), stale: { retryInMs: 110 } }))).toMatchObject({ hold: true, staleRetryMs: 110 });
  });

  it('the first warning stays for the life of the source', () => {
    const w = new Watermark('timestamp', 0);
    expect(w.next(view({ at: at(1), blind: 'cannot see' })).warning).toBe('cannot see');
    expect(w.next(view({ at: at(2) })).warning).toBe('cannot see');
  });
});
