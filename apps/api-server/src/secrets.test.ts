import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { startTestServer, type CallResult, type TestServer } from './testing/harness.ts';

/** Distinctive secrets: each must never appear in a response (but where it is created) or a log line. */
const S = {
  dataSource: 'Ds-Pa55-aa11bb22',
  dataSource2: 'Ds-Pa55-cc33dd44',
  inline: 'Inline-Pa55-ee55ff66',
  url: 'Url-Pa55-gg77hh88',
  imported: 'Import-Pa55-ii99jj00',
  go: 'Go-Pa55-kk11ll22',
  validate: 'Validate-Pa55-mm33nn44',
  unsavedTest: 'Unsaved-Pa55-oo55pp66',
  user: 'User-Pa55-qq77rr88',
  malformed: 'Malformed-Pa55-ss99tt00',
  option: 'Option-Secret-uu11vv22',
  changed: 'Changed-Pa55-ww33xx44',
  migrated: 'Migrated-Pa55-yy55zz66',
  tlsKey: 'TlsKeyMaterial0123456789abcdefXyZ',
  header: 'Header-Api-Key-ww33xx44',
  bearer: 'Header-Bearer-yy55zz66',
  param: 'Param-Api-Key-ab12cd34',
  queryToken: 'Query-Token-ef56gh78',
  check: 'Check-Pa55-aa77bb88',
};
const PEM = `-----BEGIN PRIVATE KEY-----\n${S.tlsKey}\n-----END PRIVATE KEY-----\n`;

describe('secrets never leave the server in clear: not in responses, not in logs', () => {
  let s: TestServer;
  const responses: Array<{ what: string; r: CallResult }> = [];
  beforeAll(async () => {
    s = await startTestServer({ logLevel: 'trace' });
  });
  afterAll(async () => s.close());

  it('handles secrets through every write path, then finds none of them in any answer or log line', async () => {
    const { admin, operator, viewer } = s.tokens;
    const keep = async (what: string, p: Promise<CallResult>) => {
      const r = await p;
      responses.push({ what, r });
      return r;
    };
    const pg = new URL(inject('pgUrl'));
    pg.password = S.dataSource;
    await keep(
      'create ds',
      s.call('POST', '/api/v1/datasources', {
        token: operator,
        body: { id: 'ds', connector: 'postgres', connection: { url: pg.toString(), options: { apiKey: S.option } } },
      }),
    );
    await keep(
      'put ds',
      s.call('PUT', '/api/v1/datasources/ds2', {
        token: operator,
        body: { id: 'ds2', connector: 'mysql', connection: { host: 'h', user: 'u', password: S.dataSource2 } },
      }),
    );
    await keep('test ds', s.call('POST', '/api/v1/datasources/ds/test', { token: operator }));
    const badPg = new URL(inject('pgUrl'));
    badPg.username = 'no_such_user';
    badPg.password = S.unsavedTest;
    const unsaved = await keep(
      'test unsaved',
      s.call('POST', '/api/v1/datasources/test', { token: operator, body: { id: 'x', connector: 'postgres', connection: { url: badPg.toString() } } }),
    );
    expect(unsaved.body.ok).toBe(false);
    const sync = {
      id: 'orders',
      source: { connector: 'postgres', connection: { host: 'db', user: 'u', password: S.inline }, table: 'orders' },
      destination: { connector: 'postgres', connection: { url: `postgres://u:${S.url}@dw:5432/dw` }, table: 'orders' },
      mode: 'id',
      cursorColumn: 'id',
    };
    await keep('create sync', s.call('POST', '/api/v1/syncs', { token: operator, body: sync }));
    // Secrets deeper down: a TLS key, HTTP headers, query parameters, a token in a URL's query string.
    await keep(
      'create tls ds',
      s.call('POST', '/api/v1/datasources', {
        token: operator,
        body: { id: 'tls', connector: 'postgres', connection: { host: 'db', ssl: true, options: { ssl: { key: PEM, rejectUnauthorized: true } } } },
      }),
    );
    const api = {
      id: 'api-feed',
      source: {
        connector: 'http',
        connection: { url: `https://api.example.com/v1/?access_token=${S.queryToken}` },
        url: 'items',
        options: {
          headers: { 'X-API-Key': S.header, Authorization: `Bearer ${S.bearer}`, Accept: 'application/json' },
          params: { api_key: S.param, region: 'eu' },
        },
      },
      destination: { connector: 'postgres', connection: { host: 'dw', options: { ssl: { key: PEM } } }, table: 'items' },
      mode: 'stream',
      keyColumns: ['id'],
    };
    const created = await keep('create api sync', s.call('POST', '/api/v1/syncs', { token: operator, body: api }));
    expect(created.status, created.text).toBe(201);
    const shown = await keep('viewer reads api sync', s.call('GET', '/api/v1/syncs/api-feed', { token: viewer }));
    expect(shown.body.source.options.headers).toEqual({ 'X-API-Key': '********', Authorization: '********', Accept: 'application/json' });
    expect(shown.body.source.options.params).toEqual({ api_key: '********', region: 'eu' });
    // Sent back unchanged, the masks keep the stored secrets.
    const again = await keep('put api sync back', s.call('PUT', '/api/v1/syncs/api-feed', { token: operator, body: { ...shown.body, name: 'API feed' } }));
    expect(again.status, again.text).toBe(200);
    const resolved = await s.app.idra.configs.resolveSync((await s.app.idra.configs.getSync('api-feed'))!);
    expect(resolved.source.options).toMatchObject({ headers: { 'X-API-Key': S.header, Authorization: `Bearer ${S.bearer}` }, params: { api_key: S.param } });
    expect(resolved.source.connection.url).toContain(S.queryToken);
    expect(resolved.destination.connection.options).toEqual({ ssl: { key: PEM } });
    await keep(
      'validate',
      s.call('POST', '/api/v1/syncs/validate', {
        token: viewer,
        body: { ...sync, id: 'v', source: { ...sync.source, connection: { host: 'db', password: S.validate } } },
      }),
    );
    const badCheck = new URL(inject('pgUrl'));
    badCheck.username = 'no_such_user';
    badCheck.password = S.check;
    const checked = await keep(
      'check',
      s.call('POST', '/api/v1/syncs/check', {
        token: operator,
        body: { ...sync, id: 'c', source: { ...sync.source, connection: { url: badCheck.toString() } } },
      }),
    );
    expect(checked.body).toMatchObject({ ok: false, error: expect.stringMatching(/no_such_user|password|authentication/) });
    await keep(
      'import',
      s.call('POST', '/api/v1/import', {
        token: operator,
        body: { syncs: [{ ...sync, id: 'imported', source: { ...sync.source, connection: { host: 'db', password: S.imported } } }] },
      }),
    );
    await keep(
      'import go',
      s.call('POST', '/api/v1/import', {
        token: operator,
        body: {
          sync_name: 'go',
          mode: 'IdField',
          source_connector: { id: 'id', connector_source_type: 'MysqlGORM', connection_string: `root:${S.go}@tcp(db:3306)/shop`, table: 't', token: S.go },
          destination_connector: { id: 'id', connector_source_type: 'MysqlGORM', connection_string: `root:${S.go}@tcp(dw:3306)/dw`, table: 't' },
        },
      }),
    );
    await keep(
      'bad import',
      s.call('POST', '/api/v1/import', {
        token: operator,
        body: [{ ...sync, id: 'broken', batchSize: -1, source: { ...sync.source, connection: { host: 'db', password: S.imported } } }],
      }),
    );
    await keep('duplicate', s.call('POST', '/api/v1/syncs/orders/duplicate', { token: operator, body: { id: 'orders-2' } }));
    await keep('create user', s.call('POST', '/api/v1/users', { token: admin, body: { name: 'carol', password: S.user, role: 'viewer' } }));
    await keep('login wrong', s.call('POST', '/api/v1/auth/login', { body: { username: 'carol', password: `${S.user}-wrong` } }));
    const carol = await keep('login', s.call('POST', '/api/v1/auth/login', { body: { username: 'carol', password: S.user } }));
    await keep(
      'change password',
      s.call('POST', '/api/v1/auth/password', { token: carol.body.token, body: { currentPassword: S.user, newPassword: `${S.user}-new` } }),
    );
    await keep('malformed', s.call('POST', '/api/v1/auth/login', { payload: `{"username": "carol", "password": "${S.malformed}"` }));
    await keep(
      'mistyped',
      s.call('POST', '/api/v1/datasources', {
        token: operator,
        body: { id: 'm', connector: 'postgres', connection: { url: `postgres://u:${S.malformed}@h/db`, port: 'x' } },
      }),
    );
    // Changes recorded in the history, secrets among them.
    await keep(
      'update ds',
      s.call('PUT', '/api/v1/datasources/ds2?reason=rotate', {
        token: operator,
        body: { id: 'ds2', connector: 'mysql', connection: { host: 'h', user: 'u', password: S.changed } },
      }),
    );
    await keep(
      'update sync',
      s.call('PUT', '/api/v1/syncs/orders', {
        token: operator,
        body: { ...sync, source: { ...sync.source, connection: { host: 'db', user: 'u', password: S.changed } } },
      }),
    );
    const goDoc = {
      id: 'migrated',
      sync_name: 'm',
      mode: 'IdField',
      source_connector: { id: 'id', connector_source_type: 'PostgresGORM', connection_string: `host=db user=u password=${S.migrated}`, table: 't' },
      destination_connector: { id: 'id', connector_source_type: 'PostgresGORM', connection_string: `postgres://u:${S.migrated}@dw/dw`, table: 't' },
    };
    await keep('migrate', s.call('POST', '/api/v1/migrate/go-idra', { token: admin, body: { syncs: [goDoc], offsets: { migrated: '5' } } }));
    const token = await s.call('POST', '/api/v1/tokens', { token: admin, body: { name: 'ci' } });
    const tokenSecret = token.body.token as string;
    await keep('use token', s.call('GET', '/api/v1/syncs', { token: tokenSecret }));

    for (const url of ['/api/v1/syncs/api-feed', '/api/v1/datasources/tls', '/api/v1/export?ids=api-feed']) {
      const r = await keep(`viewer ${url}`, s.call('GET', url, { token: viewer }));
      expect(r.status, url).toBe(200);
    }
    for (const url of [
      '/api/v1/syncs',
      '/api/v1/syncs/orders',
      '/api/v1/syncs/imported',
      '/api/v1/syncs/go',
      '/api/v1/syncs/orders-2',
      '/api/v1/datasources',
      '/api/v1/datasources/ds',
      '/api/v1/datasources/ds2',
      '/api/v1/export',
      '/api/v1/overview',
      '/api/v1/users',
      '/api/v1/tokens',
      '/api/v1/users/carol',
      '/api/v1/syncs/orders/history',
      '/api/v1/syncs/migrated/history',
      '/api/v1/datasources/ds2/history',
    ]) {
      const r = await keep(url, s.call('GET', url, { token: admin }));
      expect(r.status, url).toBe(200);
    }
    const secrets = [...Object.values(S), `${S.user}-new`, `${S.user}-wrong`, tokenSecret, tokenSecret.slice(-43), encodeURIComponent(S.url)];
    for (const { what, r } of responses) for (const secret of secrets) expect(r.text.includes(secret), `${what} answered ${secret}`).toBe(false);
    const log = s.logs.join('\n');
    expect(s.logs.length).toBeGreaterThan(50);
    for (const secret of secrets) expect(log.includes(secret), `log holds ${secret}`).toBe(false);
    // Nor in etcd in clear.
    const stored = Object.values(await s.app.idra.etcd.ns.getAll().strings()).join('\n');
    for (const secret of [
      S.dataSource,
      S.dataSource2,
      S.inline,
      S.url,
      S.imported,
      S.go,
      S.option,
      S.user,
      S.changed,
      S.migrated,
      tokenSecret,
      S.tlsKey,
      S.header,
      S.bearer,
      S.param,
      S.queryToken,
    ]) {
      expect(stored.includes(secret), `etcd holds ${secret}`).toBe(false);
    }
    // The history shows that a secret changed, not what it is.
    const history = responses.find((x) => x.what === '/api/v1/datasources/ds2/history')!.r.body as Array<{
      action: string;
      reason?: string;
      changes: Array<{ path: string; old?: unknown; new?: unknown }>;
    }>;
    expect(history[0]).toMatchObject({ action: 'updated', reason: 'rotate', changes: [{ path: 'connection.password', old: '********', new: '********' }] });
  });
});
