import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sqliteSync, startTestServer, type TestServer } from '../testing/harness.ts';

describe('creating many syncs at once', () => {
  let s: TestServer;
  beforeAll(async () => {
    s = await startTestServer();
  });
  afterAll(async () => s.close());

  it('creates none when one is invalid, naming each problem by sync and field; creates all when all are valid', async () => {
    const { operator, viewer } = s.tokens;
    expect((await s.call('POST', '/api/v1/syncs', { token: operator, body: sqliteSync('taken') })).status).toBe(201);
    const bad = await s.call('POST', '/api/v1/syncs/bulk', {
      token: operator,
      body: { syncs: [sqliteSync('bulk-a'), sqliteSync('bulk-b', { cursorColumn: undefined }), sqliteSync('taken'), sqliteSync('bulk-a')] },
    });
    expect(bad.status).toBe(400);
    expect(bad.body.code).toBe('IDRA_ERR_SYNC_BULK_INVALID');
    expect(bad.body.details.items).toEqual([
      { index: 1, id: 'bulk-b', issues: [{ path: 'syncs[1].cursorColumn', message: expect.stringMatching(/required/) }] },
      { index: 2, id: 'taken', issues: [{ path: 'syncs[2].id', message: "sync 'taken' already exists" }] },
      { index: 3, id: 'bulk-a', issues: [{ path: 'syncs[3].id', message: "'bulk-a' appears twice in this request" }] },
    ]);
    expect((await s.call('GET', '/api/v1/syncs/bulk-a', { token: viewer })).status).toBe(404);
    // A sync wrong in its shape is one item's problem too; a request that is no list of syncs is refused as a whole.
    const mistyped = await s.call('POST', '/api/v1/syncs/bulk', {
      token: operator,
      body: { syncs: [sqliteSync('bulk-a'), sqliteSync('bulk-c', { batchSize: 'many' })] },
    });
    expect(mistyped.body).toMatchObject({
      code: 'IDRA_ERR_SYNC_BULK_INVALID',
      details: { items: [{ index: 1, id: 'bulk-c', issues: [{ path: 'syncs[1].batchSize' }] }] },
    });
    for (const body of [{ syncs: [] }, { syncs: [sqliteSync('bulk-a'), null] }, { syncs: 'bulk-a' }, { syncs: [sqliteSync('bulk-a')], also: 1 }]) {
      expect((await s.call('POST', '/api/v1/syncs/bulk', { token: operator, body })).body.code, JSON.stringify(body)).toBe('IDRA_ERR_API_VALIDATION');
    }

    expect((await s.call('POST', '/api/v1/syncs/bulk', { token: viewer, body: { syncs: [sqliteSync('bulk-a')] } })).status).toBe(403);
    const ok = await s.call('POST', '/api/v1/syncs/bulk', {
      token: operator,
      body: { syncs: [sqliteSync('bulk-a'), sqliteSync('bulk-b', { enabled: false })] },
    });
    expect(ok.status, ok.text).toBe(201);
    expect(ok.body).toEqual({ created: ['bulk-a', 'bulk-b'] });
    expect((await s.call('GET', '/api/v1/syncs/bulk-b', { token: viewer })).body).toMatchObject({ enabled: false });
    const history = (await s.call('GET', '/api/v1/syncs/bulk-a/history', { token: viewer })).body as Array<{ action: string; via?: string }>;
    expect(history[0]).toMatchObject({ action: 'created', via: 'bulk' });
  });

  it('an id whose deleted sync left an offset is still guarded: a new source for it needs a decision, and the bulk creates none', async () => {
    const { admin, operator } = s.tokens;
    expect((await s.call('POST', '/api/v1/syncs', { token: operator, body: sqliteSync('reborn', { enabled: false }) })).status).toBe(201);
    expect(
      (await s.call('PUT', '/api/v1/syncs/reborn/offset', { token: admin, body: { position: { kind: 'id', value: '250' }, reason: 'test' } })).status,
    ).toBe(200);
    expect((await s.call('DELETE', '/api/v1/syncs/reborn', { token: operator })).status).toBe(204);
    const elsewhere = sqliteSync('reborn', { source: { connector: 'sqlite', connection: { file: '/tmp/idra-api-test-other.db' }, table: 'orders' } });
    const refused = await s.call('POST', '/api/v1/syncs/bulk', { token: operator, body: { syncs: [sqliteSync('fresh-1'), elsewhere] } });
    expect(refused.status).toBe(409);
    expect(refused.body.code).toBe('IDRA_ERR_OFFSET_SCOPE_CHANGED');
    expect((await s.call('GET', '/api/v1/syncs/fresh-1', { token: operator })).status).toBe(404);
  });
});
