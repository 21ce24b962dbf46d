import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { inject } from 'vitest';
import { sql, type RawBuilder } from 'kysely';
import { createDatabase, createPostgresRole, startMariadb, tempDir } from '@idra/testkit';
import {
  FileOffsetStore,
  SyncRunner,
  normalizeSync,
  validateSyncConfig,
  type Connection,
  type ConnectorRegistry,
  type DeadLetter,
  type Row,
  type Source,
  type Sync,
  type SyncConfig,
  type SyncStatus,
} from '@idra/core';
import { SQL_DIALECTS, type SqlDialect, type SqlDialectName, type SqlPool } from '../sql/index.ts';
import { createConnectorRegistry } from '../registry.ts';
import { DDL } from './ddl.ts';

export { DDL };

/** A throwaway database of one dialect, with a pool for setting up and checking data. */
export interface TestDb {
  dialect: SqlDialect;
  connection: Connection;
  pool: SqlPool;
  exec(query: RawBuilder<unknown> | string): Promise<Row[]>;
  /** Rows of a table ordered by the given columns, values in canonical form. */
  rows(table: string, orderBy: string[]): Promise<Row[]>;
  count(table: string): Promise<number>;
  /** The columns of a table and their types as information_schema names them (`bigint`, `jsonb` …), in order. */
  columnTypes(table: string): Promise<Record<string, string>>;
  drop(): Promise<void>;
}

export const TEST_DIALECTS = ['postgres', 'mysql', 'sqlite'] as const;
export type TestDialect = (typeof TEST_DIALECTS)[number];

/**
 * A MariaDB server of a test file's own, for tests that hold transactions open on purpose: on the
 * shared server those would hold back the watermark of every other test file running meanwhile.
 */
export async function privateMariadb(): Promise<{ url: string; stop(): Promise<void> }> {
  if (process.env.IDRA_TEST_MYSQL_URL) return { url: process.env.IDRA_TEST_MYSQL_URL, stop: async () => {} };
  return startMariadb();
}

/** Creates an empty database on the shared test server of the dialect (a temp file for SQLite). */
export async function createTestDb(name: TestDialect, serverUrl?: string): Promise<TestDb> {
  const dialect = SQL_DIALECTS[name as SqlDialectName];
  let connection: Connection;
  let dropDb: () => Promise<void>;
  if (name === 'sqlite') {
    const dir = await tempDir('idra-sqlite-');
    connection = { file: join(dir, 'test.db') };
    dropDb = async () => {};
  } else {
    const db = await createDatabase(name, serverUrl ?? inject(name === 'postgres' ? 'pgUrl' : 'mysqlUrl'));
    connection = { url: db.url };
    dropDb = db.drop;
  }
  const pool = await dialect.connect(connection, { role: 'destination' });
  const exec = async (query: RawBuilder<unknown> | string) =>
    (await pool.execute((typeof query === 'string' ? sql.raw(query) : query).compile(dialect.db))).rows;
  // MariaDB's default character set cannot hold every Unicode character.
  if (name === 'mysql') await exec('alter database character set utf8mb4 collate utf8mb4_bin');
  return {
    dialect,
    connection,
    pool,
    exec,
    async rows(table, orderBy) {
      const q = dialect.db.selectFrom(table).selectAll();
      return (await pool.execute(orderBy.reduce((acc, c) => acc.orderBy(c), q).compile())).rows;
    },
    async count(table) {
      const [row] = await exec(sql`select count(*) as n from ${sql.table(table)}`);
      return Number(row!.n);
    },
    async columnTypes(table) {
      const rows = await exec(sql`select column_name, data_type from information_schema.columns where table_name = ${table} order by ordinal_position`);
      return Object.fromEntries(rows.map((r) => [String(r.column_name), String(r.data_type)]));
    },
    async drop() {
      await pool.close();
      await dropDb();
    },
  };
}

/** Inserts canonical rows into a table, converting values the way Idra's destinations do. */
export async function insertRows(db: TestDb, table: string, rows: Row[]): Promise<void> {
  if (rows.length === 0) return;
  const columns = Object.keys(rows[0]!);
  for (let i = 0; i < rows.length; i += 500) {
    const chunk = rows
      .slice(i, i + 500)
      .map((r) => Object.fromEntries(columns.map((c) => [c, db.dialect.toParameter(r[c], typeof r[c] === 'object' && r[c] !== null ? 'json' : undefined)])));
    await db.pool.execute(db.dialect.db.insertInto(table).values(chunk).compile());
  }
}

/** A sync between two test databases (defaults: fast polling, tiny backoff). */
export function makeSync(
  source: TestDb,
  destination: TestDb,
  overrides: Partial<SyncConfig> & { sourceTable?: string; destinationTable?: string; query?: string },
): Sync {
  const { sourceTable = 'src', destinationTable = 'dst', query, ...rest } = overrides;
  const config = {
    id: 'test-sync',
    source: { connector: source.dialect.name, connection: source.connection, ...(query ? { query } : { table: sourceTable }) },
    destination: { connector: destination.dialect.name, connection: destination.connection, table: destinationTable },
    mode: 'id',
    cursorColumn: 'id',
    batchSize: 7,
    pollIntervalMs: 50,
    ...rest,
  };
  return normalizeSync(validateSyncConfig(config));
}

/** The connectors' registry with each source's `read` passed through `wrap`: to watch or hold the reads of a test's sync. */
export function registryWithSourceReads(wrap: (read: Source['read']) => Source['read']): ConnectorRegistry {
  const base = createConnectorRegistry();
  return {
    async openSource(ctx) {
      const source = await base.openSource(ctx);
      source.read = wrap(source.read.bind(source));
      return source;
    },
    openDestination: (ctx) => base.openDestination(ctx),
  };
}

/** A sync run in-process with file offsets, until it is caught up (idle), failed, or a condition holds. */
export class TestRun {
  readonly statuses: SyncStatus[] = [];
  readonly deadLetters: DeadLetter[] = [];
  readonly runner: SyncRunner;

  constructor(sync: Sync, stateDir: string, connectors: ConnectorRegistry = createConnectorRegistry()) {
    this.runner = new SyncRunner({
      sync,
      connectors,
      offsets: new FileOffsetStore(stateDir),
      deadLetters: { record: async (entries) => void this.deadLetters.push(...entries) },
      agentId: 'test-agent',
      backoff: { initialMs: 20, maxMs: 200 },
      slowBackoff: { initialMs: 20, maxMs: 200 },
      onStatus: (s) => this.statuses.push(s),
    });
    void this.runner.start();
  }

  get status(): SyncStatus {
    return this.runner.snapshot;
  }

  /**
   * Waits until `predicate` holds for the status; throws with the last status on timeout. The default leaves a
   * loaded machine room (40 batches of 5 Kafka messages took over 20 s at load average 40) inside a test's 60 s.
   */
  async waitFor(predicate: (s: SyncStatus) => boolean, timeoutMs = 45_000): Promise<SyncStatus> {
    const deadline = Date.now() + timeoutMs;
    while (Date.now() < deadline) {
      const s = this.status;
      if (predicate(s)) return s;
      // Failed with a retry scheduled is an error someone must fix (password, table), still retried.
      if (s.state === 'failed' && s.retryInMs === undefined && !predicate(s)) throw new Error(`sync failed: ${s.lastError?.message}`);
      await new Promise((r) => setTimeout(r, 20));
    }
    throw new Error(`timed out; last status ${JSON.stringify(this.status)}`);
  }

  /** Runs until the source is drained (state idle after at least one read), then stops. */
  async untilIdle(timeoutMs?: number): Promise<SyncStatus> {
    // Idle with nothing held back: another test's open transaction on a shared server can hold a
    // watermark back for a while (MariaDB's innodb_trx spans every database of the server).
    await this.waitFor((s) => s.state === 'idle' && s.heldBack === undefined, timeoutMs);
    await this.runner.stop();
    return this.status;
  }
}

/** Runs a sync to completion once (in-process) and returns its final status. */
export async function runOnce(sync: Sync, stateDir: string): Promise<{ status: SyncStatus; run: TestRun }> {
  const run = new TestRun(sync, stateDir);
  const status = await run.untilIdle();
  return { status, run };
}

/** Timestamps `base + i·ms` as canonical text with microseconds. */
export function ts(base: string, offsetMs = 0, micros = 0): string {
  const d = new Date(Date.parse(base.replace(' ', 'T') + 'Z') + offsetMs);
  return d
    .toISOString()
    .replace('T', ' ')
    .replace('Z', '')
    .replace(/\.(\d{3})$/, (_m, ms: string) => `.${ms}${String(micros).padStart(3, '0')}`);
}

/** A user of a test database who may read `src` but lacks the privilege to see other sessions' transactions until `grant()`. */
export interface RestrictedUser {
  /** The test database's URL, as this user. */
  url: string;
  /** What Idra asks the operator to run (and what `grant()` runs). */
  grantStatement: string;
  grant(): Promise<void>;
  /** Takes the privilege back (on MariaDB also ends the user's connections, which keep a global privilege until they reconnect). */
  revoke(): Promise<void>;
  drop(): Promise<void>;
}

/** Creates a {@link RestrictedUser} (the table `src` must exist). */
export async function restrictedUser(db: TestDb, name: 'postgres' | 'mysql'): Promise<RestrictedUser> {
  if (name === 'postgres') {
    const role = await createPostgresRole(db.connection.url!, ['src']);
    const grantStatement = `GRANT pg_read_all_stats TO ${role.name}`;
    return {
      url: role.url,
      grantStatement,
      grant: async () => void (await db.exec(grantStatement)),
      revoke: async () => void (await db.exec(`revoke pg_read_all_stats from ${role.name}`)),
      drop: role.drop,
    };
  }
  const user = `idra_np_${randomBytes(4).toString('hex')}`;
  const url = new URL(db.connection.url!);
  url.username = user;
  await db.exec(`create user '${user}'@'%' identified by 'np'`);
  await db.exec(`grant select on \`${url.pathname.slice(1)}\`.* to '${user}'@'%'`);
  url.password = 'np';
  const grantStatement = `GRANT PROCESS ON *.* TO '${user}'@'%'`;
  return {
    url: url.toString(),
    grantStatement,
    grant: async () => void (await db.exec(grantStatement)),
    async revoke() {
      await db.exec(`revoke process on *.* from '${user}'@'%'`);
      const ids = await db.exec(`select id from information_schema.processlist where user = '${user}'`);
      for (const { id } of ids) await db.exec(`kill connection ${Number(id)}`).catch(() => {}); // it may have gone already
    },
    drop: async () => void (await db.exec(`drop user '${user}'@'%'`)),
  };
}
