import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestServer, type TestServer } from './testing/harness.ts';

describe('cross-origin browser calls', () => {
  let open: TestServer;
  let closed: TestServer;
  beforeAll(async () => {
    open = await startTestServer({ corsOrigins: ['https://ui.example.com'] }, { users: false });
    closed = await startTestServer({}, { users: false });
  });
  afterAll(async () => {
    await open.close();
    await closed.close();
  });

  const preflight = (s: TestServer, origin: string) =>
    s.app.inject({
      method: 'OPTIONS',
      url: '/api/v1/syncs',
      headers: { origin, 'access-control-request-method': 'GET', 'access-control-request-headers': 'authorization' },
    });

  it('answers a listed origin, with the Authorization header allowed', async () => {
    const r = await preflight(open, 'https://ui.example.com');
    expect(r.statusCode).toBe(204);
    expect(r.headers['access-control-allow-origin']).toBe('https://ui.example.com');
    expect(String(r.headers['access-control-allow-headers'])).toMatch(/Authorization/i);
  });

  it('lets the UI on a listed origin edit and delete, not only read (PUT, PATCH, DELETE preflights)', async () => {
    for (const method of ['PUT', 'PATCH', 'DELETE']) {
      const r = await open.app.inject({
        method: 'OPTIONS',
        url: '/api/v1/syncs/x',
        headers: { origin: 'https://ui.example.com', 'access-control-request-method': method },
      });
      expect(r.statusCode).toBe(204);
      expect(
        String(r.headers['access-control-allow-methods'])
          .split(',')
          .map((m) => m.trim()),
        method,
      ).toContain(method);
    }
  });

  it('gives no CORS headers to other origins, nor to anyone when none is configured', async () => {
    expect((await preflight(open, 'https://evil.example.net')).headers['access-control-allow-origin']).toBeUndefined();
    expect((await preflight(closed, 'https://ui.example.com')).headers['access-control-allow-origin']).toBeUndefined();
  });
});
