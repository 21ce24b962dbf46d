import { createServer as createHttpServer } from 'node:http';
import { createServer, type Server, type Socket } from 'node:net';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { freePort } from '@idra/testkit';
import { startTestServer, type TestServer } from './testing/harness.ts';

/** A TCP server on loopback that does `onSocket` with every connection; its port. */
async function tcp(onSocket: (socket: Socket) => void): Promise<{ server: Server; port: number }> {
  const server = createServer(onSocket);
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return { server, port: (server.address() as { port: number }).port };
}

describe('test connections are not a network scanner', () => {
  let s: TestServer;
  const servers: Server[] = [];
  const open: Socket[] = [];
  beforeAll(async () => {
    s = await startTestServer({ testConnectionRateLimit: 1000 });
  });
  afterAll(async () => {
    for (const socket of open) socket.destroy();
    await Promise.all(servers.map((server) => new Promise((r) => server.close(r))));
    await s.close();
  });

  const test = (connector: string, connection: Record<string, unknown>, token = s.tokens.operator) =>
    s.call('POST', '/api/v1/datasources/test', { token, body: { id: 'probe', connector, connection } });

  it.each([
    ['postgres', { host: '169.254.169.254', port: 5432, user: 'u', password: 'p' }],
    ['postgres', { url: 'postgres://u:p@[::ffff:169.254.169.254]:5432/db' }],
    ['mysql', { host: '169.254.169.254', port: 3306, user: 'u', password: 'p' }],
    ['mysql', { url: 'mysql://u:p@[fe80::1]:3306/db' }],
    ['mongodb', { url: 'mongodb://169.254.169.254:27017/db' }],
    ['kafka', { url: 'kafka://169.254.169.254:9092' }],
  ])('%s refuses a link-local (cloud metadata) target: %j', async (connector, connection) => {
    const r = await test(connector, connection);
    expect(r.status).toBe(200);
    expect(r.body.ok).toBe(false);
    expect(r.body.error).toMatch(
      /is a link-local address \(where clouds serve instance metadata\): connectors do not reach it unless the admin allows it with IDRA_HTTP_ALLOW/,
    );
  });

  it('table listings of a stored data source refuse it too', async () => {
    const created = await s.call('POST', '/api/v1/datasources', {
      token: s.tokens.operator,
      body: { id: 'meta', connector: 'postgres', connection: { host: '169.254.169.254', user: 'u' } },
    });
    expect(created.status).toBe(201);
    const listing = await s.call('GET', '/api/v1/datasources/meta/tables', { token: s.tokens.operator });
    expect(listing.body).toMatchObject({ ok: false, tables: [] });
    expect(listing.body.error).toMatch(/link-local/);
  });

  it('an admin allow-list (IDRA_HTTP_ALLOW) lets a link-local target through', async () => {
    process.env.IDRA_HTTP_ALLOW = '169.254.0.0/16';
    try {
      const r = await test('postgres', { host: '169.254.169.254', port: await freePort(), user: 'u', options: { connectTimeoutMs: 1000 } });
      expect(r.body.ok).toBe(false);
      expect(r.body.error).not.toMatch(/link-local/);
    } finally {
      delete process.env.IDRA_HTTP_ALLOW;
    }
  });

  it('a closed port, a silent one, one that resets and one where another protocol answers all read the same; the log has the cause', async () => {
    const silent = await tcp((socket) => open.push(socket));
    const reset = await tcp((socket) => socket.resetAndDestroy());
    const http = createHttpServer((_req, res) => res.end('hello'));
    await new Promise<void>((r) => http.listen(0, '127.0.0.1', r));
    servers.push(silent.server, reset.server, http);
    const ports = { closed: await freePort(), silent: silent.port, reset: reset.port, http: (http.address() as { port: number }).port };
    for (const connector of ['postgres', 'mysql']) {
      const errors = await Promise.all(
        Object.entries(ports).map(async ([what, port]) => {
          const r = await test(connector, { host: '127.0.0.1', port, user: 'u', password: 'Secret-Pa55' });
          expect(r.body.ok, `${connector} ${what}`).toBe(false);
          return (r.body.error as string).replace(`:${port}`, ':PORT');
        }),
      );
      expect(new Set(errors), connector).toEqual(
        new Set([`could not reach 127.0.0.1:PORT: no ${connector} server answered there (refused, reset, timed out or another protocol)`]),
      );
    }
    const logged = s.logs.filter((l) => l.includes('test connection could not reach its target'));
    expect(logged.some((l) => l.includes('ECONNREFUSED'))).toBe(true);
    expect(logged.join('\n')).not.toContain('Secret-Pa55');
  }, 60_000);

  it('a real server still says what is wrong (it answered)', async () => {
    const url = new URL(inject('pgUrl'));
    url.password = 'not-the-password';
    url.username = 'no_such_user';
    const r = await test('postgres', { url: url.toString() });
    expect(r.body.ok).toBe(false);
    expect(r.body.error).toMatch(/no_such_user|password authentication failed|role .* does not exist/);
  });
});

describe('test connections per user are rate-limited', () => {
  let s: TestServer;
  beforeAll(async () => {
    s = await startTestServer({ testConnectionRateLimit: 3 });
  });
  afterAll(async () => s.close());

  it('answers 429 after the limit, for that user only, on every route that opens a connection', async () => {
    const body = { id: 'probe', connector: 'postgres', connection: { host: '127.0.0.1', port: await freePort() } };
    const statuses: number[] = [];
    for (let i = 0; i < 3; i++) statuses.push((await s.call('POST', '/api/v1/datasources/test', { token: s.tokens.operator, body })).status);
    const limited = await s.call('POST', '/api/v1/datasources/test', { token: s.tokens.operator, body });
    expect(statuses).toEqual([200, 200, 200]);
    expect(limited.status).toBe(429);
    expect(limited.body.code).toBe('IDRA_ERR_API_RATE_LIMITED');
    // One count for every way of opening a connection on request.
    expect((await s.call('GET', '/api/v1/datasources/any/tables', { token: s.tokens.operator })).status).toBe(429);
    expect((await s.call('POST', '/api/v1/syncs/check', { token: s.tokens.operator, body: {} })).status).toBe(429);
    // Another user has a count of their own.
    expect((await s.call('POST', '/api/v1/datasources/test', { token: s.tokens.admin, body })).status).toBe(200);
  });
});
