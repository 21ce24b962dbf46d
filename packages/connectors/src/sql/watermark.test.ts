import { randomBytes } from 'node:crypto';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { sql } from 'kysely';
import { tempDir } from '@idra/testkit';
import pg from 'pg';
import {
  FileOffsetStore,
  SyncRunner,
  WatermarkBlindError,
  sleep,
  type Batch,
  type Logger,
  type Position,
  type Sync,
  type SyncConfig,
  type SyncStatus,
} from '@idra/core';
import { createConnectorRegistry } from '../registry.ts';
import { DDL, createTestDb, makeSync, privateMariadb, restrictedUser, type RestrictedUser, type TestDb } from '../testing/fixtures.ts';
import { unguarded } from '../testing/torture.ts';
import type { SqlDialect, TransactionView } from './dialect.ts';
import { SqlSource } from './sql-source.ts';
import { Watermark, refuseBlindReads } from './watermark.ts';

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
      // The blocking session, for the metric that names it: the one the message names.
      expect(held.batch.heldBack).toContain(`(${held.batch.blockedBy?.session})`);
      expect(held.batch.blockedBy?.seconds).toBeGreaterThan(0);
      expect(held.batch.watermark).toMatch(/^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d/);
      expect(held.batch.warning).toBeUndefined();

      await early.commit();
      const after = await readUntil(source, held.batch.position, (rows) => rows.length >= 2);
      expect(after.rows).toEqual(['5', '6']);
      expect(after.batch.heldBack).toBeUndefined();
      expect(after.batch.blockedBy).toBeUndefined();
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
      expect(held.batch.heldBack).toContain(`(${held.batch.blockedBy?.session})`);

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

/** A sync run in-process with rechecks every 100 ms, recording the warnings and errors it logs. */
async function startSync(sync: Sync) {
  const warnings: string[] = [];
  const errors: string[] = [];
  const logger: Logger = {
    debug() {},
    info() {},
    error: (obj, msg) => void (msg?.startsWith('sync cannot run') && errors.push(String((obj as { err?: string }).err))),
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
    backoff: { initialMs: 20, maxMs: 200 },
    recheckMs: 100,
  });
  void runner.start();
  const until = async (what: string, predicate: (s: SyncStatus) => boolean): Promise<SyncStatus> => {
    const deadline = Date.now() + 20_000;
    while (!predicate(runner.snapshot)) {
      if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}: ${JSON.stringify(runner.snapshot)}`);
      await sleep(20);
    }
    return runner.snapshot;
  };
  return { runner, warnings, errors, until };
}

const BLIND = {
  postgres: /^the transactions of \d+ session\(s\) of other roles cannot be seen/,
  mysql: /^other connections' transactions cannot be seen \(information_schema\.innodb_trx needs the PROCESS privilege\)/,
} as const;

for (const name of ['postgres', 'mysql'] as const) {
  describe(`${name}: a source that cannot see other sessions' transactions does not run unless the sync accepts the delay alone`, () => {
    const D = DDL[name];
    let db: TestDb;
    let user: RestrictedUser;
    let runners: SyncRunner[] = [];

    beforeEach(async () => {
      db = await testDb(name);
      await db.exec(`create table src (id bigint primary key, ts ${D.ts} not null)`);
      await db.exec(
        `insert into src values (1, ${D.now} - interval ${name === 'postgres' ? "'1 minute'" : '1 minute'}), (2, ${D.now} - interval ${name === 'postgres' ? "'1 minute'" : '1 minute'}), (3, ${D.now} - interval ${name === 'postgres' ? "'1 minute'" : '1 minute'})`,
      );
      user = await restrictedUser(db, name);
    });
    afterEach(async () => {
      await Promise.all(runners.map((r) => r.stop()));
      runners = [];
      await Promise.all(heldOpen.splice(0).map((h) => h.commit()));
      await user.drop();
      await db.drop();
    });

    /** The timestamp sync of `src` into `table`, reading as the restricted user. */
    const syncOf = (overrides: Partial<SyncConfig>, table = 'dst'): Sync => {
      const sync = makeSync(db, db, {
        mode: 'timestamp',
        cursorColumn: 'ts',
        tiebreakerColumn: 'id',
        keyColumns: ['id'],
        pollIntervalMs: 20,
        destinationTable: table,
        ...overrides,
      });
      sync.source = { ...sync.source, connection: { url: user.url } };
      return sync;
    };
    const run = async (sync: Sync) => {
      const started = await startSync(sync);
      runners.push(started.runner);
      return started;
    };
    // A writer of another role (the test's own superuser), in a transaction.
    const otherWriter = () => holdOpen(db, [`insert into src values (100, ${D.now})`]);

    it("with the privilege nothing changes: the other role's open transaction holds rows back, no warning", async () => {
      await user.grant();
      const writer = await otherWriter();
      const { until, warnings } = await run(syncOf({}));
      const held = await until('the three old rows, held back by the open transaction', (s) => s.rowsCopied === 3 && s.heldBack !== undefined);
      expect(held.heldBack).toMatch(/^oldest open transaction \((pid|connection) \d+\) started \d+\.\d s ago$/);
      expect(held.warning).toBeUndefined();
      await writer.commit();
      const done = await until('row 100 after its commit', (s) => s.rowsCopied === 4);
      expect(done.lastError).toBeUndefined();
      expect(warnings).toEqual([]);
    });

    it('without it and without delayMs the sync refuses to run, naming the statement to grant; delayMs: 0 alone is not consent', async () => {
      await otherWriter();
      for (const delayMs of [undefined, 0]) {
        const { runner, until, errors } = await run(syncOf(delayMs === undefined ? {} : { delayMs }));
        const refused = await until('the refusal', (s) => s.state === 'failed');
        expect(refused.lastError?.code).toBe('IDRA_ERR_CONFIG_WATERMARK_BLIND');
        expect(refused.lastError?.message).toContain(`${name} source: `);
        expect(refused.lastError?.message.slice(`${name} source: `.length)).toMatch(BLIND[name]);
        expect(refused.lastError?.message).toContain(
          `run ${user.grantStatement} on the source (the sync then starts by itself), or set delayMs to the longest time a write transaction stays open`,
        );
        expect(refused.retryInMs).toBe(100);
        // Checked again and again, still refused: logged once, and the status keeps the first time.
        await until(
          'two more checks',
          () => runner.snapshot.state === 'failed' && errors.length >= 1 && Date.parse(runner.snapshot.updatedAt) - Date.parse(refused.updatedAt) >= 200,
        );
        expect(runner.snapshot).toMatchObject({ state: 'failed', rowsCopied: 0, batches: 0, lastError: refused.lastError });
        expect(errors).toEqual([refused.lastError!.message]);
        await runner.stop();
        // Stopping keeps the failure on record (health stays 'failed' until a batch succeeds).
        expect(runner.snapshot).toMatchObject({ state: 'failed', lastError: refused.lastError });
      }
      expect(await db.dialect.tableExists(db.pool, undefined, 'dst')).toBe(false); // nothing was written, not even the table
    });

    it('with an explicit delay, or watermark: "delay-only", it runs as before and the warning stays', async () => {
      await otherWriter();
      const delayed = await run(syncOf({ delayMs: 300 }));
      const withDelay = await delayed.until('the old rows', (s) => s.rowsCopied === 3 && s.state === 'idle' && s.warning !== undefined);
      expect(withDelay.warning).toMatch(BLIND[name]);
      expect(withDelay.warning).toContain(`(${user.grantStatement} would show them): only delayMs (300 ms) protects rows committed late`);
      expect(withDelay.lastError).toBeUndefined();
      const polls = withDelay.updatedAt;
      await delayed.until('several more polls', (s) => Date.parse(s.updatedAt) - Date.parse(polls) >= 200);
      expect(delayed.runner.snapshot.warning).toBe(withDelay.warning);
      expect(delayed.warnings).toEqual([withDelay.warning]); // logged once

      const acknowledged = await run(syncOf({ id: 'delay-only', watermark: 'delay-only' }, 'dst2'));
      const ack = await acknowledged.until('the old rows', (s) => s.rowsCopied === 3 && s.warning !== undefined);
      expect(ack.warning).toContain('only delayMs (0 ms) protects rows committed late');
      expect(await db.count('dst2')).toBe(3);
    });

    it('a grant while it waits lets it start without a restart; a revoke while it runs stops it with the same error', async () => {
      await otherWriter();
      const { until } = await run(syncOf({}));
      const refused = await until('the refusal', (s) => s.state === 'failed');
      expect(refused.lastError?.code).toBe('IDRA_ERR_CONFIG_WATERMARK_BLIND');

      await user.grant();
      const started = await until('the rows, once granted, and the failure over', (s) => s.rowsCopied === 3 && s.state !== 'failed');
      expect(started.state).not.toBe('failed');
      expect(started.lastError).toBeUndefined();

      await user.revoke();
      const stopped = await until('the refusal after the revoke', (s) => s.state === 'failed' && s.lastError?.code === 'IDRA_ERR_CONFIG_WATERMARK_BLIND');
      // The same error (PostgreSQL counts the hidden sessions of the moment).
      const same = (message: string) => message.replace(/\d+ session/, 'N session');
      expect(same(stopped.lastError!.message)).toBe(same(refused.lastError!.message));
      expect(stopped.rowsCopied).toBe(3);
    });
  });
}

describe('postgres: only sessions that really cannot be seen count as hidden', () => {
  let db: TestDb;
  afterEach(async () => {
    await db.drop();
  });

  it('a superuser source sees sessions that are still connecting (state null): no false warning, nothing refused', async () => {
    db = await testDb('postgres');
    const role = `idra_churn_${randomBytes(4).toString('hex')}`;
    await db.exec(`create role ${role} login`);
    const url = new URL(db.connection.url!);
    url.username = role;
    // Sessions of another role connecting and leaving all the time; each is listed with a null state
    // for a moment while it starts up.
    let churning = true;
    const churnErrors: unknown[] = [];
    const churn = async () => {
      while (churning) {
        const client = new pg.Client({ connectionString: url.toString() });
        await client.connect();
        await client.end();
      }
    };
    const churners = Array.from({ length: 4 }, () => churn().catch((err: unknown) => void churnErrors.push(err)));
    const agent = await db.dialect.connect(db.connection, {}); // the source's pool, as superuser
    const witness = new pg.Client({ connectionString: db.connection.url });
    await witness.connect();
    try {
      let observations = 0;
      let connectingSeen = 0;
      const blind: string[] = [];
      const deadline = Date.now() + 30_000;
      while (observations < 200 || connectingSeen < 3) {
        if (Date.now() > deadline) throw new Error(`only ${observations} observations and ${connectingSeen} connecting sessions seen`);
        const [view, listed] = await Promise.all([
          db.dialect.watermark(agent, { delayMs: 0 }),
          witness.query<{ n: number }>(
            `select count(*)::int as n from pg_stat_activity where datname = current_database() and usename = $1 and state is null`,
            [role],
          ),
        ]);
        observations++;
        connectingSeen += listed.rows[0]!.n > 0 ? 1 : 0;
        if (view.blind !== undefined || view.grant !== undefined) blind.push(`${view.blind} / ${view.grant}`);
      }
      expect(blind).toEqual([]);
      expect(churnErrors).toEqual([]);
    } finally {
      churning = false;
      await Promise.all(churners);
      await witness.end();
      await agent.close();
      await db.exec(`drop role ${role}`);
    }
  });
});

describe('mysql: many syncs polling one server', () => {
  it('each still gets a fresh list of open transactions: the syncs of a process share each read of the cache InnoDB refreshes only when quiet', async () => {
    // InnoDB refreshes innodb_trx only after 0.1 s without a read; twelve syncs each reading it every
    // 0.1 s on their own kept it stale for good (the faithful-copy matrix once copied no row for 40 s).
    const db = await testDb('mysql');
    const pools = await Promise.all(Array.from({ length: 12 }, () => db.dialect.connect(db.connection, {})));
    const early = await holdOpen(db, ['create table held (id int)', 'start transaction', 'insert into held values (1)']);
    try {
      const fresh = pools.map(() => 0);
      const oldestSeen = pools.map(() => 0);
      const deadline = Date.now() + 30_000;
      await Promise.all(
        pools.map(async (pool, i) => {
          while (fresh[i]! < 5) {
            if (Date.now() > deadline) throw new Error(`fresh lists per sync: ${JSON.stringify(fresh)}`);
            const view = await db.dialect.watermark(pool, { delayMs: 0 }, signal);
            if (!view.stale) fresh[i]!++;
            if (!view.stale && view.oldest) oldestSeen[i]!++;
            await sleep(100);
          }
        }),
      );
      expect(fresh.every((n) => n >= 5)).toBe(true);
      // A fresh list is a real one: the transaction held open is in it.
      expect(oldestSeen.every((n) => n >= 5)).toBe(true);
    } finally {
      await early.commit();
      await Promise.all(pools.map((p) => p.close()));
      await db.drop();
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
    const w = new Watermark('timestamp', 250);
    const warning = 'cannot see (GRANT x TO y would show them): only delayMs (250 ms) protects rows committed late';
    expect(w.next(view({ at: at(1), blind: 'cannot see', grant: 'GRANT x TO y' })).warning).toBe(warning);
    expect(w.next(view({ at: at(2) })).warning).toBe(warning);
  });

  it('a blind view stops a sync that did not accept the delay alone: delayMs above 0 or watermark "delay-only" accept it, a bare 0 does not', () => {
    const blind = { blind: 'open transactions are not inspected on SQL Server' };
    const sync = (delayMs: number, watermark: Sync['watermark'] = 'transactions') => ({ id: 's1', delayMs, watermark });
    expect(() => refuseBlindReads({}, sync(0), 'mssql')).not.toThrow();
    expect(() => refuseBlindReads(blind, sync(1), 'mssql')).not.toThrow();
    expect(() => refuseBlindReads(blind, sync(0, 'delay-only'), 'mssql')).not.toThrow();
    let refused: unknown;
    try {
      refuseBlindReads(blind, sync(0), 'mssql');
    } catch (err) {
      refused = err;
    }
    expect(refused).toBeInstanceOf(WatermarkBlindError);
    expect(refused).toMatchObject({
      code: 'IDRA_ERR_CONFIG_WATERMARK_BLIND',
      syncId: 's1',
      grant: undefined,
      message:
        'mssql source: open transactions are not inspected on SQL Server, so rows committed late could be skipped for good: set delayMs to the longest time a write transaction stays open (watermark: "delay-only" accepts that risk with delayMs 0)',
    });
    expect(() => refuseBlindReads({ ...blind, grant: 'GRANT x TO y' }, sync(0), 'mssql')).toThrow(
      /: run GRANT x TO y on the source \(the sync then starts by itself\), or set delayMs/,
    );
  });
});
