import { randomBytes } from 'node:crypto';
import { tmpdir } from 'node:os';
import { Writable } from 'node:stream';
import { inject } from 'vitest';
import type { FastifyInstance, InjectOptions } from 'fastify';
import type { Namespace } from 'etcd3';
import { SyncLock, type Fence } from '@idra/core';
import { buildApp } from '../app.ts';
import type { ServerOptions } from '../options.ts';

// The same keys @idra/testkit declares. Repeated here because pnpm can install vitest twice (another
// app's peer dependencies): testkit's declaration then types only its own copy of vitest.
declare module 'vitest' {
  export interface ProvidedContext {
    pgUrl: string;
    etcdEndpoints: string[];
  }
}

export const SECRET_KEY = 'test-secret-key-0123456789abcdef';
export const ADMIN_PASSWORD = 'Adm1n-Pa55word-T3st';
export const USER_PASSWORD = 'Us3r-Pa55word-T3st';

export interface CallResult {
  status: number;
  body: any;
  text: string;
  headers: Record<string, unknown>;
}

/** An API server in this process on a fresh etcd prefix, with its log lines kept. */
export interface TestServer {
  app: FastifyInstance;
  prefix: string;
  options: ServerOptions;
  /** Every log line written so far (raw JSON text). */
  logs: string[];
  call(
    method: InjectOptions['method'],
    url: string,
    opts?: { token?: string | undefined; body?: unknown; payload?: string; headers?: Record<string, string> },
  ): Promise<CallResult>;
  /** Session tokens of `admin` (password changed), `ops` (operator) and `view` (viewer). */
  tokens: { admin: string; operator: string; viewer: string };
  close(): Promise<void>;
}

export function testOptions(overrides: Partial<ServerOptions> = {}): ServerOptions {
  return {
    etcd: inject('etcdEndpoints'),
    prefix: `/api-test-${randomBytes(4).toString('hex')}/`,
    etcdAuth: {},
    host: '127.0.0.1',
    port: 0,
    jwtSecret: 'test-jwt-secret-0123456789abcdef0123',
    sessionTtlMs: 3600_000,
    secretKey: SECRET_KEY,
    adminPassword: undefined,
    bodyLimit: 1024 * 1024,
    loginRateLimit: 1000,
    testConnectionRateLimit: 1000,
    logLevel: 'debug',
    trustProxy: false,
    corsOrigins: [],
    expectedAgents: undefined,
    // Tests keep their SQLite files in temporary directories.
    sqliteRoots: [tmpdir()],
    ...overrides,
  };
}

/** Builds the app; with `users` (default) also changes admin's password and creates an operator and a viewer. */
export async function startTestServer(overrides: Partial<ServerOptions> = {}, setup: { users?: boolean } = {}): Promise<TestServer> {
  const options = testOptions(overrides);
  const logs: string[] = [];
  const logStream = new Writable({
    write(chunk: Buffer, _enc, cb) {
      logs.push(...chunk.toString().split('\n').filter(Boolean));
      cb();
    },
  });
  const app = await buildApp(options, { logStream });
  await app.ready();
  const call: TestServer['call'] = async (method, url, opts = {}) => {
    const headers: Record<string, string> = { ...opts.headers };
    if (opts.token) headers.authorization = `Bearer ${opts.token}`;
    let payload: string | undefined = opts.payload;
    if (opts.body !== undefined) {
      payload = JSON.stringify(opts.body);
      headers['content-type'] ??= 'application/json';
    } else if (payload !== undefined) headers['content-type'] ??= 'application/json';
    const res = await app.inject({ method, url, headers, ...(payload !== undefined ? { payload } : {}) });
    let body: unknown;
    try {
      body = res.body ? JSON.parse(res.body) : undefined;
    } catch {
      body = undefined;
    }
    return { status: res.statusCode, body, text: res.body, headers: res.headers };
  };
  const server: TestServer = {
    app,
    prefix: options.prefix,
    options,
    logs,
    call,
    tokens: { admin: '', operator: '', viewer: '' },
    async close() {
      await app.close();
    },
  };
  if (setup.users !== false) {
    const login = await call('POST', '/api/v1/auth/login', { body: { username: 'admin', password: 'admin' } });
    const changed = await call('POST', '/api/v1/auth/password', { token: login.body.token, body: { currentPassword: 'admin', newPassword: ADMIN_PASSWORD } });
    server.tokens.admin = changed.body.token;
    for (const [name, role] of [
      ['ops', 'operator'],
      ['view', 'viewer'],
    ] as const) {
      const created = await call('POST', '/api/v1/users', {
        token: server.tokens.admin,
        body: { name, password: USER_PASSWORD, role, mustChangePassword: false },
      });
      if (created.status !== 201) throw new Error(`cannot create ${name}: ${created.text}`);
      const r = await call('POST', '/api/v1/auth/login', { body: { username: name, password: USER_PASSWORD } });
      server.tokens[role] = r.body.token;
    }
  }
  return server;
}

/** A SQLite → SQLite sync document (inline connections). */
export function sqliteSync(id: string, overrides: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    id,
    source: { connector: 'sqlite', connection: { file: '/tmp/idra-api-test-src.db' }, table: 'orders' },
    destination: { connector: 'sqlite', connection: { file: '/tmp/idra-api-test-dst.db' }, table: 'orders' },
    mode: 'id',
    cursorColumn: 'id',
    keyColumns: ['id'],
    ...overrides,
  };
}

/** Runs `write` as the agent `agentId` owning `syncId` would: under the sync's lock (what fences an agent's writes), released afterwards. */
export async function asSyncOwner<T>(ns: Namespace, syncId: string, agentId: string, write: (fence: Fence) => Promise<T>): Promise<T> {
  const lease = ns.lease(30);
  const leaseId = await lease.grant();
  try {
    const lock = await SyncLock.acquire(ns, syncId, { agentId, leaseId }, new AbortController().signal);
    return await write(lock!.fence);
  } finally {
    await lease.revoke();
  }
}
