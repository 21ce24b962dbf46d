import { randomBytes } from 'node:crypto';
import { request } from 'node:http';
import pg from 'pg';
import mysql from 'mysql2/promise';
import { afterAll, beforeAll, expect } from 'vitest';
import { connectEtcd, KEYS, StatusStore, sleep, type EtcdConnection, type SyncStatus } from '@idra/core';
import { startEtcd, startFaultProxy, startMariadb, startPostgres, until } from '@idra/testkit';
import type { EtcdServer, FaultProxy, MariadbServer, PostgresServer } from '@idra/testkit';
import { AgentProcess, EtcdHistory } from '../test/cluster-harness.ts';

/** What the endpoints of every sync are told, so that faults show within seconds. */
export const ENDPOINT_OPTIONS = { statementTimeoutMs: 3_000, connectTimeoutMs: 2_000 };

type Db = 'pgSource' | 'pgDest' | 'maria';

/** One sync of the world: where it reads and writes, and how its rows are compared on both sides (`k` key, `val` content). */
interface SyncSpec {
  id: string;
  mode: 'id' | 'timestamp' | 'destination-id' | 'destination-timestamp' | 'full';
  from: { db: Db; table: string; rows: string };
  to: { db: Db; table: string; rows: string };
  cursorColumn?: string;
  tiebreakerColumn?: string;
  keyColumns: string[];
  writeMode: 'insert' | 'upsert';
}

const pgIdRows = (t: string) => `select id::text as k, v as val from ${t}`;
const pgVersionedRows = (t: string, key = 'id') => `select ${key}::text as k, v || ':' || version as val from ${t}`;
const myIdRows = (t: string) => `select cast(id as char) as k, v as val from ${t}`;
const myVersionedRows = (t: string) => `select cast(id as char) as k, concat(v, ':', version) as val from ${t}`;

/** A table on one side of a sync, and how its rows are read for the comparison. */
const side = (db: Db, table: string, rows: (t: string) => string) => ({ db, table, rows: rows(table) });
const BY_ID = { cursorColumn: 'id', keyColumns: ['id'] };
const BY_TIME = { cursorColumn: 'updated_at', tiebreakerColumn: 'id', keyColumns: ['id'] };

/** Every cursor mode, PostgreSQL → PostgreSQL, MariaDB → PostgreSQL and PostgreSQL → MariaDB. */
export const SYNCS: SyncSpec[] = [
  { id: 'pg_id', mode: 'id', from: side('pgSource', 't_id', pgIdRows), to: side('pgDest', 'd_pg_id', pgIdRows), ...BY_ID, writeMode: 'upsert' },
  { id: 'pg_did', mode: 'destination-id', from: side('pgSource', 't_id', pgIdRows), to: side('pgDest', 'd_pg_did', pgIdRows), ...BY_ID, writeMode: 'insert' },
  {
    id: 'pg_ts',
    mode: 'timestamp',
    from: side('pgSource', 't_ts', pgVersionedRows),
    to: side('pgDest', 'd_pg_ts', pgVersionedRows),
    ...BY_TIME,
    writeMode: 'upsert',
  },
  {
    id: 'pg_dts',
    mode: 'destination-timestamp',
    from: side('pgSource', 't_ts', pgVersionedRows),
    to: side('pgDest', 'd_pg_dts', pgVersionedRows),
    ...BY_TIME,
    writeMode: 'upsert',
  },
  {
    id: 'pg_full',
    mode: 'full',
    from: side('pgSource', 't_full', (t) => pgVersionedRows(t, 'k')),
    to: side('pgDest', 'd_pg_full', (t) => pgVersionedRows(t, 'k')),
    keyColumns: ['k'],
    writeMode: 'upsert',
  },
  { id: 'my_id', mode: 'id', from: side('maria', 'm_id', myIdRows), to: side('pgDest', 'd_my_id', pgIdRows), ...BY_ID, writeMode: 'upsert' },
  {
    id: 'my_ts',
    mode: 'timestamp',
    from: side('maria', 'm_ts', myVersionedRows),
    to: side('pgDest', 'd_my_ts', pgVersionedRows),
    ...BY_TIME,
    writeMode: 'upsert',
  },
  { id: 'pg_to_my', mode: 'id', from: side('pgSource', 't_id', pgIdRows), to: side('maria', 'd_to_my', myIdRows), ...BY_ID, writeMode: 'upsert' },
];

const PG_SCHEMA = [
  'create table t_id (id bigserial primary key, v text not null)',
  'create table t_ts (id bigserial primary key, v text not null, version int not null default 0, updated_at timestamptz not null default now())',
  'create index on t_ts (updated_at, id)',
  'create table t_full (k int primary key, v text not null, version int not null default 0)',
];
const MARIA_SCHEMA = [
  'create table m_id (id bigint auto_increment primary key, v varchar(64) not null)',
  `create table m_ts (id bigint auto_increment primary key, v varchar(64) not null, version int not null default 0,
    updated_at datetime(6) not null default current_timestamp(6), key (updated_at, id))`,
];

/** A pg pool that survives the restarts this suite causes (every client listened to, as the agents' are). */
function pgPool(url: string): pg.Pool {
  const pool = new pg.Pool({ connectionString: url, max: 4, connectionTimeoutMillis: 2_000 });
  pool.on('connect', (client) => client.on('error', () => {}));
  pool.on('error', () => {});
  return pool;
}

/** A mysql2 pool that survives restarts. */
function mariaPool(url: string): mysql.Pool {
  const pool = mysql.createPool({ uri: url, connectionLimit: 4, connectTimeout: 2_000 });
  pool.pool.on('connection', (conn) => conn.on('error', () => {}));
  return pool;
}

/**
 * Concurrent writers on every source table, the way applications write: inserts, updates, upserts,
 * some transactions held open after taking their id (late commits). They go on through the faults
 * (an error is retried a little later), straight to the servers, not through the fault proxies.
 */
class Writers {
  private stopped = true;
  private loops: Promise<void>[] = [];
  writes = 0;
  errors = 0;
  private readonly pg: pg.Pool;
  private readonly maria: mysql.Pool;

  constructor(pgSource: pg.Pool, maria: mysql.Pool) {
    this.pg = pgSource;
    this.maria = maria;
  }

  private readonly jobs: Array<() => Promise<unknown>> = [
    async () => {
      const client = await this.pg.connect();
      try {
        await client.query('begin');
        await client.query(`insert into t_id (v) values (md5(random()::text))`);
        if (Math.random() < 0.3) await sleep(20 + Math.random() * 100);
        await client.query('commit');
        client.release();
      } catch (err) {
        client.release(err as Error);
        throw err;
      }
    },
    () =>
      Math.random() < 0.6
        ? this.pg.query(`insert into t_ts (v) values (md5(random()::text))`)
        : this.pg.query(`update t_ts set version = version + 1, updated_at = now() where id = (select floor(random() * max(id))::bigint + 1 from t_ts)`),
    () =>
      this.pg.query(
        `insert into t_full (k, v) values (floor(random() * 300)::int, md5(random()::text))
           on conflict (k) do update set version = t_full.version + 1, v = excluded.v`,
      ),
    () => this.maria.query(`insert into m_id (v) values (md5(rand()))`),
    () =>
      Math.random() < 0.6
        ? this.maria.query(`insert into m_ts (v) values (md5(rand()))`)
        : this.maria.query(
            `update m_ts set version = version + 1, updated_at = current_timestamp(6)
               where id = (select floor(rand() * max(id)) + 1 from (select max(id) as id from m_ts) m)`,
          ),
  ];

  start(): void {
    if (!this.stopped) return;
    this.stopped = false;
    this.loops = this.jobs.map((job) => this.loop(job));
  }

  private async loop(job: () => Promise<unknown>): Promise<void> {
    while (!this.stopped) {
      try {
        await job();
        this.writes++;
        await sleep(15);
      } catch {
        this.errors++;
        await sleep(100);
      }
    }
  }

  async stop(): Promise<void> {
    this.stopped = true;
    await Promise.all(this.loops);
  }
}

/** How one scenario went, for the summary and docs/guarantees.md. */
export interface Measurement {
  scenario: string;
  /** From the end of the fault until every sync reported running or idle again. */
  recoveryMs: number;
  /** From the writers' stop until every destination equalled its source. */
  convergeMs: number;
  /** Sync errors the agents logged (retried) during the scenario. */
  retries: number;
  rows: number;
}

/** One fault of a scenario: it is injected, and the promise resolves once it is over. */
export type Shot = () => Promise<{
  /** When the fault was over (epoch ms): recovery is measured from here. */
  healedAt: number;
  /** Runs once every sync is running again (e.g. wake a frozen agent up). */
  after?: () => Promise<void>;
}>;

/**
 * The fault suite's world: a three-member etcd, a PostgreSQL source, a PostgreSQL destination and a
 * MariaDB (source and destination), each behind a fault proxy, three real agent processes running
 * the syncs of {@link SYNCS}, writers, and a record of every etcd change.
 */
export class FaultWorld {
  readonly servers: Record<Db, PostgresServer | MariadbServer>;
  readonly proxies: Record<Db, FaultProxy>;
  readonly etcd: EtcdServer;
  readonly conn: EtcdConnection;
  readonly prefix: string;
  readonly history: EtcdHistory;
  readonly agents: AgentProcess[] = [];
  /** Agents a scenario ended on purpose (kill -9, SIGTERM): not expected alive. */
  readonly ended = new Set<AgentProcess>();
  readonly measurements: Measurement[] = [];
  private readonly pools: { pgSource: pg.Pool; pgDest: pg.Pool; maria: mysql.Pool };
  private readonly writers: Writers;
  private readonly statuses: StatusStore;
  private agentCount = 0;

  private constructor(parts: {
    servers: FaultWorld['servers'];
    proxies: FaultWorld['proxies'];
    etcd: EtcdServer;
    conn: EtcdConnection;
    prefix: string;
    history: EtcdHistory;
    pools: FaultWorld['pools'];
  }) {
    this.servers = parts.servers;
    this.proxies = parts.proxies;
    this.etcd = parts.etcd;
    this.conn = parts.conn;
    this.prefix = parts.prefix;
    this.history = parts.history;
    this.pools = parts.pools;
    this.writers = new Writers(parts.pools.pgSource, parts.pools.maria);
    this.statuses = new StatusStore(parts.conn.ns);
  }

  static async start(agents = 3): Promise<FaultWorld> {
    // Crash-safe servers: a crash must not lose commits they acknowledged, or Idra would be blamed for it.
    const durable = { crashSafe: true };
    const [pgSource, pgDest, maria, etcd] = await Promise.all([
      startPostgres(durable),
      startPostgres(durable),
      startMariadb(durable),
      startEtcd({ members: 3 }),
    ]);
    const servers = { pgSource, pgDest, maria };
    const mariaUrl = `${maria.url}faults`;
    const [pgSourceProxy, pgDestProxy, mariaProxy] = await Promise.all([
      startFaultProxy(pgSource.url),
      startFaultProxy(pgDest.url),
      startFaultProxy(maria.url),
    ]);
    const proxies = { pgSource: pgSourceProxy, pgDest: pgDestProxy, maria: mariaProxy };
    const setup = await mysql.createConnection({ uri: maria.url });
    await setup.query('create database faults');
    await setup.end();
    const pools = { pgSource: pgPool(pgSource.url), pgDest: pgPool(pgDest.url), maria: mariaPool(mariaUrl) };
    for (const statement of PG_SCHEMA) await pools.pgSource.query(statement);
    for (const statement of MARIA_SCHEMA) await pools.maria.query(statement);
    const prefix = `/faults-${randomBytes(3).toString('hex')}/`;
    const conn = connectEtcd({ endpoints: etcd.endpoints, prefix });
    const url: Record<Db, string> = { pgSource: pgSourceProxy.url(pgSource.url), pgDest: pgDestProxy.url(pgDest.url), maria: mariaProxy.url(mariaUrl) };
    const connector = (db: Db) => (db === 'maria' ? 'mysql' : 'postgres');
    for (const s of SYNCS) {
      await conn.ns.put(KEYS.sync(s.id)).value(
        JSON.stringify({
          id: s.id,
          source: { connector: connector(s.from.db), connection: { url: url[s.from.db] }, table: s.from.table, options: ENDPOINT_OPTIONS },
          destination: { connector: connector(s.to.db), connection: { url: url[s.to.db] }, table: s.to.table, options: ENDPOINT_OPTIONS },
          mode: s.mode,
          ...(s.cursorColumn ? { cursorColumn: s.cursorColumn } : {}),
          ...(s.tiebreakerColumn ? { tiebreakerColumn: s.tiebreakerColumn } : {}),
          keyColumns: s.keyColumns,
          writeMode: s.writeMode,
          batchSize: 500,
          pollIntervalMs: 200,
        }),
      );
    }
    const history = await EtcdHistory.start(conn.ns);
    const world = new FaultWorld({ servers, proxies, etcd, conn, prefix, history, pools });
    for (let i = 0; i < agents; i++) world.startAgent();
    world.writers.start();
    await world.allRunning(0, 120_000);
    return world;
  }

  /** Starts one more agent process. */
  startAgent(): AgentProcess {
    const agent = new AgentProcess(`a${++this.agentCount}`, this.etcd.endpoints, this.prefix);
    this.agents.push(agent);
    return agent;
  }

  get live(): AgentProcess[] {
    return this.agents.filter((a) => !this.ended.has(a));
  }

  /** Sends `signal` to an agent that should not survive it, and waits for its exit. */
  async end(agent: AgentProcess, signal: NodeJS.Signals): Promise<number | null> {
    this.ended.add(agent);
    agent.signal(signal);
    return agent.exited;
  }

  /** An agent that has committed a batch and runs syncs now. */
  async busyAgent(): Promise<AgentProcess> {
    return until('an agent that committed a batch and runs syncs', async () => {
      const locks = Object.values(await this.conn.ns.getAll().prefix(KEYS.locks).strings());
      const owners = new Set(locks.map((v) => (JSON.parse(v) as { agentId: string }).agentId));
      return this.live.find((a) => a.batches().length > 0 && owners.has(a.id));
    });
  }

  /** Statuses in etcd, or undefined while etcd cannot answer. */
  private async readStatuses(): Promise<SyncStatus[] | undefined> {
    try {
      return await this.statuses.list();
    } catch {
      return undefined;
    }
  }

  /** Resolves (epoch ms) once every sync's status, written at `since` or later by a live agent, is running or idle. */
  async allRunning(since: number, timeoutMs: number): Promise<number> {
    let last: SyncStatus[] | undefined;
    return until(
      'every sync running or idle again',
      async () => {
        const statuses = await this.readStatuses();
        if (!statuses) return false;
        last = statuses;
        const live = new Set(this.live.map((a) => a.id));
        const fresh = statuses.filter((s) => (s.state === 'running' || s.state === 'idle') && Date.parse(s.updatedAt) >= since && live.has(s.agentId));
        return fresh.length === SYNCS.length && Date.now();
      },
      timeoutMs,
    ).catch((err: Error) => {
      const seen = (last ?? []).map((s) => ({ sync: s.syncId, agent: s.agentId, state: s.state, updatedAt: s.updatedAt, error: s.lastError?.message }));
      throw new Error(`${err.message}; statuses: ${JSON.stringify(seen)}`);
    });
  }

  private async rows(db: Db, text: string): Promise<Array<{ k: string; val: string }>> {
    if (db === 'maria') return (await this.pools.maria.query(text))[0] as Array<{ k: string; val: string }>;
    return (await this.pools[db].query(text)).rows as Array<{ k: string; val: string }>;
  }

  /** Per sync: source rows missing in the destination or different there, and keys the destination holds twice. */
  async differences(): Promise<Array<{ sync: string; missing: number; differing: number; duplicates: number; extra: number; rows: number }>> {
    return Promise.all(
      SYNCS.map(async (s) => {
        const [source, dest] = await Promise.all([this.rows(s.from.db, s.from.rows), this.rows(s.to.db, s.to.rows).catch(() => [])]);
        const copied = new Map(dest.map((r) => [r.k, r.val]));
        const want = new Map(source.map((r) => [r.k, r.val]));
        return {
          sync: s.id,
          missing: source.filter((r) => !copied.has(r.k)).length,
          differing: source.filter((r) => copied.has(r.k) && copied.get(r.k) !== r.val).length,
          duplicates: dest.length - copied.size,
          extra: dest.filter((r) => !want.has(r.k)).length,
          rows: source.length,
        };
      }),
    );
  }

  /**
   * One scenario: while the writers run, each shot injects a fault and resolves once it is over; after
   * each, every sync must be running again within `boundMs`. Then, once the writers stop, every
   * destination must equal its source (0 missing, 0 duplicates), every agent not ended on purpose must
   * be alive with no error that escaped its handlers, and etcd's history must show no write by an
   * agent that did not hold the sync's lock at that revision. `felt` is a log message the fault must
   * have caused (proof that it happened); null when the fault may go unnoticed (e.g. one etcd member down).
   */
  async scenario(name: string, boundMs: number, shots: Shot[], felt: string | null = 'sync error; retrying'): Promise<Measurement> {
    this.writers.start();
    await until('writers under way', () => this.writers.writes > 50, 30_000);
    const feltBefore = this.logged(felt);
    const retriesBefore = this.logged('sync error; retrying');
    let recoveryMs = 0;
    for (const shot of shots) {
      const { healedAt, after } = await shot();
      recoveryMs = Math.max(recoveryMs, (await this.allRunning(healedAt, boundMs + 30_000)) - healedAt);
      await after?.();
    }
    const retries = this.logged('sync error; retrying') - retriesBefore;
    const feltCount = this.logged(felt) - feltBefore;
    await this.writers.stop();
    const stoppedAt = Date.now();
    const converged = await until(
      'every destination equal to its source',
      async () => {
        const diff = await this.differences();
        return diff.every((d) => d.missing === 0 && d.differing === 0 && d.extra === 0) && diff;
      },
      90_000,
    ).catch(async (err: Error) => {
      throw new Error(`${err.message}: ${JSON.stringify(await this.differences())}`);
    });
    const rows = converged.reduce((n, d) => n + d.rows, 0);
    const measurement: Measurement = { scenario: name, recoveryMs, convergeMs: Date.now() - stoppedAt, retries, rows };
    this.measurements.push(measurement);
    expect(converged.filter((d) => d.duplicates > 0)).toEqual([]);
    const alive = this.live.map((a) => ({ agent: a.id, exitCode: a.child.exitCode, signal: a.child.signalCode }));
    expect(alive).toEqual(this.live.map((a) => ({ agent: a.id, exitCode: null, signal: null })));
    const escaped = this.agents.flatMap((a) => a.lines.filter((l) => /uncaught exception|unhandled rejection/.test(String(l.msg))));
    expect(escaped).toEqual([]);
    await this.history.settle();
    expect(this.history.violations()).toEqual([]);
    if (felt) expect(feltCount, `${name}: the agents logged '${felt}'`).toBeGreaterThan(0);
    expect(recoveryMs, `${name}: every sync running again within ${boundMs} ms`).toBeLessThan(boundMs);
    return measurement;
  }

  /** How many times the agents have logged `msg`. */
  logged(msg: string | null): number {
    return msg === null ? 0 : this.agents.reduce((n, a) => n + a.lines.filter((l) => l.msg === msg).length, 0);
  }

  /** Restarts a database server: stopped by `signal`, started again on its data. */
  async restart(db: Db, signal: NodeJS.Signals): Promise<void> {
    await this.servers[db].kill(signal);
    await this.servers[db].start();
  }

  async stop(): Promise<void> {
    await this.writers.stop();
    await Promise.all(this.agents.map((a) => a.stop()));
    if (this.measurements.length > 0) console.log(`fault suite measurements:\n${this.measurements.map((m) => JSON.stringify(m)).join('\n')}`);
    await this.history.stop().catch(() => {});
    this.conn.close();
    await Promise.all([this.pools.pgSource.end(), this.pools.pgDest.end(), this.pools.maria.end()]).catch(() => {});
    await Promise.all(Object.values(this.proxies).map((p) => p.close()));
    await Promise.all([...Object.values(this.servers).map((s) => s.stop()), this.etcd.stop()]);
  }

  /** The etcd member that leads the cluster now. */
  async etcdLeader(): Promise<number> {
    return until('an etcd leader', async () => {
      const states = await Promise.all(this.etcd.members.map((m) => (m.running ? memberStatus(m.clientUrl).catch(() => undefined) : undefined)));
      const index = states.findIndex((s) => s !== undefined && s.header.member_id === s.leader);
      return index >= 0 ? index : undefined;
    });
  }

  /** Runs SQL on a database server directly (not through its proxy). */
  async sql(db: Db, text: string): Promise<void> {
    if (db === 'maria') await this.pools.maria.query(text);
    else await this.pools[db].query(text);
  }
}

/** A world for the tests of a describe block: started before them, stopped after them. */
export function useWorld(): () => FaultWorld {
  let world: FaultWorld | undefined;
  beforeAll(async () => {
    world = await FaultWorld.start();
  }, 180_000);
  afterAll(async () => {
    await world?.stop();
  });
  return () => world!;
}

/** An etcd member's view of the cluster (etcd's JSON gateway). */
function memberStatus(clientUrl: string): Promise<{ header: { member_id: string }; leader: string }> {
  return new Promise((resolve, reject) => {
    const req = request(`${clientUrl}/v3/maintenance/status`, { method: 'POST', timeout: 1_000 }, (res) => {
      let body = '';
      res.on('data', (d: Buffer) => (body += d.toString()));
      res.on('end', () => {
        try {
          resolve(JSON.parse(body) as { header: { member_id: string }; leader: string });
        } catch (err) {
          reject(err as Error);
        }
      });
    });
    req.on('timeout', () => req.destroy(new Error('timed out')));
    req.on('error', reject);
    req.end('{}');
  });
}
