import { tmpdir } from 'node:os';
import { spawn } from 'node:child_process';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { randomBytes } from 'node:crypto';
import { readFile, stat, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { Readable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import Database from 'better-sqlite3';
import pg from 'pg';
import { SpawnedProcess, createDatabase, createPostgresRole, freePort, spawnUntilReady, tempDir } from '@idra/testkit';
import { IdraClient } from '@idra/api-client';
import { ActivityStore, KEYS, connectEtcd, newSyncStatus, type SyncStatus } from '@idra/core';
import { run } from './cli.ts';

// See apps/api-server/src/testing/harness.ts: testkit's declaration may type another copy of vitest.
declare module 'vitest' {
  export interface ProvidedContext {
    etcdEndpoints: string[];
    pgUrl: string;
  }
}

const BIN = resolve(import.meta.dirname, '../bin/idra.js');
const SERVER = resolve(import.meta.dirname, '../../api-server/src/main.ts');
const ADMIN_PASSWORD = 'Cli-Adm1n-Pa55word';

interface Result {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** The API server as a real process (apps do not import each other), once its /readyz answers. */
async function startServer(): Promise<{ url: string; prefix: string; proc: SpawnedProcess }> {
  const port = await freePort();
  const prefix = `/cli-${randomBytes(4).toString('hex')}/`;
  const url = `http://127.0.0.1:${port}`;
  const proc = await spawnUntilReady(
    process.execPath,
    [SERVER, '--etcd', inject('etcdEndpoints').join(','), '--prefix', prefix, '--port', String(port), '--log-level', 'warn'],
    {
      env: {
        ...process.env,
        IDRA_SECRET_KEY: 'cli-test-secret-key-0123456789',
        IDRA_ADMIN_PASSWORD: ADMIN_PASSWORD,
        IDRA_JWT_SECRET: 'cli-test-jwt-secret-0123456789abcdef',
        IDRA_SQLITE_ROOTS: tmpdir(),
      },
      what: 'the API server to answer /readyz',
      ready: () =>
        fetch(`${url}/readyz`).then(
          (r) => r.ok,
          () => false,
        ),
      timeoutMs: 30_000,
    },
  );
  return { url, prefix, proc };
}

/** A SQLite to SQLite sync (nothing runs it in these tests). */
const fileSync = (id: string) => ({
  id,
  source: { connector: 'sqlite', connection: { file: '/tmp/a.db' }, table: 'orders' },
  destination: { connector: 'sqlite', connection: { file: '/tmp/b.db' }, table: id },
  mode: 'id',
  cursorColumn: 'id',
  keyColumns: ['id'],
});

describe('idra CLI against a real API server', () => {
  let server: Awaited<ReturnType<typeof startServer>>;
  let home: string;
  let dir: string;

  const idra = (args: string[], opts: { env?: Record<string, string>; stdin?: string; home?: string } = {}): Promise<Result> =>
    new Promise((done) => {
      const env: NodeJS.ProcessEnv = { PATH: process.env.PATH, HOME: opts.home ?? home, ...opts.env };
      const child = spawn(process.execPath, [BIN, ...args], { env, stdio: ['pipe', 'pipe', 'pipe'] });
      let stdout = '';
      let stderr = '';
      child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
      child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
      child.stdin.end(opts.stdin ?? '');
      child.on('exit', (code) => done({ code, stdout, stderr }));
    });

  beforeAll(async () => {
    [server, home, dir] = await Promise.all([startServer(), tempDir('idra-cli-home-'), tempDir('idra-cli-files-')]);
  });
  afterAll(async () => server?.proc.stop());

  it('answers usage mistakes with exit code 2 and help with 0', async () => {
    const help = await idra(['--help']);
    expect(help.code).toBe(0);
    expect(help.stdout).toMatch(/^Exit codes:\n  0  ok[^\n]*\n  1  error[\s\S]*\n  8  syncs wait: the sync failed or was paused instead/m);
    expect((await idra([])).code).toBe(2);
    expect((await idra(['frobnicate'])).code).toBe(2);
    expect((await idra(['--bogus-flag'])).code).toBe(2);
    expect((await idra(['syncs', 'list'])).stderr).toMatch(/no API server/);
    expect((await idra(['syncs', 'get', '--url', server.url])).code).toBe(2);
    expect((await idra(['syncs', 'list', '--url', server.url])).code).toBe(3);
  });

  it('logs in, stores the token 0600, and works with files, exit codes and --json', async () => {
    const bad = await idra(['login', '--url', server.url, '--username', 'admin', '--password-stdin'], { stdin: 'wrong\n' });
    expect(bad.code).toBe(3);
    const login = await idra(['login', '--url', server.url, '--username', 'admin', '--password-stdin'], { stdin: `${ADMIN_PASSWORD}\n` });
    expect(login.code, login.stderr).toBe(0);
    const credentials = join(home, '.config', 'idra', 'credentials.json');
    expect((await stat(credentials)).mode & 0o777).toBe(0o600);
    expect(JSON.parse(await readFile(credentials, 'utf8'))).toMatchObject({ url: server.url, user: 'admin', token: expect.any(String) });
    expect((await idra(['whoami'])).stdout).toMatch(/^admin \(admin, session\)/);

    const file = join(dir, 'syncs.json');
    const sync = {
      id: 'cli-orders',
      source: { connector: 'sqlite', connection: { file: '/tmp/a.db' }, table: 'orders' },
      destination: { connector: 'sqlite', connection: { file: '/tmp/b.db' }, table: 'orders' },
      mode: 'id',
      cursorColumn: 'id',
      keyColumns: ['id'],
    };
    await writeFile(file, JSON.stringify({ syncs: [sync] }));
    const applied = await idra(['syncs', 'apply', '-f', file, '--json']);
    expect(applied.code, applied.stderr).toBe(0);
    expect(JSON.parse(applied.stdout)).toEqual({
      create: { dataSources: [], syncs: ['cli-orders'] },
      replace: { dataSources: [], syncs: [] },
      delete: { dataSources: [], syncs: [] },
    });
    const listed = JSON.parse((await idra(['syncs', 'list', '--json'])).stdout);
    expect(listed).toMatchObject([{ id: 'cli-orders', enabled: true }]);
    expect((await idra(['syncs', 'list'])).stdout).toMatch(/^ID\s+HEALTH\s+AGENT\s+ROWS\s+LAG[\s\S]*cli-orders\s+unassigned/);
    // What an agent reports after a handoff (40 rows on the new agent, 5,040 in all) and its last minutes.
    const etcd = connectEtcd({ endpoints: inject('etcdEndpoints'), prefix: server.prefix });
    await etcd.ns.put(KEYS.assignment('cli-orders')).value(JSON.stringify({ agentId: 'agent-b', epoch: 2 }));
    const since = '2026-01-01T00:00:00.000Z';
    const reported = newSyncStatus('cli-orders', 'agent-b', {
      state: 'running',
      rowsCopied: 40,
      lag: { rows: 2000, seconds: 12 },
      totals: { rowsCopied: 5040, rowsSkipped: 0, batches: 60, since, rowsDeleted: 17 },
      rowsDeleted: 3,
      schemaChanges: [
        { at: '2026-01-02T10:00:00.000Z', batch: 7, outcome: 'applied', changes: ['column email added (text)'] },
        {
          at: '2026-01-02T11:00:00.000Z',
          batch: 9,
          outcome: 'ignored',
          changes: ['column note dropped at the source (kept in the destination)', 'column qty widened from integer to bigint'],
        },
      ],
      reconciliation: { at: '2026-01-02T12:00:00.000Z', kind: 'reconcile', sourceKeys: 980, destinationKeys: 995, deleted: 15, missing: 0, durationMs: 42 },
    });
    await etcd.ns.put(KEYS.status('cli-orders')).value(JSON.stringify(reported));
    const minute = new Date(Math.floor(Date.now() / 60_000) * 60_000 - 120_000).toISOString();
    await new ActivityStore(etcd.ns).writePoint('cli-orders', {
      t: minute,
      rows: 300,
      skipped: 0,
      batches: 3,
      errors: 1,
      lagRows: 2000,
      state: 'running',
      agentId: 'agent-b',
    });
    etcd.close();
    expect((await idra(['syncs', 'list'])).stdout).toMatch(/cli-orders\s+healthy\s+agent-b\s+5040\s+2,000 rows\s+0\s+-$/m);
    const status = (await idra(['syncs', 'status', 'cli-orders'])).stdout;
    expect(status).toMatch(/^cli-orders: healthy — copying$/m);
    expect(status).toMatch(/rows copied: 5040 in total since 2026-01-01T00:00:00.000Z; 40 since this run started/);
    expect(status).toMatch(/lag: 2,000 rows \(12 s\)/);
    expect(status).toMatch(/initial copy: 71.5% \(2000 rows left/);
    expect(status).toMatch(/last hour: 300 rows, 1 error\(s\)/);
    // Deletes and schema changes, as the agent reported them, through the API server's answer.
    expect(status).toMatch(/^ {2}rows deleted: 17$/m);
    expect(status).toMatch(
      /^ {2}last key reconciliation at 2026-01-02T12:00:00.000Z: 980 source \/ 995 destination keys, 15 deleted, 0 missing from the destination, 42 ms$/m,
    );
    expect(status).toMatch(/^ {2}schema change at 2026-01-02T10:00:00.000Z \(batch 7, applied\): column email added \(text\)$/m);
    expect(status).toMatch(
      /^ {2}schema change at 2026-01-02T11:00:00.000Z \(batch 9, ignored\): column note dropped at the source \(kept in the destination\); column qty widened from integer to bigint$/m,
    );
    expect(JSON.parse((await idra(['syncs', 'get', 'cli-orders'])).stdout).mode).toBe('id');

    const missing = await idra(['syncs', 'get', 'nope', '--json']);
    expect(missing.code).toBe(4);
    expect(JSON.parse(missing.stderr)).toMatchObject({ error: { code: 'IDRA_ERR_SYNC_NOT_FOUND', status: 404 }, exitCode: 4 });
    expect((await idra(['syncs', 'import', '-f', file])).code).toBe(5);
    expect((await idra(['syncs', 'import', '-f', file, '--overwrite'])).code).toBe(0);

    await writeFile(join(dir, 'bad.json'), JSON.stringify([{ ...sync, batchSize: 0 }]));
    const invalid = await idra(['syncs', 'apply', '-f', join(dir, 'bad.json')]);
    expect(invalid.code).toBe(1);
    expect(invalid.stderr).toMatch(/batchSize: must be >= 1/);
    await writeFile(join(dir, 'broken.json'), '{not json');
    expect((await idra(['syncs', 'apply', '-f', join(dir, 'broken.json')])).code).toBe(1);

    const exported = join(dir, 'export.json');
    expect((await idra(['syncs', 'export', '-o', exported])).code).toBe(0);
    expect(JSON.parse(await readFile(exported, 'utf8')).syncs[0].id).toBe('cli-orders');
    expect(JSON.parse((await idra(['agents', 'list', '--json'])).stdout)).toEqual([]);
    expect((await idra(['status'])).code).toBe(0);
    expect((await idra(['status', 'cli-orders'])).stdout).toMatch(/^cli-orders: running on agent-b/);
    expect((await idra(['status', 'nope'])).code).toBe(4);
  });

  it('CI flow: an API token in IDRA_API_URL + IDRA_TOKEN, roles enforced, revocation → exit 3', async () => {
    const created = await idra(['tokens', 'create', '--name', 'ci-deploy', '--role', 'operator']);
    expect(created.code, created.stderr).toBe(0);
    const token = created.stdout.trim();
    expect(token).toMatch(/^idra_[a-f0-9]{16}_/);
    const adminToken = (await idra(['tokens', 'create', '--name', 'ci-admin', '--json'])).stdout;
    const admin = JSON.parse(adminToken) as { token: string; id: string };
    const empty = await tempDir('idra-cli-ci-');
    const ci = (args: string[], t = token) => idra(args, { home: empty, env: { IDRA_API_URL: server.url, IDRA_TOKEN: t } });

    expect((await ci(['whoami'])).stdout).toMatch(/admin \(operator, api-token/);
    expect((await ci(['syncs', 'pause', 'cli-orders', '--wait'])).code).toBe(0);
    // Operators cannot change offsets.
    expect((await ci(['offsets', 'set', 'cli-orders', '--value', '42', '--reason', 'replay from 42'])).code).toBe(3);
    expect((await ci(['offsets', 'set', 'cli-orders', '--value', '42'])).code).toBe(2);
    expect((await ci(['syncs', 'resume', 'cli-orders'])).code).toBe(0);
    const enabled = await ci(['offsets', 'set', 'cli-orders', '--value', '42', '--reason', 'replay from 42'], admin.token);
    expect(enabled.code).toBe(5);
    expect(enabled.stderr).toMatch(/pause it first/);
    expect((await ci(['syncs', 'pause', 'cli-orders'])).code).toBe(0);
    const set = await ci(['offsets', 'set', 'cli-orders', '--value', '42', '--reason', 'replay from 42', '--json'], admin.token);
    expect(set.code, set.stderr).toBe(0);
    expect(JSON.parse((await ci(['offsets', 'get', 'cli-orders', '--json'])).stdout).offset).toMatchObject({ kind: 'id', value: '42' });
    expect((await ci(['offsets', 'history', 'cli-orders'])).stdout).toMatch(/replay from 42/);

    const tokens = JSON.parse((await idra(['tokens', 'list', '--json'])).stdout) as Array<{ id: string; name: string }>;
    const ciToken = tokens.find((t) => t.name === 'ci-deploy')!;
    expect((await idra(['tokens', 'revoke', ciToken.id])).code).toBe(0);
    const revoked = await ci(['syncs', 'list']);
    expect(revoked.code).toBe(3);
    expect(revoked.stderr).toMatch(/IDRA_ERR_AUTH_TOKEN_REVOKED/);
    expect((await idra(['tokens', 'revoke', ciToken.id])).code).toBe(4);
  });

  it('users: an admin creates, re-roles, resets with --revoke-tokens and deletes accounts', async () => {
    const created = await idra(['users', 'create', 'erin', '--role', 'operator'], { stdin: 'Erin-First-Pa55\n' });
    expect(created.code, created.stderr).toBe(0);
    expect((await idra(['users', 'create', 'erin', '--role', 'boss'], { stdin: 'x\n' })).code).toBe(2);
    const erin = new IdraClient({ baseUrl: server.url });
    await erin.auth.login('erin', 'Erin-First-Pa55');
    await erin.auth.changePassword('Erin-First-Pa55', 'Erin-Own-Pa55');
    const leaked = (await erin.tokens.create({ name: 'erin-ci' })).token;
    const erinHome = await tempDir('idra-cli-erin-');
    const asErin = (args: string[]) => idra(args, { home: erinHome, env: { IDRA_API_URL: server.url, IDRA_TOKEN: leaked } });
    expect((await asErin(['whoami'])).stdout).toMatch(/^erin \(operator, api-token/);

    expect((await idra(['users', 'set-role', 'erin', '--role', 'viewer'])).code).toBe(0);
    expect((await asErin(['whoami'])).stdout).toMatch(/^erin \(viewer, api-token/);
    const reset = await idra(['users', 'reset-password', 'erin', '--revoke-tokens'], { stdin: 'Erin-Reset-Pa55\n' });
    expect(reset.code, reset.stderr).toBe(0);
    expect(reset.stdout).toMatch(/API tokens are revoked/);
    expect((await asErin(['whoami'])).code).toBe(3);
    const list = JSON.parse((await idra(['users', 'list', '--json'])).stdout) as Array<{ name: string; role: string; mustChangePassword: boolean }>;
    expect(list.find((u) => u.name === 'erin')).toMatchObject({ role: 'viewer', mustChangePassword: true });
    expect((await idra(['users', 'delete', 'erin'])).code).toBe(0);
    expect((await idra(['users', 'delete', 'erin'])).code).toBe(4);
  });

  it('creates one sync per table of a data source in bulk: dry run for review, all or none', async () => {
    const source = join(dir, 'bulk-source.db');
    const db = new Database(source);
    db.exec('create table orders (id integer primary key, total real); create table notes (body text)');
    db.close();
    const file = join(dir, 'bulk-ds.json');
    await writeFile(
      file,
      JSON.stringify({
        dataSources: [
          { id: 'bulksrc', connector: 'sqlite', connection: { file: source } },
          { id: 'bulkdst', connector: 'sqlite', connection: { file: join(dir, 'bulk-dst.db') } },
        ],
        syncs: [],
      }),
    );
    expect((await idra(['syncs', 'apply', '-f', file])).code).toBe(0);
    const dry = await idra(['syncs', 'bulk', '--source', 'bulksrc', '--destination', 'bulkdst', '--all', '--dry-run']);
    expect(dry.code, dry.stderr).toBe(0);
    expect(dry.stdout).toMatch(/^notes\s+bulksrc-notes\s+-\s+-\s+no integer primary key or id column/m);
    expect(dry.stdout).toMatch(/^orders\s+bulksrc-orders\s+id\s+id\s+-$/m);
    const refused = await idra(['syncs', 'bulk', '--source', 'bulksrc', '--destination', 'bulkdst', '--all']);
    expect(refused.code).toBe(1);
    expect(refused.stderr).toMatch(/1 of 2 syncs have problems: nothing was created[\s\S]*syncs\[0\]\.cursorColumn/);
    const created = await idra(['syncs', 'bulk', '--source', 'bulksrc', '--destination', 'bulkdst', '--tables', 'orders', '--paused', '--json']);
    expect(JSON.parse(created.stdout)).toEqual({ created: ['bulksrc-orders'] });
    expect(JSON.parse((await idra(['syncs', 'get', 'bulksrc-orders'])).stdout)).toMatchObject({
      enabled: false,
      cursorColumn: 'id',
      keyColumns: ['id'],
      destination: { dataSourceId: 'bulkdst', table: 'orders' },
    });
  });

  it('syncs apply creates the new syncs of a file in bulk (all or none) and replaces the existing ones one by one', async () => {
    const sync = (id: string, extra: Record<string, unknown> = {}) => ({
      id,
      enabled: false,
      source: { connector: 'sqlite', connection: { file: '/tmp/a.db' }, table: 'orders' },
      destination: { connector: 'sqlite', connection: { file: '/tmp/b.db' }, table: id },
      mode: 'id',
      cursorColumn: 'id',
      keyColumns: ['id'],
      ...extra,
    });
    const file = join(dir, 'apply-bulk.json');
    await writeFile(file, JSON.stringify({ syncs: [sync('apply-a')] }));
    expect((await idra(['syncs', 'apply', '-f', file])).code).toBe(0);
    // One new sync is bad: none of the new ones is created, and the existing one is left as it was.
    await writeFile(file, JSON.stringify({ syncs: [sync('apply-a', { name: 'renamed' }), sync('apply-b'), sync('apply-c', { batchSize: 0 })] }));
    const refused = await idra(['syncs', 'apply', '-f', file]);
    expect(refused.code).toBe(1);
    expect(refused.stderr).toMatch(/1 of 2 syncs have problems: nothing was created[\s\S]*syncs\[2\]\.batchSize/);
    expect((await idra(['syncs', 'get', 'apply-b'])).code).toBe(4);
    expect(JSON.parse((await idra(['syncs', 'get', 'apply-a'])).stdout).name).toBeUndefined();
    await writeFile(file, JSON.stringify({ syncs: [sync('apply-a', { name: 'renamed' }), sync('apply-b'), sync('apply-c')] }));
    const applied = await idra(['syncs', 'apply', '-f', file, '--reason', 'rollout', '--json']);
    expect(applied.code, applied.stderr).toBe(0);
    expect(JSON.parse(applied.stdout)).toMatchObject({ create: { syncs: ['apply-b', 'apply-c'] }, replace: { syncs: ['apply-a'] } });
    const history = async (id: string) => JSON.parse((await idra(['syncs', 'history', id, '--json'])).stdout) as Array<Record<string, unknown>>;
    expect((await history('apply-c'))[0]).toMatchObject({ action: 'created', via: 'bulk', reason: 'rollout' });
    expect((await history('apply-a'))[0]).toMatchObject({ action: 'updated', reason: 'rollout' });
    expect((await history('apply-a'))[0]).not.toHaveProperty('via');
  });

  it("syncs check: a source user that cannot see other sessions' transactions is a configuration problem naming the GRANT (exit 1); with a delay it passes with a warning", async () => {
    const db = await createDatabase('postgres', inject('pgUrl'));
    // The superuser's session stays connected: a session of another role than the source's.
    const admin = new pg.Client({ connectionString: db.url });
    await admin.connect();
    await admin.query('create table src (id bigint primary key, ts timestamp(6) not null)');
    const role = await createPostgresRole(db.url, ['src']);
    try {
      const sync = {
        id: 'cli-watched',
        source: { connector: 'postgres', connection: { url: role.url }, table: 'src' },
        destination: { connector: 'sqlite', connection: { file: join(dir, 'watched.db') }, table: 'src' },
        mode: 'timestamp',
        cursorColumn: 'ts',
        tiebreakerColumn: 'id',
      };
      const file = join(dir, 'watched.json');
      await writeFile(file, JSON.stringify(sync));
      const refused = await idra(['syncs', 'check', '-f', file]);
      expect(refused.code).toBe(1);
      expect(refused.stderr).toContain('idra: configuration problem (IDRA_ERR_CONFIG_WATERMARK_BLIND): postgres source: ');
      expect(refused.stderr).toContain(`run GRANT pg_read_all_stats TO ${role.name} on the source`);
      const json = await idra(['syncs', 'check', '-f', file, '--json']);
      expect(json.code).toBe(1);
      expect(JSON.parse(json.stdout)).toMatchObject({
        ok: false,
        problem: { code: 'IDRA_ERR_CONFIG_WATERMARK_BLIND' },
        transactions: { visible: false, grant: `GRANT pg_read_all_stats TO ${role.name}` },
      });

      await writeFile(file, JSON.stringify([{ ...sync, delayMs: '2s', enabled: false }]));
      expect((await idra(['syncs', 'apply', '-f', file])).code).toBe(0);
      const passed = await idra(['syncs', 'check', 'cli-watched']);
      expect(passed.code, passed.stderr).toBe(0);
      expect(passed.stdout).toMatch(/^sync cli-watched: an agent would read its source; warning: .*only delayMs \(2000 ms\) protects rows committed late\n$/);
      expect((await idra(['syncs', 'delete', 'cli-watched'])).code).toBe(0);
    } finally {
      await role.drop();
      await admin.end();
      await db.drop();
    }
  });

  it('notifications: channels from stdin (URL masked in every listing), Test, rules, incidents and the delivery log', async () => {
    const receiver = createServer((req, res) => {
      req.resume();
      req.on('end', () => res.writeHead(req.url === '/refuse' ? 500 : 200).end());
    });
    await new Promise<void>((done) => receiver.listen(0, '127.0.0.1', done));
    const base = `http://127.0.0.1:${(receiver.address() as AddressInfo).port}`;
    try {
      const channel = { id: 'cli-hook', kind: 'webhook', url: `${base}/hooks/s3cr3t-path`, secret: 'cli-hmac-secret-0123456789' };
      const set = await idra(['channels', 'set', '-f', '-'], { stdin: JSON.stringify(channel) });
      expect(set.code, set.stderr).toBe(0);
      expect(set.stdout).toBe(`saved channel cli-hook (webhook, ${base}/********)\n`);
      const list = await idra(['channels']);
      expect(list.stdout).toMatch(/^cli-hook\s+webhook\s+-\s+http:\/\/127\.0\.0\.1:\d+\/\*{8}\s+true\s+true$/m);
      expect(list.stdout).not.toContain('s3cr3t');
      expect((await idra(['channels', 'test', 'cli-hook'])).stdout).toBe('test message delivered through cli-hook (HTTP 200)\n');
      await idra(['channels', 'set', '-f', '-'], { stdin: JSON.stringify({ id: 'refusing', kind: 'slack', url: `${base}/refuse` }) });
      const refused = await idra(['channels', 'test', 'refusing']);
      expect([refused.code, refused.stderr]).toEqual([1, 'idra: test message through refusing not delivered: the receiver answered 500\n']);
      const rule = await idra(['rules', 'set', '-f', '-'], { stdin: JSON.stringify({ id: 'cli-rule', channels: ['cli-hook'], onRetryingMinutes: 10 }) });
      expect(rule.stdout).toBe('saved rule cli-rule (failed, retrying 10m)\n');
      expect((await idra(['rules', 'set', '-f', '-'], { stdin: JSON.stringify({ id: 'r2', channels: ['nowhere'] }) })).stderr).toMatch(
        /channels\[0\]: no notification channel 'nowhere'/,
      );
      expect((await idra(['rules'])).stdout).toMatch(/^cli-rule\s+all\s+failed, retrying 10m\s+cli-hook\s+true$/m);
      expect((await idra(['channels', 'delete', 'cli-hook'])).code).toBe(5);
      expect((await idra(['incidents'])).stdout).toBe('INCIDENT  STATE  SINCE  REASON\n');
      const log = (await idra(['deliveries'])).stdout.split('\n');
      expect(log[1]).toMatch(/\srefusing\s+test\s+failed\s+1\s+500\s+the receiver answered 500$/);
      expect(log[2]).toMatch(/\scli-hook\s+test\s+delivered\s+1\s+200\s+Test message from Idra/);
      expect((await idra(['rules', 'delete', 'cli-rule'])).code).toBe(0);
      expect((await idra(['channels', 'delete', 'cli-hook'])).stdout).toBe('deleted channel cli-hook\n');
    } finally {
      await new Promise((done) => receiver.close(done));
    }
  });

  /** The CLI's main in-process (no process to start) as an admin's CI job: IDRA_API_URL and IDRA_TOKEN, no terminal. */
  const asAdmin = async () => {
    const token = (await new IdraClient({ baseUrl: server.url }).auth.login('admin', ADMIN_PASSWORD)).token;
    return async (args: string[], stdin = ''): Promise<Result> => {
      let stdout = '';
      let stderr = '';
      const code = await run(args, {
        env: { HOME: home, IDRA_API_URL: server.url, IDRA_TOKEN: token },
        stdout: { write: (t: string) => (stdout += t) },
        stderr: { write: (t: string) => (stderr += t) },
        stdin: Readable.from([stdin]),
      });
      return { code, stdout, stderr };
    };
  };

  it('data sources: apply says created or replaced, --no-replace refuses (exit 5, nothing written), list/get/test never print the password', async () => {
    const idra = await asAdmin();
    const password = 'Cli-Ds-S3cret-pw';
    const warehouse = { id: 'cli-wh', connector: 'postgres', connection: { url: `postgres://loader:${password}@127.0.0.1:1/wh` } };
    const local = { id: 'cli-local', connector: 'sqlite', connection: { file: join(dir, 'local.db') } };
    new Database(local.connection.file).close();
    const applied = await idra(['datasources', 'apply', '-f', '-'], JSON.stringify([warehouse]));
    expect([applied.code, applied.stdout]).toEqual([0, 'created data source cli-wh\n']);
    const again = await idra(['datasources', 'apply', '-f', '-', '--json'], JSON.stringify({ dataSources: [warehouse, local] }));
    expect(JSON.parse(again.stdout)).toMatchObject({ create: { dataSources: ['cli-local'] }, replace: { dataSources: ['cli-wh'] } });
    const refused = await idra(
      ['datasources', 'apply', '-f', '-', '--no-replace'],
      JSON.stringify([
        { ...local, name: 'renamed' },
        { ...local, id: 'cli-new' },
      ]),
    );
    expect([refused.code, refused.stderr]).toEqual([5, 'idra: --no-replace: data source cli-local already exist(s); nothing was applied\n']);
    expect((await idra(['datasources', 'get', 'cli-new'])).code).toBe(4);
    expect((await idra(['datasources', 'apply', '-f', '-'], JSON.stringify({ syncs: [{ id: 'x' }] }))).stderr).toMatch(/apply it with idra syncs apply/);

    const printed = [
      await idra(['datasources', 'list']),
      await idra(['datasources', 'list', '--json']),
      await idra(['datasources', 'get', 'cli-wh']),
      await idra(['datasources', 'test', 'cli-wh']),
      await idra(['datasources', 'test', 'cli-wh', '--json']),
    ];
    expect(printed[0]!.stdout).toMatch(/^cli-wh\s+-\s+postgres\s+-\s+-$/m);
    expect(JSON.parse(printed[2]!.stdout).connection.url).toMatch(/^postgres:\/\/loader:\*+@127\.0\.0\.1:1\/wh$/);
    expect(printed[3]!.code).toBe(1);
    expect(printed[3]!.stderr).toMatch(/^idra: cannot connect \(postgres\): /);
    for (const p of printed) expect(p.stdout + p.stderr).not.toContain(password);
    const tested = await idra(['datasources', 'test', 'cli-local']);
    expect(tested.stdout, tested.stderr).toMatch(/^connected \(sqlite\) in \d+ ms\n$/);
    expect((await idra(['datasources', 'test', '-f', '-'], JSON.stringify({ ...local, id: 'unsaved' }))).code).toBe(0);

    await idra(
      ['syncs', 'apply', '-f', '-'],
      JSON.stringify({ syncs: [{ ...fileSync('cli-uses-local'), source: { dataSourceId: 'cli-local', connector: 'sqlite', table: 't' } }] }),
    );
    expect((await idra(['datasources', 'list'])).stdout).toMatch(/^cli-local\s+-\s+sqlite\s+-\s+cli-uses-local$/m);
    const inUse = await idra(['datasources', 'delete', 'cli-local']);
    expect([inUse.code, inUse.stderr]).toEqual([5, "idra: data source 'cli-local' is used by syncs cli-uses-local (IDRA_ERR_DATA_SOURCE_IN_USE)\n"]);
    expect((await idra(['syncs', 'delete', 'cli-uses-local'])).code).toBe(0);
    expect((await idra(['datasources', 'delete', 'cli-local'])).stdout).toBe('deleted data source cli-local\n');
    expect((await idra(['datasources', 'delete', 'cli-wh'])).code).toBe(0);
  });

  it('syncs apply: --dry-run plans, new syncs are created in one request (all or none), --prune lists and needs --yes without a terminal', async () => {
    const idra = await asAdmin();
    // Other tests' syncs and data sources stay in this one's file: --prune would delete them.
    const keep = JSON.parse((await idra(['syncs', 'export'])).stdout) as { dataSources: Array<{ id: string }>; syncs: Array<{ id: string }> };
    const doc = (syncs: object[], dataSources: object[] = []) =>
      JSON.stringify({ dataSources: [...keep.dataSources, ...dataSources], syncs: [...keep.syncs, ...syncs] });

    const dry = await idra(['syncs', 'apply', '-f', '-', '--dry-run'], doc([fileSync('cli-a'), fileSync('cli-b')]));
    expect(dry.stdout).toBe(
      [
        'create sync cli-a',
        'create sync cli-b',
        ...keep.dataSources.map((d) => `replace data source ${d.id}`),
        ...keep.syncs.map((x) => `replace sync ${x.id}`),
      ]
        .map((l) => `${l}\n`)
        .join(''),
    );
    expect((await idra(['syncs', 'get', 'cli-a'])).code).toBe(4);
    // One bad sync: none of the new ones is created, and the problem points into the file.
    const bad = await idra(['syncs', 'apply', '-f', '-'], doc([fileSync('cli-a'), { ...fileSync('cli-b'), batchSize: 0 }]));
    expect(bad.code).toBe(1);
    expect(bad.stderr).toContain(`  syncs[${keep.syncs.length + 1}].batchSize: must be >= 1`);
    expect((await idra(['syncs', 'get', 'cli-a'])).code).toBe(4);
    const made = await idra(
      ['syncs', 'apply', '-f', '-'],
      doc([fileSync('cli-a'), fileSync('cli-b')], [{ id: 'cli-spare', connector: 'sqlite', connection: { file: join(dir, 'spare.db') } }]),
    );
    expect(made.stdout).toMatch(/^created data source cli-spare\ncreated sync cli-a\ncreated sync cli-b\n/);
    expect(JSON.parse((await idra(['syncs', 'history', 'cli-b', '--json'])).stdout)).toMatchObject([{ action: 'created', via: 'bulk' }]);
    expect((await idra(['syncs', 'apply', '-f', '-', '--no-replace'], doc([fileSync('cli-c')]))).code).toBe(5);
    expect((await idra(['syncs', 'get', 'cli-c'])).code).toBe(4);

    // The file without cli-b and cli-spare: --prune lists them first, and deletes them only with --yes.
    const unconfirmed = await idra(['syncs', 'apply', '-f', '-', '--prune'], doc([fileSync('cli-a')]));
    expect([unconfirmed.code, unconfirmed.stderr]).toEqual([
      2,
      expect.stringMatching(/^--prune deletes:\ndelete data source cli-spare\ndelete sync cli-b\nidra: --prune deletes the objects listed above: add --yes/),
    ]);
    expect((await idra(['syncs', 'get', 'cli-b'])).code).toBe(0);
    const pruned = await idra(['syncs', 'apply', '-f', '-', '--prune', '--yes', '--json'], doc([fileSync('cli-a')]));
    expect(JSON.parse(pruned.stdout)).toMatchObject({ delete: { dataSources: ['cli-spare'], syncs: ['cli-b'] } });
    expect((await idra(['syncs', 'get', 'cli-b'])).code).toBe(4);
    expect((await idra(['datasources', 'get', 'cli-spare'])).code).toBe(4);
    expect(await idra(['syncs', 'apply', '-f', '-', '--prune', '--no-replace'], doc([]))).toMatchObject({ code: 2 });
    expect((await idra(['syncs', 'delete', 'cli-a'])).code).toBe(0);
  });

  it('syncs wait: 0 once the state is reported, 7 at the timeout, 8 when the sync fails or is paused instead, 4 for no sync; status says 6 before any report', async () => {
    const idra = await asAdmin();
    expect((await idra(['syncs', 'apply', '-f', '-'], JSON.stringify([fileSync('cli-wait')]))).code).toBe(0);
    expect((await idra(['status', 'cli-wait'])).code).toBe(6);
    expect((await idra(['syncs', 'wait', 'cli-wait', '--until', 'later'])).code).toBe(2);
    const etcd = connectEtcd({ endpoints: inject('etcdEndpoints'), prefix: server.prefix });
    // What the sync's agent reports (no agent runs in this test: the API and the CLI only read these).
    const report = (patch: Partial<SyncStatus>) => etcd.ns.put(KEYS.status('cli-wait')).value(JSON.stringify(newSyncStatus('cli-wait', 'agent-w', patch)));
    try {
      const timedOut = await idra(['syncs', 'wait', 'cli-wait', '--until', 'caught-up', '--timeout', '1s', '--interval', '200ms']);
      expect([timedOut.code, timedOut.stderr]).toEqual([7, expect.stringContaining('did not reach caught-up within 1s (now: no report from an agent yet)')]);
      const waiting = idra(['syncs', 'wait', 'cli-wait', '--until', 'caught-up', '--timeout', '30s', '--interval', '100ms', '--json']);
      await report({ state: 'running', lag: { rows: 10 } });
      await report({ state: 'idle', lag: { rows: 0 } });
      const caughtUp = await waiting;
      expect(caughtUp.code, caughtUp.stderr).toBe(0);
      expect(JSON.parse(caughtUp.stdout)).toMatchObject({ syncId: 'cli-wait', state: 'idle' });
      expect((await idra(['syncs', 'wait', 'cli-wait', '--until', 'running', '--timeout', '1s', '--interval', '100ms'])).code).toBe(7);

      await report({ state: 'failed', lastError: { code: 'IDRA_ERR_CONNECTOR', message: 'no such table: t', at: new Date().toISOString() } });
      const failed = await idra(['syncs', 'wait', 'cli-wait', '--until', 'caught-up', '--timeout', '30s', '--json']);
      expect([failed.code, JSON.parse(failed.stderr)]).toEqual([
        8,
        { error: { code: 'IDRA_ERR_CLI_WAIT_FAILED', message: expect.stringContaining('no such table: t') }, exitCode: 8 },
      ]);
      expect((await idra(['syncs', 'wait', 'cli-wait', '--until', 'failed', '--timeout', '5s'])).code).toBe(0);
      expect((await idra(['syncs', 'pause', 'cli-wait'])).code).toBe(0);
      const paused = await idra(['syncs', 'wait', 'cli-wait', '--until', 'running', '--timeout', '30s']);
      expect([paused.code, paused.stderr]).toEqual([8, 'idra: sync cli-wait is paused: it cannot reach running until it is resumed\n']);
      // A failure reported before the last change (the resume) speaks of the sync as it was: not an answer.
      expect((await idra(['syncs', 'resume', 'cli-wait'])).code).toBe(0);
      expect((await idra(['syncs', 'wait', 'cli-wait', '--until', 'idle', '--timeout', '1s', '--interval', '200ms'])).code).toBe(7);

      expect((await idra(['syncs', 'delete', 'cli-wait'])).code).toBe(0);
      expect((await idra(['syncs', 'wait', 'cli-wait', '--until', 'idle'])).code).toBe(4);
      expect((await idra(['status', 'cli-wait'])).code).toBe(4);
    } finally {
      etcd.close();
    }
  });

  it('logout forgets the credentials', async () => {
    expect((await idra(['logout'])).code).toBe(0);
    await expect(stat(join(home, '.config', 'idra', 'credentials.json'))).rejects.toThrow();
    expect((await idra(['syncs', 'list', '--url', server.url])).code).toBe(3);
  });
});
