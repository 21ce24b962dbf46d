import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { CompiledQuery } from 'kysely';
import pg from 'pg';
import mysql from 'mysql2/promise';
import { createDatabase, startFaultProxy, startMariadb, startPostgres, until, type FaultProxy, type TestDatabase } from '@idra/testkit';
import { sleep } from '@idra/core';
import type { SqlDialect, SqlPool } from './dialect.ts';
import { postgresDialect } from './postgres/postgres-dialect.ts';
import { mysqlDialect } from './mysql/mysql-dialect.ts';

// A database restart, an administrator ending sessions or a network fault must reach the caller as a
// rejected call on the pool — never as an 'error' event no one listens to, which ends the process —
// whatever the connection is doing: idle in the pool, checked out between statements, inside a
// transaction, streaming COPY, or observing the watermark.

const STATEMENT_TIMEOUT_MS = 1_500;

interface Server {
  url: string;
  kill(signal?: NodeJS.Signals): Promise<void>;
  start(): Promise<void>;
  stop(): Promise<void>;
}

interface Case {
  dialect: SqlDialect;
  start(): Promise<Server>;
  /** Restarts the server in each way it can go down. */
  restarts: Record<string, NodeJS.Signals>;
  /** Ends every other session from the server side. */
  terminateOthers(url: string): Promise<void>;
  rows: string;
}

const CASES: Case[] = [
  {
    dialect: postgresDialect,
    start: startPostgres,
    // pg_ctl stop -m fast is SIGINT, -m immediate is SIGQUIT.
    restarts: { fast: 'SIGINT', immediate: 'SIGQUIT' },
    async terminateOthers(url) {
      const client = new pg.Client(url);
      await client.connect();
      await client.query('select pg_terminate_backend(pid) from pg_stat_activity where application_name like $1', ['idra%']);
      await client.end();
    },
    rows: 'select count(*) as n from t',
  },
  {
    dialect: mysqlDialect,
    start: startMariadb,
    restarts: { clean: 'SIGTERM', crash: 'SIGKILL' },
    async terminateOthers(url) {
      const conn = await mysql.createConnection({ uri: url });
      const [rows] = await conn.query('select id from information_schema.processlist where id <> connection_id() and db = database()');
      for (const { id } of rows as Array<{ id: number }>) await conn.query(`kill connection ${Number(id)}`).catch(() => {});
      await conn.end();
    },
    rows: 'select count(*) as n from t',
  },
];

/** Concurrent callers using a pool in every way a sync does, counting what succeeded and what was rejected. */
class Workload {
  ok = 0;
  lastOkAt = 0;
  readonly errors: string[] = [];
  private stopped = false;
  private readonly loops: Promise<void>[];
  private readonly dialect: SqlDialect;
  private readonly pool: SqlPool;

  constructor(dialect: SqlDialect, pool: SqlPool, workers: number) {
    this.dialect = dialect;
    this.pool = pool;
    this.loops = Array.from({ length: workers }, (_, i) => this.loop(i));
  }

  private q(text: string): CompiledQuery {
    return CompiledQuery.raw(text);
  }

  private async step(n: number): Promise<void> {
    const { dialect, pool } = this;
    switch (n % 5) {
      case 0:
        await pool.execute(this.q('select 1 as one'));
        return;
      case 1:
        // Checked out and inside a transaction, with time between the statements.
        await pool.transaction(async (tx) => {
          await tx.execute(this.q('insert into t (v) values (1)'));
          await sleep(5);
          await tx.execute(this.q('select count(*) as n from t'));
        });
        return;
      case 2:
        await pool.execute(this.q(dialect.name === 'postgres' ? 'select pg_sleep(0.05)' : 'select sleep(0.05)'));
        return;
      case 3:
        await dialect.watermark(pool, { delayMs: 0 });
        return;
      case 4:
        await pool.transaction(async (tx) => {
          const rows = Array.from({ length: 2000 }, (_, i) => ({ v: i }));
          const write = {
            target: { schema: undefined, table: 't' },
            columns: ['v'],
            types: ['int64' as const],
            rows,
            writeMode: 'insert' as const,
            keys: [],
            tableVersion: 1,
          };
          if (!(await dialect.bulkWrite?.(tx, write))) await tx.execute(this.q('insert into t (v) values (2)'));
        });
        return;
    }
  }

  private async loop(worker: number): Promise<void> {
    for (let n = worker; !this.stopped; n++) {
      try {
        await this.step(n);
        this.ok++;
        this.lastOkAt = performance.now();
      } catch (err) {
        this.errors.push((err as Error).message);
        await sleep(20);
      }
    }
  }

  /** Resolves once a call succeeded after `since` (performance.now()), with the time it took. */
  async recovered(since: number, timeoutMs = 20_000): Promise<number> {
    const deadline = since + timeoutMs;
    while (this.lastOkAt <= since) {
      if (performance.now() > deadline) throw new Error(`no call succeeded within ${timeoutMs} ms; errors: ${this.errors.slice(-3).join(' | ')}`);
      await sleep(10);
    }
    return this.lastOkAt - since;
  }

  async stop(): Promise<void> {
    this.stopped = true;
    await Promise.all(this.loops);
  }
}

describe.each(CASES)('$dialect.name connections under faults', (c) => {
  let server: Server;
  let db: TestDatabase;
  let proxy: FaultProxy;
  let pool: SqlPool;
  let work: Workload;
  const uncaught: unknown[] = [];
  const onUncaught = (err: unknown) => uncaught.push(err);

  beforeAll(async () => {
    process.on('uncaughtException', onUncaught);
    server = await c.start();
    db = await createDatabase(c.dialect.name as 'postgres' | 'mysql', server.url);
    proxy = await startFaultProxy(db.url);
    const setup = await c.dialect.connect({ url: db.url }, {});
    await setup.execute(CompiledQuery.raw('create table t (v bigint)'));
    await setup.close();
    pool = await c.dialect.connect({ url: proxy.url(db.url) }, { statementTimeoutMs: STATEMENT_TIMEOUT_MS, connectTimeoutMs: 2_000 });
    work = new Workload(c.dialect, pool, 4);
    await work.recovered(performance.now());
  });
  afterEach(() => {
    proxy.heal();
    expect(uncaught.splice(0).map((e) => (e as Error).stack ?? e)).toEqual([]);
  });
  afterAll(async () => {
    await work?.stop();
    await pool?.close();
    await proxy?.close();
    await server?.stop();
    process.off('uncaughtException', onUncaught);
  });

  for (const [how, signal] of Object.entries(c.restarts)) {
    it(`a restart of the server (${how}), three times, only rejects the calls in flight`, async () => {
      for (let i = 0; i < 3; i++) {
        const errorsBefore = work.errors.length;
        await server.kill(signal);
        await server.start();
        const restartedAt = performance.now();
        await work.recovered(restartedAt);
        expect(work.errors.length).toBeGreaterThan(errorsBefore);
      }
    });
  }

  it('sessions ended by an administrator only reject their calls', async () => {
    const errorsBefore = work.errors.length;
    const endedAt = performance.now();
    // Sessions idle in the pool are ended too, and replaced without any caller noticing; a statement can
    // finish just before its session is ended. So end them again until a call was rejected (its rejection
    // can come after another worker, on a fresh session, has already succeeded).
    await until(
      'a call on an ended session rejected',
      async () => {
        await c.terminateOthers(db.url);
        const ended = performance.now();
        while (work.errors.length === errorsBefore && performance.now() - ended < 1_000) await sleep(20);
        return work.errors.length > errorsBefore;
      },
      { timeoutMs: 30_000, intervalMs: 0 },
    );
    await work.recovered(endedAt);
  });

  it('connections reset by the network only reject their calls', async () => {
    for (let i = 0; i < 5; i++) {
      await work.recovered(performance.now());
      proxy.reset();
    }
    await work.recovered(performance.now());
    expect(work.errors.some((e) => /ECONNRESET|Connection terminated|connection lost|closed/i.test(e))).toBe(true);
  });

  it('a blackhole longer than the statement timeout rejects the calls in flight within the timeout', async () => {
    await work.recovered(performance.now());
    const errorsBefore = work.errors.length;
    proxy.blackhole();
    const started = performance.now();
    while (work.errors.length === errorsBefore) {
      expect(performance.now() - started).toBeLessThan(STATEMENT_TIMEOUT_MS + 3_000);
      await sleep(20);
    }
    await sleep(STATEMENT_TIMEOUT_MS);
    proxy.heal();
    await work.recovered(performance.now());
    expect(work.errors.slice(errorsBefore).some((e) => /no answer/.test(e))).toBe(true);
  });
});
