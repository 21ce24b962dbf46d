import { createServer, type Server } from 'node:http';
import { dirname, join, resolve } from 'node:path';
import { symlink } from 'node:fs/promises';
import Database from 'better-sqlite3';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { SpawnedProcess, createDatabase, tempDir, type TestDatabase, until } from '@idra/testkit';
import { IdraClient, type OffsetView } from '@idra/api-client';
import { SECRET_KEY, startTestServer, type TestServer } from '@idra/api-server/testing';

const AGENT = resolve(import.meta.dirname, '../../agent/src/main.ts');

/** A real agent process in cluster mode (the same way apps/agent's tests run it). */
function startAgent(endpoints: string[], prefix: string, id: string, env: Record<string, string> = {}): SpawnedProcess {
  return new SpawnedProcess(
    process.execPath,
    [AGENT, '--etcd', endpoints.join(','), '--prefix', prefix, '--agent-id', id, '--log-level', 'info', '--lease-ttl', '2s'],
    {
      env: { ...process.env, IDRA_SECRET_KEY: SECRET_KEY, IDRA_LOG_FORMAT: 'json', ...env },
    },
  );
}

describe('end to end: a sync created through the API is run by a real agent', () => {
  let s: TestServer;
  let api: IdraClient;
  let source: TestDatabase;
  let src: pg.Client;
  let destination: string;
  let agent: ReturnType<typeof startAgent> | undefined;

  beforeAll(async () => {
    [s, source] = await Promise.all([startTestServer(), createDatabase('postgres', inject('pgUrl'))]);
    src = new pg.Client(source.url);
    await src.connect();
    await src.query('create table orders (id bigint primary key, amount numeric(12,2) not null, note text)');
    await src.query(`insert into orders select g, g * 1.25, 'order ' || g from generate_series(1, 500) g`);
    destination = join(await tempDir('idra-e2e-'), 'dest.db');
    api = new IdraClient({ baseUrl: await s.app.listen({ host: '127.0.0.1', port: 0 }), token: s.tokens.admin });
  });
  afterAll(async () => {
    await agent?.stop();
    await src?.end();
    await source?.drop();
    await s?.close();
  });

  const offsetValue = async () => ((await api.offsets.get('pg-to-sqlite')) as OffsetView).offset?.value;
  const destinationCount = () => {
    const db = new Database(destination, { readonly: true, fileMustExist: true });
    try {
      return Number((db.prepare('select count(*) as n from orders').get() as { n: number }).n);
    } finally {
      db.close();
    }
  };

  it('copies, reports status and offset through the API, and resumes from an offset set by hand', async () => {
    // The source's URL carries a password: stored sealed, the agent decrypts it with the same IDRA_SECRET_KEY.
    const url = new URL(source.url);
    url.password = 'E2e-Pa55word';
    await api.dataSources.create({ id: 'shop', connector: 'postgres', connection: { url: url.toString() } });
    expect((await api.dataSources.test('shop')).ok).toBe(true);
    await api.syncs.create({
      id: 'pg-to-sqlite',
      source: { connector: 'postgres', dataSourceId: 'shop', table: 'orders' },
      destination: { connector: 'sqlite', connection: { file: destination }, table: 'orders' },
      mode: 'id',
      cursorColumn: 'id',
      keyColumns: ['id'],
      batchSize: 100,
      pollIntervalMs: 200,
    });

    agent = startAgent(inject('etcdEndpoints'), s.prefix, 'e2e-agent', { IDRA_SQLITE_ROOTS: dirname(destination) });
    await until('the first 500 rows', async () => (await offsetValue()) === '500');
    expect(destinationCount()).toBe(500);
    const agents = await api.agents();
    expect(agents).toMatchObject([{ agentId: 'e2e-agent', leader: true, syncs: ['pg-to-sqlite'] }]);
    expect(await api.assignments()).toMatchObject([{ syncId: 'pg-to-sqlite', agentId: 'e2e-agent' }]);
    const overview = await until('a status with 500 rows', async () => (await api.overview()).find((o) => o.status?.rowsCopied === 500));
    expect(overview).toMatchObject({ runningOn: 'e2e-agent', assignment: { agentId: 'e2e-agent' }, status: { agentId: 'e2e-agent' } });

    // Editing the offset of a running sync is refused.
    await expect(api.offsets.set('pg-to-sqlite', { position: { kind: 'id', value: '250' }, reason: 'replay the second half' })).rejects.toMatchObject({
      status: 409,
      code: 'IDRA_ERR_OFFSET_SYNC_ENABLED',
    });
    // Pause and wait for the agent to let go, then rewind.
    await api.request('POST', '/syncs/pg-to-sqlite/pause', {}, { wait: 'true' });
    expect((await api.offsets.get('pg-to-sqlite')).runningOn).toBeNull();
    await api.offsets.set('pg-to-sqlite', { position: { kind: 'id', value: '250' }, reason: 'replay the second half' });
    expect(await offsetValue()).toBe('250');
    await src.query(`update orders set note = 'changed' where id > 250`);
    await src.query(`insert into orders select g, g * 1.25, 'late ' || g from generate_series(501, 600) g`);
    await api.syncs.resume('pg-to-sqlite');
    await until('the replay and the new rows', async () => (await offsetValue()) === '600');
    expect(destinationCount()).toBe(600);
    const history = await api.offsets.history('pg-to-sqlite');
    expect(history).toMatchObject([{ by: 'admin', reason: 'replay the second half', old: { kind: 'id', value: '500' }, new: { kind: 'id', value: '250' } }]);
    expect(agent.output()).not.toContain('E2e-Pa55word');
  });
});

describe('an operator cannot point agents or the API at internal services', () => {
  let s: TestServer;
  let api: IdraClient;
  let metadata: Server;
  let base: string;
  let dest: TestDatabase;
  let agent: ReturnType<typeof startAgent> | undefined;
  const hits: string[] = [];

  beforeAll(async () => {
    // Stands in for a cloud metadata service or an agent-local admin page.
    metadata = createServer((req, res) => {
      hits.push(req.url!);
      res.writeHead(200, { 'content-type': 'text/plain' }).end('ami-id\nsecurity-credentials/ROLE-SECRET-4f2a\n');
    });
    await new Promise<void>((r) => metadata.listen(0, '127.0.0.1', r));
    base = `http://127.0.0.1:${(metadata.address() as { port: number }).port}`;
    [s, dest] = await Promise.all([startTestServer(), createDatabase('postgres', inject('pgUrl'))]);
    api = new IdraClient({ baseUrl: await s.app.listen({ host: '127.0.0.1', port: 0 }), token: s.tokens.admin });
  });
  afterAll(async () => {
    await agent?.stop();
    await s?.close();
    await dest?.drop();
    await new Promise<void>((r) => metadata.close(() => r()));
  });

  it('an HTTP source at a loopback address is refused by the agent; its status shows why, never the answer', async () => {
    await api.syncs.create({
      id: 'metadata',
      source: { connector: 'http', connection: { url: `${base}/latest/meta-data/` }, options: { retries: 0 } },
      destination: { connector: 'postgres', connection: { url: dest.url }, table: 'stolen' },
      mode: 'stream',
      keyColumns: ['id'],
    });
    agent = startAgent(inject('etcdEndpoints'), s.prefix, 'reach-agent');
    const status = await until('the refusal in the status', async () => (await api.overview()).find((o) => o.id === 'metadata' && o.status?.lastError)?.status);
    expect(status!.lastError!.message).toMatch(/127\.0\.0\.1 is a loopback, private, link-local or reserved address: .*IDRA_HTTP_ALLOW/);
    expect(JSON.stringify(await api.syncs.status('metadata'))).not.toContain('ROLE-SECRET');
    expect(hits).toEqual([]);
  });

  it('a SQLite file outside IDRA_SQLITE_ROOTS (or reached by a symlink from inside) is refused by the agent, naming the field', async () => {
    const allowed = await tempDir('idra-reach-allowed-');
    const elsewhere = join(await tempDir('idra-reach-elsewhere-'), 'private.db');
    const db = new Database(elsewhere);
    db.exec(`create table secrets (id integer primary key, value text); insert into secrets values (1, 'HOST-FILE-SECRET-77c1')`);
    db.close();
    await symlink(elsewhere, join(allowed, 'link.db'));
    await agent?.stop();
    agent = startAgent(inject('etcdEndpoints'), s.prefix, 'reach-agent-2', { IDRA_SQLITE_ROOTS: allowed });
    const copyOf = (id: string, file: string) => ({
      id,
      source: { connector: 'sqlite' as const, connection: { file }, table: 'secrets' },
      destination: { connector: 'postgres' as const, connection: { url: dest.url }, table: id.replace(/-/g, '_') },
      mode: 'id' as const,
      cursorColumn: 'id',
      keyColumns: ['id'],
    });
    await api.syncs.create(copyOf('host-file', elsewhere));
    await api.syncs.create(copyOf('via-link', join(allowed, 'link.db')));
    for (const id of ['host-file', 'via-link']) {
      const status = await until(`the refusal of ${id}`, async () => (await api.overview()).find((o) => o.id === id && o.status?.lastError)?.status);
      expect(status!.lastError!.message, id).toMatch(/connection\.file: '.*' is outside the directories SQLite files may be in/);
    }
    const pgClient = new pg.Client(dest.url);
    await pgClient.connect();
    try {
      const copied = await pgClient.query(`select table_name from information_schema.tables where table_name in ('host_file', 'via_link')`);
      expect(copied.rows).toEqual([]);
    } finally {
      await pgClient.end();
    }
  });

  it('test-connection of an HTTP data source at loopback, or at a name resolving there, is refused without a request', async () => {
    for (const url of [`${base}/latest/meta-data/`, base.replace('127.0.0.1', 'localhost')]) {
      const r = await api.request<{ ok: boolean; error?: string }>('POST', '/datasources/test', { id: 'probe', connector: 'http', connection: { url } });
      expect(r.ok, url).toBe(false);
      expect(r.error, url).toMatch(/loopback, private, link-local or reserved address/);
      expect(r.error).not.toContain('ROLE-SECRET');
    }
    expect(hits).toEqual([]);
  });
});
