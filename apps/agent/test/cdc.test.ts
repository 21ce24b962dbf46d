import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import pg from 'pg';
import mysql from 'mysql2/promise';
import Database from 'better-sqlite3';
import { createDatabase, startEtcd, startPostgres, tempDir, until, type EtcdServer, type PostgresServer, type TestDatabase } from '@idra/testkit';
import { KEYS, connectEtcd, type EtcdConnection } from '@idra/core';
import { AgentProcess, EtcdHistory } from './cluster-harness.ts';
import { expectEqualToSource, keyed as keyedBy, ownership, type Rows } from './cdc-harness.ts';

// Mode cdc end to end: real agent processes, a PostgreSQL source of the test's own (restarted during
// the test), three destinations (PostgreSQL, MariaDB, SQLite). Writers insert, update (also keys),
// delete, run large transactions and add a column while the owning agent is killed (-9), the other
// is frozen past its lease, and the source is restarted; at the end every destination equals the
// source row for row.

const PREFIX = `/cdc-${process.pid}/`;
const keyed = (rows: Array<Record<string, unknown>>): Rows => keyedBy(rows, ['label', 'n', 'note']);

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

    const { owners, killAndFreeze } = ownership(conn.ns, agents);
    await until(
      'the copies to run and stream',
      async () => {
        const o = await owners();
        return o.size === 3 && (await destinationRows('pg').catch(() => new Map())).size > 15_000;
      },
      120_000,
    );

    // kill -9 the owner of most syncs, then freeze the survivor past its lease.
    const victim = await killAndFreeze(etcd.endpoints, PREFIX);

    // Restart the source under the writers and the streams.
    await source.kill('SIGQUIT');
    await source.start();
    await new Promise((r) => setTimeout(r, 3_000));
    writing = false;
    await writer;
    expect(stats.transactions).toBeGreaterThan(200);

    await expectEqualToSource(await sourceRows(), ['pg', 'mariadb', 'sqlite'] as const, destinationRows);
    await history.settle();
    expect(history.violations()).toEqual([]);
    // No committed position goes backwards: each sync's offsets, in etcd's order, never name an earlier LSN (kill -9, freeze, handover, restart).
    const lsn = (text: string) => {
      const [high, low] = text.split('/');
      return (BigInt(`0x${high}`) << 32n) | BigInt(`0x${low}`);
    };
    const reached = new Map<string, bigint>();
    const backwards: string[] = [];
    for (const { key, value } of history.puts(KEYS.offsets)) {
      const at = (JSON.parse(value) as { value: { lsn: string } }).value.lsn;
      if (lsn(at) < (reached.get(key) ?? 0n)) backwards.push(`${key}: ${at}`);
      reached.set(key, lsn(at));
    }
    expect(backwards).toEqual([]);
    expect(reached.size).toBe(3);
    for (const a of agents.filter((x) => x !== victim)) expect(a.running).toBe(true);
  }, 420_000);
});
