// The bundled etcd as compose and the chart run it: client and peer TLS with certificates from
// deploy/etcd/gen-certs.sh, auth on with one user and role per component (`idra-api-server etcd-access`),
// and a real API server and agent started against it with CA-only TLS and their own users.
import { execFile } from 'node:child_process';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';
import Database from 'better-sqlite3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ETCD_USERS, connectEtcd, etcdGrants } from '@idra/core';
import { SpawnedProcess, freePort, startEtcd, tempDir, until, type EtcdServer } from '@idra/testkit';

const run = promisify(execFile);
const ROOT = resolve(import.meta.dirname, '../..');
const API = join(ROOT, 'apps/api-server/src/main.ts');
const AGENT = join(ROOT, 'apps/agent/src/main.ts');
const PREFIX = '/idra/';
const PASSWORDS = { root: 'root-Pa55word-0123456789', agent: 'agent-Pa55word-0123456789', api: 'api-Pa55word-0123456789' };
const SECRET_KEY = 'etcd-access-test-secret-key';
const ADMIN_PASSWORD = 'Admin-Pa55word-etcd';

describe('etcd with client and peer TLS and auth (3 members), an API server and an agent with least privilege', () => {
  let etcd: EtcdServer;
  let certs: string;
  let dir: string;
  const processes: SpawnedProcess[] = [];
  const access = (env: Record<string, string> = {}) =>
    new SpawnedProcess(process.execPath, [API, 'etcd-access'], {
      env: {
        ...process.env,
        IDRA_ETCD_ENDPOINTS: etcd.endpoints.join(','),
        IDRA_ETCD_CA: join(certs, 'ca.crt'),
        IDRA_ETCD_ROOT_PASSWORD: PASSWORDS.root,
        IDRA_ETCD_AGENT_PASSWORD: PASSWORDS.agent,
        IDRA_ETCD_API_PASSWORD: PASSWORDS.api,
        ...env,
      },
    });
  /** A client with CA-only TLS, as the agents and the API server connect. */
  const client = (user?: { username: string; password: string }) =>
    connectEtcd({ endpoints: etcd.endpoints, prefix: PREFIX, tls: { ca: join(certs, 'ca.crt') }, ...user });

  beforeAll(async () => {
    dir = await tempDir('idra-etcd-tls-');
    certs = join(dir, 'certs');
    await run(join(ROOT, 'deploy/etcd/gen-certs.sh'), [certs, 'etcd0', 'etcd1', 'etcd2']);
    etcd = await startEtcd({ members: 3, tls: { ca: join(certs, 'ca.crt'), cert: join(certs, 'tls.crt'), key: join(certs, 'tls.key') } });
  });
  afterAll(async () => {
    await Promise.all(processes.map((p) => p.stop()));
    await etcd?.stop();
  });

  it('members speak TLS only: a plain-HTTP client is refused', async () => {
    expect(etcd.endpoints.every((e) => e.startsWith('https://127.0.0.1:'))).toBe(true);
    const plain = connectEtcd({ endpoints: etcd.endpoints.map((e) => e.replace('https:', 'http:')), prefix: PREFIX, dialTimeoutMs: 1000 });
    await expect(plain.client.get('x').string()).rejects.toThrow();
    plain.close();
  });

  it('etcd-access refuses short passwords (exit 2, naming them), then sets users and roles and turns auth on; running it again is harmless', async () => {
    const short = access({ IDRA_ETCD_AGENT_PASSWORD: 'short' });
    expect(await short.exited).toBe(2);
    expect(short.output()).toContain('IDRA_ETCD_AGENT_PASSWORD: must be at least 16 characters');
    for (let i = 0; i < 2; i++) {
      const setup = access();
      expect(await setup.exited, setup.output()).toBe(0);
      expect(setup.output()).toContain('authentication is on');
    }
    // No anonymous access any more.
    const anonymous = client();
    await expect(anonymous.ns.get('syncs/x').string()).rejects.toThrow(/user name is empty|permission denied/i);
    anonymous.close();
  });

  it('the agents’ user reads and writes its keys but never users or API tokens; the API’s user reads them', async () => {
    const agent = client({ username: ETCD_USERS.agent, password: PASSWORDS.agent });
    const api = client({ username: ETCD_USERS.api, password: PASSWORDS.api });
    try {
      await agent.ns.put('status/probe').value('{}');
      expect(await agent.ns.get('status/probe').string()).toBe('{}');
      await api.ns.put('users/probe').value('{}');
      for (const key of ['users/probe', 'tokens/probe']) {
        await expect(agent.ns.get(key).string(), key).rejects.toThrow(/permission denied/i);
        await expect(agent.ns.put(key).value('x'), key).rejects.toThrow(/permission denied/i);
      }
      await expect(agent.ns.getAll().prefix('users/').strings()).rejects.toThrow(/permission denied/i);
      expect(await api.ns.get('users/probe').string()).toBe('{}');
      // Outside the prefix: nobody but root.
      await expect(api.client.put('/other/key').value('x')).rejects.toThrow(/permission denied/i);
      await api.ns.delete().key('users/probe').exec();
      await agent.ns.delete().key('status/probe').exec();
    } finally {
      agent.close();
      api.close();
    }
    const grants = etcdGrants(PREFIX).agent;
    expect(grants).toEqual([
      { start: '/idra/', end: '/idra/tokens/' },
      { start: '/idra/tokens0', end: '/idra/users/' },
      { start: '/idra/users0', end: '/idra0' },
    ]);
  });

  it('a real API server and agent, CA-only TLS and their own users: a sync created through the API copies its rows', async () => {
    const data = await tempDir('idra-etcd-tls-data-');
    const source = new Database(join(data, 'source.db'));
    source.exec('create table orders (id integer primary key, note text)');
    const insert = source.prepare('insert into orders (id, note) values (?, ?)');
    for (let id = 1; id <= 250; id++) insert.run(id, `order ${id}`);
    source.close();
    const common = {
      ...process.env,
      IDRA_ETCD_ENDPOINTS: etcd.endpoints.join(','),
      IDRA_ETCD_PREFIX: PREFIX,
      IDRA_ETCD_CA: join(certs, 'ca.crt'),
      IDRA_SECRET_KEY: SECRET_KEY,
      IDRA_LOG_FORMAT: 'json',
      IDRA_SQLITE_ROOTS: tmpdir(),
    };
    const port = await freePort();
    const api = new SpawnedProcess(process.execPath, [API, '--port', String(port)], {
      env: {
        ...common,
        IDRA_ETCD_USERNAME: ETCD_USERS.api,
        IDRA_ETCD_PASSWORD: PASSWORDS.api,
        IDRA_ADMIN_PASSWORD: ADMIN_PASSWORD,
        IDRA_JWT_SECRET: 'j'.repeat(32),
      },
    });
    processes.push(api);
    const agent = new SpawnedProcess(process.execPath, [AGENT, '--agent-id', 'tls-agent', '--lease-ttl', '2s'], {
      env: { ...common, IDRA_ETCD_USERNAME: ETCD_USERS.agent, IDRA_ETCD_PASSWORD: PASSWORDS.agent },
    });
    processes.push(agent);
    const base = `http://127.0.0.1:${port}`;
    await until('the API server ready (etcd answers)', async () => (await fetch(`${base}/readyz`).catch(() => undefined))?.ok === true);
    const call = async (method: string, path: string, body?: unknown, token?: string) => {
      const res = await fetch(`${base}/api/v1${path}`, {
        method,
        headers: { 'content-type': 'application/json', ...(token ? { authorization: `Bearer ${token}` } : {}) },
        ...(body === undefined ? {} : { body: JSON.stringify(body) }),
      });
      return { status: res.status, body: (await res.json()) as any };
    };
    const { token } = (await call('POST', '/auth/login', { username: 'admin', password: ADMIN_PASSWORD })).body as { token: string };
    const created = await call(
      'POST',
      '/syncs',
      {
        id: 'tls-orders',
        source: { connector: 'sqlite', connection: { file: join(data, 'source.db') }, table: 'orders' },
        destination: { connector: 'sqlite', connection: { file: join(data, 'dest.db') }, table: 'orders' },
        mode: 'id',
        cursorColumn: 'id',
        keyColumns: ['id'],
        batchSize: 100,
        pollIntervalMs: 200,
      },
      token,
    );
    expect(created.status, JSON.stringify(created.body)).toBe(201);
    const status = await until('250 rows copied, as the API reports', async () =>
      ((await call('GET', '/overview', undefined, token)).body as Array<{ runningOn?: string; status?: { rowsCopied?: number } }>).find(
        (o) => o.status?.rowsCopied === 250,
      ),
    );
    expect(status).toMatchObject({ runningOn: 'tls-agent' });
    const dest = new Database(join(data, 'dest.db'), { readonly: true });
    expect((dest.prepare('select count(*) as n from orders').get() as { n: number }).n).toBe(250);
    dest.close();
    expect((await call('GET', '/agents', undefined, token)).body).toMatchObject([{ agentId: 'tls-agent', leader: true }]);
    // Neither process logged a permission error: what each does fits its role.
    for (const p of [api, agent]) expect(p.output()).not.toMatch(/permission denied/i);
  });
});
