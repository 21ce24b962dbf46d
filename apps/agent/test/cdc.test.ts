import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import pg from 'pg';
import mysql from 'mysql2/promise';
import Database from 'better-sqlite3';
import { createDatabase, startEtcd, startPostgres, tempDir, until, type EtcdServer, type PostgresServer, type TestDatabase } from '@idra/testkit';
import { KEYS, connectEtcd, readAssignments, type EtcdConnection } from '@idra/core';
import { AgentProcess, EtcdHistory } from './cluster-harness.ts';

// Mode cdc end to end: real agent processes, a PostgreSQL source of the test's own (restarted during
// the test), three destinations (PostgreSQL, MariaDB, SQLite). Writers insert, update (also keys),
// delete, run large transactions and add a column while the owning agent is killed (-9), the other
// is frozen past its lease, and the source is restarted; at the end every destination equals the
// source row for row.

const PREFIX = `/cdc-${process.pid}/`;
const COLUMNS = ['id', 'label', 'n', 'note'];

type Rows = Map<string, string>;

/** Rows as `id → json of the other columns`, values as text, missing columns as null. */
function keyed(rows: Array<Record<string, unknown>>): Rows {
  const text = (v: unknown) => (v === null || v === undefined ? null : v instanceof Buffer ? v.toString() : String(v));
  return new Map(rows.map((r) => [String(r.id), JSON.stringify(COLUMNS.slice(1).map((c) => text(r[c])))]));
}

function differences(want: Rows, got: Rows): { missing: number; extra: number; stale: number } {
  let missing = 0;
  let stale = 0;
  for (const [k, v] of want) {
    if (!got.has(k)) missing++;
    else if (got.get(k) !== v) stale++;
  }
  const extra = [...got.keys()].filter((k) => !want.has(k)).length;
  return { missing, extra, stale };
}

describe('mode cdc through real agents: failover, a frozen agent, a source restart', () => {
  let source: PostgresServer;
  let etcd: EtcdServer;
  let pgDest: TestDatabase;
  let myDest: TestDatabase;
  let sqliteFile: string;
  let conn: EtcdConnection;
  const agents: AgentProcess[] = [];

  beforeAll(async () => {
    [source, etcd, pgDest, myDest] = await Promise.all([
      startPostgres({ crashSafe: true }),
      startEtcd(),
      createDatabase('postgres', inject('pgUrl')),
      createDatabase('mysql', inject('mysqlUrl')),
    ]);
    sqliteFile = join(await tempDir('idra-cdc-'), 'dest.db');
    conn = connectEtcd({ endpoints: etcd.endpoints, prefix: PREFIX });
  });

  afterAll(async () => {
    await Promise.all(agents.map((a) => a.stop()));
    conn?.close();
    await Promise.all([source?.stop(), etcd?.stop(), pgDest?.drop(), myDest?.drop()]);
  });

  const destinations = () => ({
    pg: { connector: 'postgres', connection: { url: pgDest.url }, table: 'items' },
    mariadb: { connector: 'mysql', connection: { url: myDest.url }, table: 'items' },
    sqlite: { connector: 'sqlite', connection: { file: sqliteFile }, table: 'items' },
  });

  async function sourceRows(): Promise<Rows> {
    const c = new pg.Client(source.url);
    await c.connect();
    try {
      return keyed((await c.query('select * from items')).rows);
    } finally {
      await c.end();
    }
  }

  async function destinationRows(kind: 'pg' | 'mariadb' | 'sqlite'): Promise<Rows> {
    if (kind === 'pg') {
      const c = new pg.Client(pgDest.url);
      await c.connect();
      try {
        return keyed((await c.query('select * from items')).rows);
      } finally {
        await c.end();
      }
    }
    if (kind === 'mariadb') {
      const c = await mysql.createConnection({ uri: myDest.url, supportBigNumbers: true, bigNumberStrings: true });
      try {
        return keyed((await c.query('select * from items'))[0] as Array<Record<string, unknown>>);
      } finally {
        await c.end();
      }
    }
    const db = new Database(sqliteFile, { readonly: true, fileMustExist: true });
    try {
      db.defaultSafeIntegers(true);
      return keyed(db.prepare('select * from items').all() as Array<Record<string, unknown>>);
    } finally {
      db.close();
    }
  }

  it('every destination ends equal to the source: 0 missing, 0 extra, 0 stale', async () => {
    const admin = new pg.Client(source.url);
    await admin.connect();
    await admin.query('create table items (id bigint primary key, label text, n int not null default 0)');
    await admin.query(`insert into items select g, 'v' || g, 0 from generate_series(1, 20000) g`);
    await admin.end();

    for (const [name, destination] of Object.entries(destinations())) {
      await conn.ns.put(KEYS.sync(`cdc-${name}`)).value(
        JSON.stringify({
          id: `cdc-${name}`,
          source: { connector: 'postgres', connection: { url: source.url }, table: 'items', options: { snapshotParallelism: 2 } },
          destination,
          mode: 'cdc',
          keyColumns: ['id'],
          batchSize: 2000,
          pollIntervalMs: 300,
        }),
      );
    }
    const history = await EtcdHistory.start(conn.ns);
    agents.push(new AgentProcess('cdc-a', etcd.endpoints, PREFIX), new AgentProcess('cdc-b', etcd.endpoints, PREFIX));

    // Writers: each transaction one of insert, update, key change, delete, large update; a column added once.
    let writing = true;
    let next = 1_000_000;
    const stats = { transactions: 0, failed: 0 };
    const writer = (async () => {
      let c: pg.Client | undefined;
      for (let i = 0; writing; i++) {
        try {
          if (!c) {
            c = new pg.Client(source.url);
            c.on('error', () => {});
            await c.connect();
          }
          const id = 1 + Math.floor(Math.random() * 20_000);
          const op = i % 10;
          if (i === 150) await c.query('alter table items add column note text');
          if (op < 4) await c.query('insert into items (id, label) select g, $2 from generate_series($1::bigint, $1::bigint + 9) g', [(next += 10), `ins${i}`]);
          else if (op < 6)
            await c.query(`update items set n = n + 1, label = $2${i > 150 ? ", note = 'noted'" : ''} where id between $1 and $1 + 20`, [id, `upd${i}`]);
          else if (op === 6) await c.query('update items set id = $2 where id = $1', [id, (next += 1)]);
          else if (op === 7) await c.query('delete from items where id between $1 and $1 + 3', [id]);
          else if (op === 8) await c.query("update items set label = 'bulk' || $1 where id % 97 = $1 % 97", [i]);
          else {
            const at = (next += 10);
            await c.query('begin');
            await c.query('insert into items (id, label) values ($1, $2)', [at, `tx${i}`]);
            await c.query('delete from items where id = $1', [at - 5]);
            await c.query('commit');
          }
          stats.transactions++;
        } catch {
          stats.failed++;
          await c?.end().catch(() => {});
          c = undefined;
          await new Promise((r) => setTimeout(r, 100));
        }
      }
      await c?.end().catch(() => {});
    })();

    const owners = async () => {
      const { assignments } = await readAssignments(conn.ns);
      return new Map([...assignments].map(([syncId, a]) => [syncId, a.agentId]));
    };
    // A failover that does not happen says why: the assignments and what each agent logged about leadership and its lease.
    const untilOwners = (what: string, done: (owners: string[]) => boolean) =>
      until(what, async () => done([...(await owners()).values()]), 60_000).catch(async (err: Error) => {
        const events = agents.flatMap((a) => a.clusterEvents()).sort();
        throw new Error(`${err.message}; assignments ${JSON.stringify([...(await owners())])}; agents' log:\n${events.join('\n')}`, { cause: err });
      });
    await until(
      'the copies to run and stream',
      async () => {
        const o = await owners();
        return o.size === 3 && (await destinationRows('pg').catch(() => new Map())).size > 15_000;
      },
      120_000,
    );

    // kill -9 the agent holding most syncs.
    const byOwner = [...(await owners()).values()];
    const victim = agents.find((a) => a.id === (byOwner.filter((x) => x === 'cdc-a').length >= byOwner.length / 2 ? 'cdc-a' : 'cdc-b'))!;
    const survivor = agents.find((a) => a !== victim)!;
    victim.signal('SIGKILL');
    await victim.exited;
    await untilOwners('every sync on the survivor', (o) => o.every((a) => a === survivor.id));
    agents.push(new AgentProcess('cdc-c', etcd.endpoints, PREFIX));

    // Freeze the survivor past its lease: its syncs move to the new agent; once thawed it writes nothing for them.
    await untilOwners('the new agent to take a share', (o) => o.includes('cdc-c'));
    survivor.signal('SIGSTOP');
    await untilOwners('every sync on the new agent', (o) => o.every((a) => a === 'cdc-c'));
    survivor.signal('SIGCONT');

    // Restart the source under the writers and the streams.
    await source.kill('SIGQUIT');
    await source.start();
    await new Promise((r) => setTimeout(r, 3_000));
    writing = false;
    await writer;
    expect(stats.transactions).toBeGreaterThan(200);

    const want = await sourceRows();
    for (const kind of ['pg', 'mariadb', 'sqlite'] as const) {
      // Waited for with a deadline; the last difference is what the assertion shows.
      await until(
        `${kind} to equal the source`,
        async () => {
          const diff = differences(want, await destinationRows(kind).catch(() => new Map()));
          return diff.missing + diff.extra + diff.stale === 0;
        },
        120_000,
      ).catch(() => undefined);
      expect({ kind, ...differences(want, await destinationRows(kind)) }).toEqual({ kind, missing: 0, extra: 0, stale: 0 });
    }
    await history.settle();
    expect(history.violations()).toEqual([]);
    for (const a of agents.filter((x) => x !== victim)) expect(a.running).toBe(true);
  }, 420_000);
});
