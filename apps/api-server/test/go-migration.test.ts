import { spawn } from 'node:child_process';
import { writeFile } from 'node:fs/promises';
import { resolve } from 'node:path';
import { Etcd3 } from 'etcd3';
import mysql from 'mysql2/promise';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { SpawnedProcess, createDatabase, startEtcd, tempDir, type EtcdServer, type TestDatabase, until } from '@idra/testkit';
import { SECRET_KEY, startTestServer, type TestServer } from '@idra/api-server/testing';

declare module 'vitest' {
  export interface ProvidedContext {
    mysqlUrl: string;
  }
}

const AGENT = resolve(import.meta.dirname, '../../agent/src/main.ts');
const CLI = resolve(import.meta.dirname, '../../cli/bin/idra.js');

/** `root@tcp(host:port)/db?…`: a GORM MySQL DSN for a test database URL. */
function goMysqlDsn(url: string, params: string): string {
  const u = new URL(url);
  return `${decodeURIComponent(u.username)}${u.password ? `:${decodeURIComponent(u.password)}` : ''}@tcp(${u.hostname}:${u.port})${u.pathname}?${params}`;
}

/** `host=… port=… user=… dbname=…`: a GORM PostgreSQL DSN for a test database URL. */
function goPostgresDsn(url: string): string {
  const u = new URL(url);
  return `host=${u.hostname} port=${u.port} user=${decodeURIComponent(u.username)}${u.password ? ` password=${decodeURIComponent(u.password)}` : ''} dbname=${u.pathname.slice(1)} sslmode=disable TimeZone=Europe/Rome`;
}

describe('idra migrate: a fake Go Idra (a real etcd with its key layout) migrated and resumed by a real agent', () => {
  let s: TestServer;
  let apiUrl: string;
  let goEtcd: EtcdServer;
  let go: Etcd3;
  let pgSrc: TestDatabase, pgDst: TestDatabase, myDb: TestDatabase;
  let src: pg.Client, dst: pg.Client;
  let my: mysql.Connection;
  let agent: SpawnedProcess | undefined;
  let home: string;

  const idra = (args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> =>
    new Promise((done) => {
      const child = spawn(process.execPath, [CLI, ...args], {
        env: { PATH: process.env.PATH, HOME: home, IDRA_API_URL: apiUrl, IDRA_TOKEN: s.tokens.admin },
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      let stdout = '';
      let stderr = '';
      child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
      child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
      child.on('exit', (code) => done({ code, stdout, stderr }));
    });

  beforeAll(async () => {
    [s, goEtcd, pgSrc, pgDst, myDb, home] = await Promise.all([
      startTestServer(),
      startEtcd(),
      createDatabase('postgres', inject('pgUrl')),
      createDatabase('postgres', inject('pgUrl')),
      createDatabase('mysql', inject('mysqlUrl')),
      tempDir('idra-migrate-home-'),
    ]);
    apiUrl = await s.app.listen({ host: '127.0.0.1', port: 0 });
    go = new Etcd3({ hosts: goEtcd.endpoints });
    src = new pg.Client(pgSrc.url);
    dst = new pg.Client(pgDst.url);
    await Promise.all([src.connect(), dst.connect()]);
    my = await mysql.createConnection({ uri: myDb.url });

    // What Go Idra had copied when it was stopped.
    await src.query('create table orders (id bigint primary key, amount numeric(12,2) not null, note text)');
    await src.query(`insert into orders select g, g * 1.25, 'order ' || g from generate_series(1, 600) g`);
    // No key on this destination: a row copied twice would show as a duplicate.
    await dst.query('create table orders (id bigint, amount numeric(12,2), note text)');
    await dst.query(`insert into orders select g, g * 1.25, 'order ' || g from generate_series(1, 250) g`);
    await src.query('create table items (id bigint primary key, name text)');
    await src.query(`insert into items select g, 'item ' || g from generate_series(1, 100) g`);
    await dst.query('create table items (id bigint primary key, name text)');
    await dst.query(`insert into items select g, 'item ' || g from generate_series(1, 30) g`);
    // Wall-clock DATETIMEs (Go read them with loc=Europe/Rome); rows 41 and 42 share a millisecond:
    // Go's last batch ended at row 41 and stored that millisecond, so row 42 was never copied.
    await my.query('create table events (id bigint primary key, at datetime(6) not null, v varchar(40))');
    await my.query('create table events_copy (id bigint primary key, at datetime(6) not null, v varchar(40))');
    const events: Array<[number, string]> = [];
    for (let i = 1; i <= 40; i++) events.push([i, `2024-03-10 11:59:${String(i).padStart(2, '0')}.000000`]);
    events.push([41, '2024-03-10 12:00:00.123456'], [42, '2024-03-10 12:00:00.123789']);
    for (let i = 43; i <= 60; i++) events.push([i, `2024-03-10 12:01:${String(i - 40).padStart(2, '0')}.500000`]);
    await my.query('insert into events (id, at, v) values ?', [events.map(([id, at]) => [id, at, `event ${id}`])]);
    await my.query('insert into events_copy (id, at, v) values ?', [events.filter(([id]) => id <= 41).map(([id, at]) => [id, at, `event ${id}`])]);

    // Go Idra's etcd, its own key layout: /syncs/<id>, /offsets/<name>, /assignments/<machine>/<id>.
    const goSync = (id: string, mode: string, source: Record<string, unknown>, destination: Record<string, unknown>) =>
      go.put(`/syncs/${id}`).value(JSON.stringify({ id, sync_name: id, mode, disabled: false, source_connector: source, destination_connector: destination }));
    const pgConn = (url: string, table: string, extra: Record<string, unknown> = {}) => ({
      id: 'id',
      connector_name: `${table}-${url === pgSrc.url ? 'src' : 'dst'}`,
      connector_source_type: 'PostgresGORM',
      connection_string: goPostgresDsn(url),
      table,
      polling_time: 1,
      max_record_batch_size: 100,
      save_mode: 'Insert',
      ...extra,
    });
    const myConn = (table: string, extra: Record<string, unknown> = {}) => ({
      id: 'id',
      connector_name: table,
      connector_source_type: 'MysqlGORM',
      connection_string: goMysqlDsn(myDb.url, 'charset=utf8mb4&parseTime=True&loc=Europe%2FRome'),
      table,
      polling_time: 1,
      timestamp_field: 'at',
      max_record_batch_size: 7,
      save_mode: 'Insert',
      ...extra,
    });
    await goSync('go-orders', 'IdField', pgConn(pgSrc.url, 'orders'), pgConn(pgDst.url, 'orders'));
    await goSync('go-events', 'Timestamp', myConn('events'), myConn('events_copy'));
    await goSync('go-items', 'LastDestinationId', pgConn(pgSrc.url, 'items'), pgConn(pgDst.url, 'items', { save_mode: 'Upsert' }));
    await goSync(
      'go-rabbit',
      'Last',
      { connector_source_type: 'RabbitMQConnector', connection_string: 'amqp://guest:guest@localhost:5672/', table: 'q' },
      pgConn(pgDst.url, 'rabbit'),
    );
    await go.put('/offsets/go-orders').value('250');
    // Where Go's IdField read its offset from (the source's connector_name): stale, not used.
    await go.put('/offsets/orders-src').value('-1');
    await go.put('/offsets/go-events').value(String(Date.UTC(2024, 2, 10, 11, 0, 0, 123)));
    await go.put('/offsets/retired-sync').value('77');
    await go.put('/assignments/machine-1/go-orders').value('go-orders');
  });
  afterAll(async () => {
    await agent?.stop();
    await Promise.all([src?.end(), dst?.end(), my?.end()]);
    go?.close();
    await Promise.all([pgSrc?.drop(), pgDst?.drop(), myDb?.drop(), goEtcd?.stop()]);
    await s?.close();
  });

  it('refuses while Go agents run, imports syncs and offsets without writing to Go, and the syncs continue where Go stopped', async () => {
    // A live Go agent: its registration and a sync lock, on its lease.
    const lease = go.lease(30, { autoKeepAlive: false });
    const leaseId = await lease.grant();
    await lease.put(`agents/${leaseId}`).value(JSON.stringify({ agent_id: 'machine-1' }));
    await lease.put(`/distributed-locks/go-orders/${leaseId}`).value('');
    const goEtcd = `--go-etcd=${goEtcdUrl()}`;

    const running = await idra(['migrate', goEtcd, '--skip-refused']);
    expect(running.code, running.stderr).toBe(5);
    expect(running.stderr).toMatch(/Go Idra is still running \(1 live agent\(s\), locks on 1 sync\(s\)\): nothing was imported/);
    expect(running.stdout).toMatch(/1\. Stop every Go Idra agent \(cdc_agent\) first/);
    expect((await idra(['syncs', 'get', 'go-orders'])).code).toBe(4);

    await lease.revoke();
    const revision = async () => (await go.get('/syncs/go-orders').exec()).header.revision;
    const before = await revision();

    const dry = await idra(['migrate', goEtcd, '--skip-refused', '--dry-run']);
    expect(dry.code, dry.stderr).toBe(0);
    expect(dry.stdout).toMatch(/dry run, nothing written/);
    expect((await idra(['syncs', 'get', 'go-orders'])).code).toBe(4);

    const done = await idra(['migrate', goEtcd, '--skip-refused']);
    expect(done.code, done.stderr).toBe(0);
    expect(done.stdout).toMatch(/Go sync 'go-rabbit'.*REFUSED/);
    expect(done.stdout).toMatch(/offset\s+\/offsets\/go-orders = 250\s+mapped: id 250 .*\/offsets\/orders-src holds '-1'/);
    expect(done.stdout).toMatch(/offset\s+\/offsets\/go-events = \d+\s+converted: .*2024-03-10 12:00:00\.123 in Europe\/Rome/);
    expect(done.stdout).toMatch(/Go offsets no sync claimed \(not imported\): \/offsets\/retired-sync/);
    expect(done.stdout).toMatch(/imported: syncs created go-events, go-items, go-orders|imported: syncs created go-orders, go-events, go-items/);
    expect(done.stdout).toMatch(/offsets stored for (go-events, go-orders|go-orders, go-events)\b/);
    // Read-only: Go Idra's etcd has not changed.
    expect(await revision()).toBe(before);
    expect(JSON.parse((await idra(['offsets', 'get', 'go-events', '--json'])).stdout).offset).toMatchObject({
      kind: 'timestamp',
      value: '2024-03-10 12:00:00.122',
      tiebreaker: null,
    });

    agent = new SpawnedProcess(
      process.execPath,
      [AGENT, '--etcd', s.options.etcd.join(','), '--prefix', s.prefix, '--agent-id', 'migrate-agent', '--lease-ttl', '2s'],
      {
        env: { ...process.env, IDRA_SECRET_KEY: SECRET_KEY, IDRA_LOG_FORMAT: 'json' },
      },
    );
    const count = async (client: { query: (q: string) => Promise<unknown> }, q: string) =>
      Number(((await client.query(q)) as { rows: Array<{ n: string }> }).rows[0]!.n);
    await until('orders caught up', async () => (await count(dst, 'select count(*) as n from orders')) >= 600);
    await until('items caught up', async () => (await count(dst, 'select count(*) as n from items')) >= 100);
    const myCount = async () => Number(((await my.query('select count(*) as n from events_copy')) as unknown as Array<Array<{ n: number }>>)[0]![0]!.n);
    await until('events caught up', async () => (await myCount()) >= 60);

    // Exactly once each: nothing from before the Go offset copied again, nothing after it missed.
    const orders = (await dst.query('select id, count(*) as n from orders group by id order by id')).rows as Array<{ id: string; n: string }>;
    expect(orders.map((r) => Number(r.id))).toEqual(Array.from({ length: 600 }, (_, i) => i + 1));
    expect(orders.every((r) => r.n === '1')).toBe(true);
    expect((await dst.query('select count(*) as n from items')).rows[0].n).toBe('100');
    const [rows] = (await my.query("select id, date_format(at, '%Y-%m-%d %H:%i:%s.%f') as at from events_copy order by id")) as unknown as [
      Array<{ id: number; at: string }>,
    ];
    expect(rows.map((r) => Number(r.id))).toEqual(Array.from({ length: 60 }, (_, i) => i + 1));
    expect(rows.find((r) => Number(r.id) === 42)!.at).toBe('2024-03-10 12:00:00.123789');
  }, 120_000); // four CLI commands, an agent start and three syncs catching up: over 60 s at load average 40 on two cores

  it('idra import --dry-run prints the report and writes nothing; a refused sync fails the import (exit 1) unless left out', async () => {
    const file = `${home}/go-export.json`;
    const doc = [
      {
        id: 'file-orders',
        sync_name: 'file orders',
        mode: 'FullWithId',
        source_connector: { id: 'id', connector_source_type: 'PostgresGORM', connection_string: goPostgresDsn(pgSrc.url), table: 'orders' },
        destination_connector: { id: 'id', connector_source_type: 'PostgresGORM', connection_string: goPostgresDsn(pgDst.url), table: 'orders_full' },
      },
      {
        id: 'file-chroma',
        sync_name: 'vectors',
        mode: 'WriteOnly',
        source_connector: { id: 'id', connector_source_type: 'PostgresGORM', connection_string: goPostgresDsn(pgSrc.url), table: 'orders' },
        destination_connector: { connector_source_type: 'ChromaDbConnector', connection_string: 'http://chroma:8000' },
      },
    ];
    await writeFile(file, JSON.stringify(doc));
    const dry = await idra(['import', '-f', file, '--dry-run']);
    expect(dry.code, dry.stderr).toBe(0);
    expect(dry.stdout).toMatch(/Go sync 'file-orders' \(file orders\) → Idra sync file-orders: IMPORTABLE/);
    expect(dry.stdout).toMatch(/converted\s+mode\s+Go's FullWithId copied only the first max_record_batch_size rows/);
    expect(dry.stdout).toMatch(/refused\s+destination_connector.connector_source_type\s+'ChromaDbConnector': ChromaDB is not a connector of Idra/);
    expect(dry.stdout).toMatch(/would import \(go-idra\): syncs created file-orders, updated -; refused file-chroma — dry run, nothing written/);
    expect((await idra(['syncs', 'get', 'file-orders'])).code).toBe(4);
    const refused = await idra(['syncs', 'import', '-f', file]);
    expect(refused.code).toBe(1);
    expect(refused.stderr).toMatch(/\[1\]\.destination_connector\.connector_source_type: 'ChromaDbConnector'/);
    const partial = await idra(['import', '-f', file, '--skip-refused', '--json']);
    expect(partial.code, partial.stderr).toBe(0);
    expect(JSON.parse(partial.stdout)).toMatchObject({ format: 'go-idra', dryRun: false, syncs: { created: ['file-orders'] }, refused: ['file-chroma'] });
  });

  it('the CLI asks for a choice when a change moves a stored offset (exit 5), then keeps it with a typed confirmation, recorded in the history', async () => {
    await until('an offset for file-orders', async () => JSON.parse((await idra(['offsets', 'get', 'file-orders', '--json'])).stdout || '{}').offset);
    const sync = JSON.parse((await idra(['syncs', 'get', 'file-orders'])).stdout) as Record<string, unknown>;
    const file = `${home}/file-orders.json`;
    await writeFile(file, JSON.stringify({ ...sync, keyColumns: ['id', 'note'] }));
    const refused = await idra(['syncs', 'apply', '-f', file]);
    expect(refused.code).toBe(5);
    expect(refused.stderr).toMatch(/file-orders has a stored offset .* and this change moves what it points into:\n {2}keyColumns: id → id, note/);
    expect(refused.stderr).toMatch(/--offset reset \(start over\) or --offset keep --confirm <id>/);
    expect((await idra(['syncs', 'pause', 'file-orders', '--wait', '--reason', 'new key'])).code).toBe(0);
    await writeFile(file, JSON.stringify({ ...sync, enabled: false, keyColumns: ['id', 'note'] }));
    expect((await idra(['syncs', 'apply', '-f', file, '--offset', 'keep', '--reason', 'same rows'])).code).toBe(2);
    const kept = await idra(['syncs', 'apply', '-f', file, '--offset', 'keep', '--confirm', 'file-orders', '--reason', 'same rows']);
    expect(kept.code, kept.stderr).toBe(0);
    const history = await idra(['syncs', 'history', 'file-orders']);
    expect(history.stdout).toMatch(/updated\s+same rows\s+keyColumns: \["id"\] → \["id","note"\].*; offset kept \(keyColumns changed\)/);
    expect(history.stdout).toMatch(/paused\s+new key/);
  });

  const goEtcdUrl = () => goEtcd.endpoints[0]!;
});
