import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connectEtcd, KEYS } from '@idra/core';
import { ADMIN_PASSWORD, startTestServer, type TestServer } from '../testing/harness.ts';

describe('password guesses are limited across API servers, not per server', () => {
  const LIMIT = 4;
  let a: TestServer;
  let b: TestServer;
  let urls: string[];
  beforeAll(async () => {
    // Two API servers of one cluster: the same etcd, the same prefix.
    a = await startTestServer({ loginRateLimit: LIMIT }, { users: false });
    b = await startTestServer({ loginRateLimit: LIMIT, prefix: a.prefix }, { users: false });
    urls = [await a.app.listen({ host: '127.0.0.1', port: 0 }), await b.app.listen({ host: '127.0.0.1', port: 0 })];
  });
  afterAll(async () => Promise.all([a.close(), b.close()]));

  const post = async (server: number, path: string, body: unknown, token?: string) => {
    const r = await fetch(`${urls[server]}/api/v1${path}`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...(token ? { authorization: `Bearer ${token}` } : {}) },
      body: JSON.stringify(body),
    });
    return { status: r.status, body: (await r.json()) as { code?: string; token?: string } };
  };

  it('logins sent to two servers in turn hit one limit', async () => {
    const statuses: number[] = [];
    for (let i = 0; i < 2 * LIMIT; i++) statuses.push((await post(i % 2, '/auth/login', { username: 'mallory', password: `guess-${i}` })).status);
    expect(statuses).toEqual([...Array<number>(LIMIT).fill(401), ...Array<number>(LIMIT).fill(429)]);
    expect((await post(1, '/auth/login', { username: 'mallory', password: 'again' })).body.code).toBe('IDRA_ERR_AUTH_RATE_LIMITED');
  });

  it('concurrent guesses on both servers are all counted', async () => {
    const guesses = await Promise.all(Array.from({ length: 4 * LIMIT }, (_, i) => post(i % 2, '/auth/login', { username: 'trudy', password: `guess-${i}` })));
    const statuses = guesses.map((g) => g.status).sort();
    expect(statuses).toEqual([...Array<number>(LIMIT).fill(401), ...Array<number>(3 * LIMIT).fill(429)]);
  });

  it('wrong current passwords at /auth/password, sent to two servers in turn, hit one limit', async () => {
    const login = await post(0, '/auth/login', { username: 'admin', password: 'admin' });
    expect(login.status).toBe(200);
    const statuses: number[] = [];
    for (let i = 0; i < 2 * LIMIT; i++)
      statuses.push((await post(i % 2, '/auth/password', { currentPassword: `guess-${i}`, newPassword: ADMIN_PASSWORD }, login.body.token)).status);
    expect(statuses).toEqual([...Array<number>(LIMIT).fill(400), ...Array<number>(LIMIT).fill(429)]);
  });

  it('keeps its counts on leases that end with the window, under hashed names', async () => {
    const etcd = connectEtcd({ endpoints: a.options.etcd, prefix: a.prefix });
    try {
      const counts = (await etcd.ns.getAll().prefix(KEYS.attempts('')).exec()).kvs;
      expect(counts.length).toBeGreaterThanOrEqual(3);
      for (const kv of counts) {
        expect(kv.lease).not.toBe('0');
        expect(kv.key.toString()).toMatch(/attempts\/[0-9a-f]{64}$/);
        expect(kv.key.toString()).not.toContain('mallory');
      }
    } finally {
      etcd.close();
    }
  });
});
