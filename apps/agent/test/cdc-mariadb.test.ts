import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import pg from 'pg';
import mysql from 'mysql2/promise';
import { createDatabase, startEtcd, startMariadb, until, type EtcdServer, type MariadbServer, type TestDatabase } from '@idra/testkit';
import { KEYS, connectEtcd, type EtcdConnection } from '@idra/core';
import { AgentProcess, EtcdHistory } from './cluster-harness.ts';
import { expectEqualToSource, keyed, ownership, type Rows } from './cdc-harness.ts';

// Mode cdc from MariaDB's binlog end to end: real agent processes, a MariaDB source of the test's own
// (binlog in row format, GTIDs; killed -9 and restarted during the test), two destinations
// (PostgreSQL, MariaDB). Writers insert, update (also keys), delete, run large and multi-statement
// transactions and add a column while the owning agent is killed (-9), the other is frozen past its
// lease, and the source is killed (-9) and restarted; at the end every destination equals the source
// row for row.

const PREFIX = `/cdc-mariadb-${process.pid}/`;
const ROWS = 5_000;
const COLUMNS = ['label', 'n', 'note'];

async function mysqlRows(url: string): Promise<Rows> {
  const c = await mysql.createConnection({ uri: url, supportBigNumbers: true, bigNumberStrings: true });
  try {
    return keyed((await c.query('select * from items'))[0] as Array<Record<string, unknown>>, COLUMNS);
  } finally {
    await c.end();
  }
}

describe('mode cdc from the MariaDB binlog through real agents: failover, a frozen agent, a source restart', () => {
  let source: MariadbServer;
  let etcd: EtcdServer;
  let pgDest: TestDatabase;
  let myDest: TestDatabase;
  let conn: EtcdConnection;
  const agents: AgentProcess[] = [];
  const sourceUrl = () => `${source.url}shop`;

  beforeAll(async () => {
    [source, etcd, pgDest, myDest] = await Promise.all([
      startMariadb({ binlog: true, crashSafe: true }),
      startEtcd(),
      createDatabase('postgres', inject('pgUrl')),
      createDatabase('mysql', inject('mysqlUrl')),
    ]);
    conn = connectEtcd({ endpoints: etcd.endpoints, prefix: PREFIX });
  });

  afterAll(async () => {
    await Promise.all(agents.map((a) => a.stop()));
    conn?.close();
    await Promise.all([source?.stop(), etcd?.stop(), pgDest?.drop(), myDest?.drop()]);
  });

  async function destinationRows(kind: 'pg' | 'mariadb'): Promise<Rows> {
    if (kind === 'mariadb') return mysqlRows(myDest.url);
    const c = new pg.Client(pgDest.url);
    await c.connect();
    try {
      return keyed((await c.query('select * from items')).rows, COLUMNS);
    } finally {
      await c.end();
    }
  }

  it('every destination ends equal to the source: 0 missing, 0 extra, 0 stale', async () => {
    const admin = await mysql.createConnection({ uri: source.url });
    await admin.query('create database shop character set utf8mb4');
    await admin.query('create table shop.items (id bigint primary key, label varchar(64), n int not null default 0)');
    for (let from = 1; from <= ROWS; from += 1000)
      await admin.query(`insert into shop.items (id, label) values ${Array.from({ length: 1000 }, (_, i) => `(${from + i}, 'v${from + i}')`).join(',')}`);
    await admin.end();

    const destinations = {
      pg: { connector: 'postgres', connection: { url: pgDest.url }, table: 'items' },
      mariadb: { connector: 'mysql', connection: { url: myDest.url }, table: 'items' },
    };
    for (const [name, destination] of Object.entries(destinations)) {
      await conn.ns.put(KEYS.sync(`cdc-${name}`)).value(
        JSON.stringify({
          id: `cdc-${name}`,
          source: { connector: 'mysql', connection: { url: sourceUrl() }, table: 'items', options: { snapshotParallelism: 2 } },
          destination,
          mode: 'cdc',
          keyColumns: ['id'],
          batchSize: 1000,
          pollIntervalMs: 300,
        }),
      );
    }
    const history = await EtcdHistory.start(conn.ns);
    agents.push(new AgentProcess('cdc-a', etcd.endpoints, PREFIX), new AgentProcess('cdc-b', etcd.endpoints, PREFIX));

    // Writers: each transaction one of insert, update, key change, delete, large update, multi-statement; a column added once.
    let writing = true;
    let next = 1_000_000;
    const stats = { transactions: 0, failed: 0 };
    const writer = (async () => {
      let c: mysql.Connection | undefined;
      for (let i = 0; writing; i++) {
        try {
          if (!c) {
            c = await mysql.createConnection({ uri: sourceUrl() });
            c.on('error', () => {});
          }
          const id = 1 + Math.floor(Math.random() * ROWS);
          const op = i % 10;
          if (i === 100) await c.query('alter table items add column note varchar(32)');
          if (op < 4) await c.query('insert into items (id, label) values (?, ?), (?, ?), (?, ?)', [++next, `ins${i}`, ++next, `ins${i}`, ++next, `ins${i}`]);
          else if (op < 6)
            await c.query(`update items set n = n + 1, label = ?${i > 100 ? ", note = 'noted'" : ''} where id between ? and ? + 20`, [`upd${i}`, id, id]);
          else if (op === 6) await c.query('update items set id = ? where id = ?', [++next, id]);
          else if (op === 7) await c.query('delete from items where id between ? and ? + 3', [id, id]);
          else if (op === 8) await c.query("update items set label = concat('bulk', ?) where id % 97 = ? % 97", [i, i]);
          else {
            const at = (next += 10);
            await c.beginTransaction();
            await c.query('insert into items (id, label) values (?, ?)', [at, `tx${i}`]);
            await c.query('delete from items where id = ?', [at - 5]);
            await c.commit();
          }
          stats.transactions++;
        } catch {
          stats.failed++;
          c?.destroy();
          c = undefined;
          await new Promise((r) => setTimeout(r, 100));
        }
      }
      await c?.end().catch(() => {});
    })();

    const { owners, killAndFreeze } = ownership(conn.ns, agents);
    await until(
      'the copies to run and stream',
      async () => (await owners()).size === 2 && (await destinationRows('pg').catch(() => new Map())).size > ROWS * 0.8,
      120_000,
    );

    // kill -9 the owner of most syncs, then freeze the survivor past its lease (for the binlog: the new owner's dump, as the same server id, ends the frozen one's).
    const victim = await killAndFreeze(etcd.endpoints, PREFIX);

    // Kill the source (-9) under the writers and the binlog dumps, then start it again.
    await source.kill('SIGKILL');
    const before = stats.transactions;
    await source.start();
    await until('more transactions after the restart', () => stats.transactions > before + 50, 60_000);
    writing = false;
    await writer;
    expect(stats.transactions).toBeGreaterThan(150);

    await expectEqualToSource(await mysqlRows(sourceUrl()), ['pg', 'mariadb'] as const, destinationRows);
    await history.settle();
    expect(history.violations()).toEqual([]);
    for (const a of agents.filter((x) => x !== victim)) expect(a.running).toBe(true);
  }, 420_000);
});
