import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { logSchemaViolation } from '@idra/testkit';
import { startTestServer, ADMIN_PASSWORD, type TestServer } from './testing/harness.ts';

describe('API server logs', () => {
  let s: TestServer;
  beforeAll(async () => {
    s = await startTestServer({ logLevel: 'debug' });
  });
  afterAll(async () => s.close());

  it('are JSON lines in the schema the agents use: level by name, ISO time, service idra-api, no key twice', async () => {
    await s.call('POST', '/api/v1/auth/login', { body: { username: 'admin', password: ADMIN_PASSWORD } });
    await s.call('POST', '/api/v1/auth/login', { body: { username: 'admin', password: 'wrong' } });
    await s.call('GET', '/api/v1/syncs', { token: s.tokens.viewer });
    await s.call('GET', '/api/v1/syncs/nope', { token: s.tokens.viewer });
    expect(s.logs.length).toBeGreaterThan(8);
    expect(s.logs.map((line) => ({ line, violation: logSchemaViolation(line, 'idra-api') })).filter((l) => l.violation)).toEqual([]);
    expect(s.logs.map((line) => JSON.parse(line) as { level: string }).map((l) => l.level)).toContain('info');
  });
});
