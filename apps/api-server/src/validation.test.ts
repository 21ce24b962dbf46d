import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MAX_JSON_DEPTH } from './plugins/errors.ts';
import { sqliteSync, startTestServer, type CallResult, type TestServer } from './testing/harness.ts';

/** Strings that have broken other systems: path traversal, SQL, HTML, control characters, templates, huge. */
const NASTY = [
  '../../users/admin',
  '..',
  "'; DROP TABLE users; --",
  '<script>alert(1)</script>',
  'a\u0000b',
  '\u202egnp.exe',
  '${jndi:ldap://x/a}',
  '{{7*7}}',
  '%2e%2e%2f',
  ' leading-space',
  'x'.repeat(10_000),
  '😀',
];

const WRONG_VALUES: unknown[] = [null, 0, -1, 1.5, 'x', '', true, [], {}, [1, 2], { $gt: '' }, 1e308, 'x'.repeat(100_000)];

interface WriteRoute {
  method: 'POST' | 'PUT' | 'PATCH' | 'DELETE';
  url: string;
  /** A valid body, mutated field by field. */
  body?: Record<string, unknown>;
  /** The body is a document checked by the handler (no fixed schema): fields are not named by the schema. */
  freeForm?: boolean;
}

const ROUTES: WriteRoute[] = [
  { method: 'POST', url: '/api/v1/auth/login', body: { username: 'nobody', password: 'whatever' } },
  { method: 'POST', url: '/api/v1/auth/password', body: { currentPassword: 'wrong-one', newPassword: 'Another-Pa55word' } },
  { method: 'POST', url: '/api/v1/auth/refresh', body: {} },
  { method: 'POST', url: '/api/v1/auth/logout', body: {} },
  { method: 'POST', url: '/api/v1/users', body: { name: 'fuzz-user', password: 'Fuzz-Pa55word', role: 'viewer' } },
  { method: 'PATCH', url: '/api/v1/users/target', body: { role: 'viewer' } },
  { method: 'DELETE', url: '/api/v1/users/{name}' },
  { method: 'POST', url: '/api/v1/tokens', body: { name: 'fuzz', role: 'viewer', expiresInDays: 1 } },
  { method: 'DELETE', url: '/api/v1/tokens/{token}' },
  { method: 'POST', url: '/api/v1/datasources', body: { id: 'fuzz-ds', connector: 'sqlite', connection: { file: '/tmp/none.db' } } },
  { method: 'PUT', url: '/api/v1/datasources/ds1', body: { id: 'ds1', connector: 'sqlite', connection: { file: '/tmp/none.db' } } },
  { method: 'DELETE', url: '/api/v1/datasources/{id}' },
  { method: 'POST', url: '/api/v1/datasources/{id}/test', body: {} },
  { method: 'POST', url: '/api/v1/datasources/test', body: { id: 'tmp', connector: 'sqlite', connection: { file: '/nonexistent/x.db' } } },
  { method: 'POST', url: '/api/v1/syncs', body: sqliteSync('fuzz-sync') },
  { method: 'PUT', url: '/api/v1/syncs/s1', body: sqliteSync('s1') },
  { method: 'DELETE', url: '/api/v1/syncs/{id}' },
  { method: 'POST', url: '/api/v1/syncs/validate', body: sqliteSync('v') },
  { method: 'POST', url: '/api/v1/syncs/check', body: sqliteSync('c') },
  { method: 'POST', url: '/api/v1/syncs/{id}/pause', body: {} },
  { method: 'POST', url: '/api/v1/syncs/{id}/resume', body: {} },
  { method: 'POST', url: '/api/v1/syncs/s1/duplicate', body: { id: 'fuzz-copy', name: 'copy' } },
  { method: 'DELETE', url: '/api/v1/syncs/{id}/errors' },
  { method: 'DELETE', url: '/api/v1/syncs/s1/errors/{errorId}' },
  { method: 'PUT', url: '/api/v1/syncs/s1/offset', body: { position: { kind: 'id', value: '1' }, reason: 'fuzzing it' } },
  { method: 'POST', url: '/api/v1/import', body: { syncs: [sqliteSync('imp')] }, freeForm: true },
];

describe('bad input never causes a 5xx, and the field is named', () => {
  let s: TestServer;
  let token: string;
  const failures: string[] = [];
  let requests = 0;

  beforeAll(async () => {
    s = await startTestServer();
    // An admin API token: logout through it ends no session, so the run keeps its credentials.
    token = (await s.call('POST', '/api/v1/tokens', { token: s.tokens.admin, body: { name: 'fuzz' } })).body.token;
    await s.call('POST', '/api/v1/users', { token: s.tokens.admin, body: { name: 'target', password: 'Target-Pa55word', role: 'viewer' } });
    await s.call('POST', '/api/v1/syncs', { token, body: sqliteSync('s1', { enabled: false }) });
    await s.call('POST', '/api/v1/datasources', { token, body: { id: 'ds1', connector: 'sqlite', connection: { file: '/tmp/none.db' } } });
  });
  afterAll(async () => s.close());

  const fire = async (
    what: string,
    method: string,
    url: string,
    opts: { body?: unknown; payload?: string; headers?: Record<string, string> },
  ): Promise<CallResult> => {
    requests++;
    const r = await s.call(method as 'POST', url, { token, ...opts });
    const where = `${what}: ${method} ${url.slice(0, 80)}`;
    if (r.status >= 500) failures.push(`${where} → ${r.status} ${r.text.slice(0, 200)}`);
    if (r.status >= 400 && (typeof r.body?.code !== 'string' || !r.body.code.startsWith('IDRA_ERR_') || typeof r.body.message !== 'string')) {
      failures.push(`${where} → ${r.status} without an IDRA_ERR_ body: ${r.text.slice(0, 200)}`);
    }
    const issues = r.body?.details?.issues as Array<{ path: string }> | undefined;
    if (r.status === 400 && r.body?.code === 'IDRA_ERR_API_VALIDATION' && (!issues?.length || issues.some((i) => !i.path))) {
      failures.push(`${where} → 400 without named fields: ${r.text.slice(0, 200)}`);
    }
    return r;
  };

  const withParams = (url: string, value: string) => url.replace(/\{[a-zA-Z]+\}/g, encodeURIComponent(value));
  // A bare `..` segment is resolved by URL normalization before routing (it names another route): not a parameter.
  const PARAMS = NASTY.filter((v) => v !== '..');

  it('fires malformed, mistyped, unknown-field, oversized and injected requests at every write route', async () => {
    for (const route of ROUTES) {
      const url = withParams(route.url, 'zz-missing');
      // Not JSON, wrong JSON shapes, wrong media type, deep nesting, a body over the limit.
      for (const payload of ['{"id": ', '{', '[1,', 'nul', '"', '{"a":1}{"b":2}', '\u0000', '{"__proto__": {"admin": true}}']) {
        await fire('malformed', route.method, url, { payload });
      }
      for (const body of [[], 'text', 42, true, [route.body]]) await fire('wrong shape', route.method, url, { body });
      await fire('media type', route.method, url, { payload: 'id=1', headers: { 'content-type': 'application/x-www-form-urlencoded' } });
      await fire('nesting', route.method, url, { payload: '{"a":'.repeat(5000) + '1' + '}'.repeat(5000) });
      const huge = await fire('huge', route.method, url, { payload: JSON.stringify({ id: 'x', blob: 'x'.repeat(2 * 1024 * 1024) }) });
      expect(huge.status).toBe(413);
      if (route.body) {
        const unknown = await fire('unknown field', route.method, url, { body: { ...route.body, evilField: 1 } });
        if (!route.freeForm && route.method !== 'DELETE') {
          expect(unknown.status, `${route.method} ${route.url}`).toBe(400);
          expect(unknown.body.message).toContain('evilField');
        }
        for (const key of Object.keys(route.body)) {
          for (const value of [...WRONG_VALUES, ...NASTY]) {
            const r = await fire(`field ${key}=${JSON.stringify(value).slice(0, 30)}`, route.method, url, { body: { ...route.body, [key]: value } });
            const named = (r.body?.details?.issues as Array<{ path: string }> | undefined)?.some(
              (i) => i.path === key || i.path.startsWith(`${key}.`) || i.path.startsWith(`${key}[`),
            );
            if (r.status === 400 && !route.freeForm && r.body?.details?.issues && !named)
              failures.push(`${route.method} ${route.url} field ${key}: 400 without naming it: ${r.text.slice(0, 200)}`);
          }
          const missing = { ...route.body };
          delete missing[key];
          await fire(`missing ${key}`, route.method, url, { body: missing });
        }
      }
      // Injection strings in path parameters.
      if (route.url.includes('{')) {
        for (const value of PARAMS) {
          const r = await fire(`param ${value.slice(0, 30)}`, route.method, withParams(route.url, value), { body: route.body ?? {} });
          expect([400, 404, 414], `${route.method} ${route.url} with ${value.slice(0, 30)}`).toContain(r.status);
        }
      }
    }
    // Injection strings in the path parameters of the read routes too.
    for (const url of [
      '/api/v1/syncs/{id}',
      '/api/v1/syncs/{id}/offset',
      '/api/v1/syncs/{id}/offset/history',
      '/api/v1/syncs/{id}/status',
      '/api/v1/syncs/{id}/errors',
      '/api/v1/datasources/{id}',
      '/api/v1/users/{name}',
    ]) {
      for (const value of PARAMS) {
        const r = await fire(`read param ${value.slice(0, 20)}`, 'GET', withParams(url, value), {});
        expect([400, 404, 414], `${url} with ${value.slice(0, 30)}`).toContain(r.status);
      }
    }
    for (const q of ['?overwrite=yes', '?overwrite[]=true', '?ids=../x', '?ids=' + 'a'.repeat(10_000)]) {
      await fire('query', q.startsWith('?overwrite') ? 'POST' : 'GET', q.startsWith('?overwrite') ? `/api/v1/import${q}` : `/api/v1/export${q}`, {
        body: q.startsWith('?overwrite') ? [] : undefined,
      });
    }
    expect(failures).toEqual([]);
    expect(requests).toBeGreaterThan(1000);
    // The server still works, and the injected ids were never stored.
    expect((await s.call('GET', '/api/v1/syncs', { token })).status).toBe(200);
    const keys = await s.app.idra.etcd.ns.getAll().keys();
    expect(keys.filter((k) => /\.\.|<|'|\u0000|\$\{/.test(k))).toEqual([]);
  }, 180_000); // thousands of requests one after another: 25 s at load average 18, over 60 s at 25-30 in a full run beside two CPU burners

  it('names the field of a mistyped value in the message and details', async () => {
    const r = await s.call('POST', '/api/v1/syncs', {
      token,
      body: sqliteSync('typed', { batchSize: 'lots', source: { connector: 'sqlite', connection: { file: 1 }, table: 't' } }),
    });
    expect(r.status).toBe(400);
    expect(r.body.code).toBe('IDRA_ERR_API_VALIDATION');
    expect(r.body.details.issues).toEqual(
      expect.arrayContaining([
        { path: 'batchSize', message: 'must be integer' },
        { path: 'source.connection.file', message: 'must be string' },
      ]),
    );
    expect(r.body.message).toMatch(/batchSize: must be integer/);
    const malformed = await s.call('POST', '/api/v1/syncs', { token, payload: '{"id": "x", "password": "Leaky-Pa55"' });
    expect(malformed.status).toBe(400);
    expect(malformed.body.code).toBe('IDRA_ERR_API_MALFORMED_JSON');
    expect(malformed.text).not.toContain('Leaky-Pa55');
  });

  it('refuses bad schema-change and delete options on save and in validate, each naming its field', async () => {
    const refused: Array<[Record<string, unknown>, string, RegExp]> = [
      [{ schemaChanges: 'sometimes' }, 'schemaChanges', /must be equal to one of the allowed values|evolve/],
      [{ deletes: 'purge' }, 'deletes', /must be equal to one of the allowed values|mirror/],
      [{ softDeleteColumn: '' }, 'softDeleteColumn', /must NOT have fewer than 1 characters/],
      [{ maxDeleteFraction: 1.5 }, 'maxDeleteFraction', /must be <= 1/],
      [{ maxDeleteFraction: -0.1 }, 'maxDeleteFraction', /must be >= 0/],
      [{ maxDeleteFraction: 'half' }, 'maxDeleteFraction', /must be number/],
      [{ reconcileEvery: 'often' }, 'reconcileEvery', /invalid value.*e\.g\. "1h"/],
      // The rules between fields: mirror belongs to full mode, a soft delete needs its column, each needs a key.
      [{ deletes: 'mirror' }, 'deletes', /'mirror' needs mode 'full' \(it is 'id'\)/],
      [{ deletes: 'delete' }, 'softDeleteColumn', /is required when deletes is 'delete'/],
      [{ mode: 'full', deletes: 'mirror', keyColumns: undefined, cursorColumn: undefined }, 'keyColumns', /is required/],
      [{ mode: 'full', cursorColumn: undefined, softDeleteColumn: 'deleted_at' }, 'softDeleteColumn', /applies to modes 'id' and 'timestamp'/],
      [
        { mode: 'full', cursorColumn: undefined, reconcileEvery: '1h' },
        'reconcileEvery',
        /applies to modes 'id' and 'timestamp'.*full mode uses deletes 'mirror'/,
      ],
      [{ softDeleteColumn: 'deleted_at', keyColumns: undefined }, 'keyColumns', /is required by softDeleteColumn/],
    ];
    const problems: string[] = [];
    for (const [patch, field, message] of refused) {
      const body = JSON.parse(JSON.stringify(sqliteSync('faithful', patch))) as Record<string, unknown>;
      for (const url of ['/api/v1/syncs', '/api/v1/syncs/validate']) {
        const r = await s.call('POST', url, { token, body });
        const issues = (r.body?.details?.issues ?? []) as Array<{ path: string; message: string }>;
        const named = issues.find((i) => i.path === field && message.test(i.message));
        if (r.status !== 400) problems.push(`${url} ${JSON.stringify(patch)}: ${r.status} ${r.text.slice(0, 200)}`);
        else if (!named) problems.push(`${url} ${JSON.stringify(patch)}: ${r.status} without ${field} ${message}: ${r.text.slice(0, 300)}`);
      }
    }
    expect(problems).toEqual([]);
    // The same fields with good values are accepted.
    const good = await s.call('POST', '/api/v1/syncs', {
      token,
      body: sqliteSync('faithful-ok', {
        enabled: false,
        mode: 'timestamp',
        cursorColumn: 'updated_at',
        schemaChanges: 'ignore',
        deletes: 'mark',
        softDeleteColumn: 'deleted_at',
        reconcileEvery: '1h',
        maxDeleteFraction: 0.2,
      }),
    });
    expect(good.status, good.text).toBe(201);
  });

  it(`refuses bodies nested deeper than ${MAX_JSON_DEPTH} levels with 400, not a 500`, async () => {
    const nested = (depth: number) => `${'{"a":'.repeat(depth)}1${'}'.repeat(depth)}`;
    for (const url of ['/api/v1/syncs/validate', '/api/v1/syncs', '/api/v1/import']) {
      // In source.options, which takes any JSON: structuredClone overflowed its stack there (a 500).
      const sync = sqliteSync('deep', { source: { connector: 'sqlite', connection: { file: '/tmp/x.db' }, table: 't', options: { x: 'DEEP' } } });
      const payload = JSON.stringify(sync).replace('"DEEP"', nested(50_000));
      const r = await s.call('POST', url, { token, payload });
      expect(r.status, `${url}: ${r.text.slice(0, 200)}`).toBe(400);
      expect(r.body.code).toBe('IDRA_ERR_API_TOO_DEEP');
      expect(r.body.message).toMatch(new RegExp(`deeper than ${MAX_JSON_DEPTH} levels`));
    }
    // Within the limit, the body is read and judged on its content; brackets inside strings do not count.
    const shallow = await s.call('POST', '/api/v1/syncs/validate', {
      token,
      body: sqliteSync('ok', {
        name: '{'.repeat(1000),
        source: { connector: 'sqlite', connection: { file: '/tmp/x.db' }, table: 't', options: { x: JSON.parse(nested(MAX_JSON_DEPTH - 4)) } },
      }),
    });
    expect(shallow.body.code).not.toBe('IDRA_ERR_API_TOO_DEEP');
    expect(shallow.status).toBeLessThan(500);
  });
});
