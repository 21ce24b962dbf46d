import { existsSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Etcd3 } from 'etcd3';
import mysql from 'mysql2/promise';
import pg from 'pg';
import { describe, expect, inject, it, vi } from 'vitest';
import { createDatabase, freePort, startEtcd, startMariadb, startPostgres, tempDir, type EtcdMember } from './index.ts';

async function pgQuery<T>(url: string, sql: string): Promise<T[]> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    return (await client.query(sql)).rows as T[];
  } finally {
    await client.end();
  }
}

async function mysqlQuery<T>(url: string, sql: string): Promise<T[]> {
  const connection = await mysql.createConnection({ uri: url });
  try {
    const [rows] = await connection.query(sql);
    return rows as T[];
  } finally {
    await connection.end();
  }
}

// Per dialect: how to query, and the SQL that differs.
const SQL_SERVERS = [
  { kind: 'postgres', serverUrl: () => inject('pgUrl'), query: pgQuery, listDatabases: 'SELECT datname AS name FROM pg_database' },
  { kind: 'mysql', serverUrl: () => inject('mysqlUrl'), query: mysqlQuery, listDatabases: 'SELECT schema_name AS name FROM information_schema.schemata' },
] as const;

describe('freePort and tempDir', () => {
  it('hands out distinct ports and fresh dirs under the OS temp dir', async () => {
    const ports = await Promise.all([freePort(), freePort(), freePort()]);
    expect(new Set(ports).size).toBe(3);
    const dir = await tempDir('idra-testkit-');
    expect(dir.startsWith(join(tmpdir(), 'idra-testkit-'))).toBe(true);
    expect(existsSync(dir)).toBe(true);
    await rm(dir, { recursive: true });
  });
});

describe('startPostgres', () => {
  it('runs queries, and refuses connections once stopped', async () => {
    const server = await startPostgres();
    expect(server.url).toBe(`postgres://postgres@127.0.0.1:${server.port}/postgres`);
    const rows = await pgQuery<{ answer: number }>(server.url, 'SELECT 6 * 7 AS answer');
    expect(rows).toEqual([{ answer: 42 }]);
    expect(await pgQuery(server.url, 'SHOW wal_level')).toEqual([{ wal_level: 'logical' }]);
    await server.stop();
    await expect(pgQuery(server.url, 'SELECT 1')).rejects.toThrow(/ECONNREFUSED/);
  });

  it('keeps the data in a given dataDir across restarts', async () => {
    const parent = await tempDir('idra-testkit-');
    const dataDir = join(parent, 'pgdata');
    try {
      const first = await startPostgres({ dataDir });
      await pgQuery(first.url, 'CREATE TABLE kept (id int); INSERT INTO kept VALUES (7)');
      await first.stop();
      const second = await startPostgres({ dataDir });
      try {
        expect(await pgQuery(second.url, 'SELECT id FROM kept')).toEqual([{ id: 7 }]);
      } finally {
        await second.stop();
      }
    } finally {
      await rm(parent, { recursive: true, force: true });
    }
  });
});

describe('startMariadb', () => {
  it('runs queries, and refuses connections once stopped', async () => {
    const server = await startMariadb();
    expect(server.url).toBe(`mysql://root@127.0.0.1:${server.port}/`);
    const rows = await mysqlQuery<{ version: string }>(server.url, 'SELECT VERSION() AS version');
    expect(rows[0]?.version).toMatch(/MariaDB/);
    expect(await mysqlQuery(server.url, "SHOW VARIABLES LIKE 'log_bin'")).toEqual([{ Variable_name: 'log_bin', Value: 'OFF' }]);
    await server.stop();
    await expect(mysqlQuery(server.url, 'SELECT 1')).rejects.toThrow(/ECONNREFUSED/);
  });

  it('writes a row-format binlog with full images and GTIDs when asked', async () => {
    const server = await startMariadb({ binlog: true });
    try {
      const settings = await mysqlQuery<{ Variable_name: string; Value: string }>(
        server.url,
        "SHOW VARIABLES WHERE Variable_name IN ('log_bin', 'binlog_format', 'binlog_row_image', 'gtid_strict_mode')",
      );
      expect(Object.fromEntries(settings.map((s) => [s.Variable_name, s.Value]))).toEqual({
        log_bin: 'ON',
        binlog_format: 'ROW',
        binlog_row_image: 'FULL',
        gtid_strict_mode: 'ON',
      });
      for (const statement of ['CREATE DATABASE logged', 'CREATE TABLE logged.t (id int PRIMARY KEY)', 'INSERT INTO logged.t VALUES (1)']) {
        await mysqlQuery(server.url, statement);
      }
      const [gtid] = await mysqlQuery<{ pos: string }>(server.url, 'SELECT @@gtid_binlog_pos AS pos');
      expect(gtid?.pos).toMatch(/^0-1-\d+$/);
    } finally {
      await server.stop();
    }
  });
});

describe.each(SQL_SERVERS)('createDatabase($kind) on the shared server', ({ kind, serverUrl, query, listDatabases }) => {
  it('creates an empty database to use, and drops it', async () => {
    const database = await createDatabase(kind, serverUrl());
    expect(database.url).toMatch(new RegExp(`/${database.name}$`));
    await query(database.url, 'CREATE TABLE items (id int PRIMARY KEY, label varchar(20))');
    await query(database.url, "INSERT INTO items VALUES (1, 'one'), (2, 'two')");
    expect(await query(database.url, 'SELECT id, label FROM items ORDER BY id')).toEqual([
      { id: 1, label: 'one' },
      { id: 2, label: 'two' },
    ]);
    await database.drop();
    const names = (await query<{ name: string }>(serverUrl(), listDatabases)).map((row) => row.name);
    expect(names).not.toContain(database.name);
  });

  it('takes a given name and rejects names that would need quoting', async () => {
    const database = await createDatabase(kind, serverUrl(), `idra_named_${process.pid}`);
    expect(database.name).toBe(`idra_named_${process.pid}`);
    await database.drop();
    await expect(createDatabase(kind, serverUrl(), 'x"; DROP')).rejects.toThrow(TypeError);
  });
});

describe('startEtcd', () => {
  it('serves puts and gets with one member', async () => {
    const server = await startEtcd();
    const client = new Etcd3({ hosts: server.endpoints });
    try {
      expect(server.members.map((member) => member.running)).toEqual([true]);
      await client.put('greeting').value('hello');
      expect(await client.get('greeting').string()).toBe('hello');
    } finally {
      client.close();
      await server.stop();
    }
    expect(server.members[0]?.running).toBe(false);
  });

  it('elects a new leader when the leader is killed, stays writable, and takes the member back', async () => {
    const server = await startEtcd({ members: 3 });
    const client = new Etcd3({ hosts: server.endpoints });
    const clientOf = (members: EtcdMember[]): Etcd3 => new Etcd3({ hosts: members.map((member) => member.clientUrl) });
    try {
      await client.put('before').value('1');
      expect(await client.get('before').string()).toBe('1');
      const { members: listed } = await client.cluster.memberList({});
      expect(listed.map((member) => member.name).sort()).toEqual(['etcd0', 'etcd1', 'etcd2']);
      const { leader } = await client.maintenance.status();
      const leaderName = listed.find((member) => member.ID === leader)?.name;
      const victim = server.members.find((member) => member.name === leaderName);
      if (victim === undefined) throw new Error(`no member is leader ${leader}`);
      const survivors = server.members.filter((member) => member !== victim);

      await victim.kill('SIGKILL');
      expect(victim.running).toBe(false);
      const survivorsOnly = clientOf(survivors);
      try {
        // Writes sent before the survivors notice stall for etcd's request timeout (~5 s); wait for the election.
        await vi.waitFor(async () => expect((await survivorsOnly.maintenance.status()).leader).not.toBe(leader), { timeout: 10_000, interval: 50 });
        await survivorsOnly.put('during').value('2');
        await client.put('during-any-endpoint').value('3');
        expect(await survivorsOnly.get('during').string()).toBe('2');
      } finally {
        survivorsOnly.close();
      }

      await victim.start();
      expect(victim.running).toBe(true);
      const victimOnly = clientOf([victim]);
      try {
        // A linearizable read on the restarted member sees what was written while it was down.
        expect(await victimOnly.get('during').string()).toBe('2');
        expect((await victimOnly.cluster.memberList({})).members).toHaveLength(3);
      } finally {
        victimOnly.close();
      }
    } finally {
      client.close();
      await server.stop();
    }
    expect(server.members.map((member) => member.running)).toEqual([false, false, false]);
  });
});
