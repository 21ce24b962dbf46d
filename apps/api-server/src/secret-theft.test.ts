import { createServer, type Server } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SECRET_MASK, SecretBox, openSecrets } from '@idra/core';
import { SECRET_KEY, startTestServer, type TestServer } from './testing/harness.ts';

/**
 * Speaks just enough PostgreSQL to ask a client for its password in clear (as an attacker's server
 * would) and keeps every password it receives.
 */
async function fakePostgres(): Promise<{ port: number; captured: string[]; close(): Promise<void> }> {
  const captured: string[] = [];
  const server: Server = createServer((socket) => {
    let buf = Buffer.alloc(0);
    let started = false;
    socket.on('error', () => {});
    socket.on('data', (chunk: Buffer) => {
      buf = Buffer.concat([buf, chunk]);
      if (!started) {
        if (buf.length < 8 || buf.length < buf.readInt32BE(0)) return;
        const code = buf.readInt32BE(4);
        buf = buf.subarray(buf.readInt32BE(0));
        if (code === 80877103) return void socket.write('N'); // SSLRequest: no TLS here
        started = true;
        return void socket.write(Buffer.from([0x52, 0, 0, 0, 8, 0, 0, 0, 3])); // AuthenticationCleartextPassword
      }
      if (buf.length < 5 || buf[0] !== 0x70 || buf.length < 1 + buf.readInt32BE(1)) return;
      captured.push(buf.subarray(5, buf.readInt32BE(1)).toString());
      const fields = Buffer.from('SFATAL\0C28P01\0Mpassword authentication failed\0\0');
      const header = Buffer.from([0x45, 0, 0, 0, 0]);
      header.writeInt32BE(4 + fields.length, 1);
      socket.end(Buffer.concat([header, fields]));
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as { port: number }).port;
  return { port, captured, close: () => new Promise((resolve) => server.close(() => resolve())) };
}

const PASSWORD = 'Stored-Db-Pa55-7f3a';
const box = new SecretBox(SECRET_KEY);

describe('an operator cannot make Idra send a stored secret somewhere else', () => {
  let s: TestServer;
  let attacker: Awaited<ReturnType<typeof fakePostgres>>;
  let op: string;
  const stored = { host: 'db.internal.example', port: 5432, database: 'shop', user: 'idra', password: PASSWORD };

  beforeAll(async () => {
    [s, attacker] = await Promise.all([startTestServer(), fakePostgres()]);
    op = s.tokens.operator;
    const created = await s.call('POST', '/api/v1/datasources', { token: s.tokens.admin, body: { id: 'shop', connector: 'postgres', connection: stored } });
    expect(created.status, created.text).toBe(201);
    const byUrl = await s.call('POST', '/api/v1/datasources', {
      token: s.tokens.admin,
      body: { id: 'shop-url', connector: 'postgres', connection: { url: `postgres://idra:${PASSWORD}@db.internal.example:5432/shop` } },
    });
    expect(byUrl.status, byUrl.text).toBe(201);
  });
  afterAll(async () => {
    await s.close();
    await attacker.close();
  });

  /** The stored password in clear, read back from etcd. */
  const storedPassword = async (id: string) => {
    const ds = openSecrets((await s.app.idra.configs.getDataSource(id))!, box);
    return ds.connection.password ?? new URL(ds.connection.url!).password;
  };

  it('test-connection with the mask and a new host/port is refused, naming the field; nothing reaches the attacker', async () => {
    const shown = (await s.call('GET', '/api/v1/datasources/shop', { token: op })).body;
    expect(shown.connection.password).toBe(SECRET_MASK);
    const r = await s.call('POST', '/api/v1/datasources/test', {
      token: op,
      body: { ...shown, connection: { ...shown.connection, host: '127.0.0.1', port: attacker.port } },
    });
    expect(r.status, r.text).toBe(400);
    expect(r.body.code).toBe('IDRA_ERR_SECRETS_TARGET_CHANGED');
    expect(r.body.details.issues.map((i: { path: string }) => i.path)).toEqual(['connection.host', 'connection.port']);
    expect(r.body.message).toMatch(/re-enter the secret to change the host/);
    expect(attacker.captured).toEqual([]);
  });

  it('the same through a URL: postgres://idra:********@attacker:port/db', async () => {
    const r = await s.call('POST', '/api/v1/datasources/test', {
      token: op,
      body: { id: 'shop-url', connector: 'postgres', connection: { url: `postgres://idra:${SECRET_MASK}@127.0.0.1:${attacker.port}/shop` } },
    });
    expect(r.status, r.text).toBe(400);
    expect(r.body.details.issues[0].path).toBe('connection.url');
    expect(attacker.captured).toEqual([]);
  });

  it('PUT /datasources/:id cannot re-point the stored password, so a later test cannot send it', async () => {
    const shown = (await s.call('GET', '/api/v1/datasources/shop', { token: op })).body;
    const put = await s.call('PUT', '/api/v1/datasources/shop', {
      token: op,
      body: { ...shown, connection: { ...shown.connection, host: '127.0.0.1', port: attacker.port } },
    });
    expect(put.status, put.text).toBe(400);
    expect(put.body.code).toBe('IDRA_ERR_SECRETS_TARGET_CHANGED');
    expect((await s.call('POST', '/api/v1/datasources/shop/test', { token: op })).body.ok).toBe(false);
    expect(attacker.captured).toEqual([]);
    expect((await s.app.idra.configs.getDataSource('shop'))!.connection.host).toBe('db.internal.example');
  });

  it('PUT /syncs/:id and POST /import?overwrite=true refuse masks aimed elsewhere too', async () => {
    const sync = {
      id: 'orders',
      source: { connector: 'postgres', connection: stored, table: 'orders' },
      destination: { connector: 'postgres', dataSourceId: 'shop', table: 'orders_copy' },
      mode: 'id',
      cursorColumn: 'id',
    };
    expect((await s.call('POST', '/api/v1/syncs', { token: s.tokens.admin, body: sync })).status).toBe(201);
    const shown = (await s.call('GET', '/api/v1/syncs/orders', { token: op })).body;
    const moved = { ...shown, source: { ...shown.source, connection: { ...shown.source.connection, host: '127.0.0.1', port: attacker.port } } };
    const put = await s.call('PUT', '/api/v1/syncs/orders', { token: op, body: moved });
    expect(put.status, put.text).toBe(400);
    expect(put.body.details.issues.map((i: { path: string }) => i.path)).toEqual(['source.connection.host', 'source.connection.port']);

    const exported = (await s.call('GET', '/api/v1/export', { token: op })).body;
    const ds = exported.dataSources.find((d: { id: string }) => d.id === 'shop');
    const imported = await s.call('POST', '/api/v1/import?overwrite=true', {
      token: op,
      body: { dataSources: [{ ...ds, connection: { ...ds.connection, host: '127.0.0.1', port: attacker.port } }], syncs: [] },
    });
    expect(imported.status, imported.text).toBe(400);
    expect(imported.body.details.issues[0].path).toBe('dataSources[0].connection.host');
    const importedSync = await s.call('POST', '/api/v1/import?overwrite=true', { token: op, body: { syncs: [moved] } });
    expect(importedSync.status, importedSync.text).toBe(400);
    expect(importedSync.body.details.issues[0].path).toBe('syncs[0].source.connection.host');
    expect(attacker.captured).toEqual([]);
    expect(await storedPassword('shop')).toBe(PASSWORD);
  });

  it('keeps the stored secret when the mask comes back for the same target (a name or a pool size changed)', async () => {
    const shown = (await s.call('GET', '/api/v1/datasources/shop', { token: op })).body;
    const put = await s.call('PUT', '/api/v1/datasources/shop', {
      token: op,
      body: { ...shown, name: 'Shop (renamed)', connection: { ...shown.connection, options: { poolSize: 3 } } },
    });
    expect(put.status, put.text).toBe(200);
    expect(await storedPassword('shop')).toBe(PASSWORD);
    // Re-entering the password moves it: that is the owner's choice, not a theft.
    const moved = await s.call('PUT', '/api/v1/datasources/shop', {
      token: op,
      body: { ...shown, connection: { ...shown.connection, host: 'db2.internal.example', password: 'New-Pa55-for-db2' } },
    });
    expect(moved.status, moved.text).toBe(200);
    expect(await storedPassword('shop')).toBe('New-Pa55-for-db2');
  });

  it.each([
    ['http', { url: 'https://api.example.com/', password: 'Http-Token-1234' }, { url: 'https://attacker.example/' }, 'connection.url'],
    ['s3', { url: 'https://minio.internal:9000', user: 'AKIAEXAMPLE', password: 'S3-Secret-1234' }, { url: 'https://attacker.example:9000' }, 'connection.url'],
    [
      'kafka',
      { host: 'kafka-1', options: { brokers: ['kafka-1:9092', 'kafka-2:9092'] }, user: 'app', password: 'Kafka-Pa55-1234' },
      { options: { brokers: ['kafka-1:9092', 'attacker:9092'] } },
      'connection.options.brokers[1]',
    ],
    [
      'mongodb',
      { url: 'mongodb://app:Mongo-Pa55-1234@mongo-1:27017/shop?authSource=admin' },
      { url: `mongodb://app:${SECRET_MASK}@attacker:27017/shop?authSource=admin` },
      'connection.url',
    ],
  ])('the same rule for every connector kind: %s', async (connector, connection, move, field) => {
    const id = `ds-${connector}`;
    const created = await s.call('POST', '/api/v1/datasources', { token: s.tokens.admin, body: { id, connector, connection } });
    expect(created.status, created.text).toBe(201);
    const shown = (await s.call('GET', `/api/v1/datasources/${id}`, { token: op })).body;
    expect(JSON.stringify(shown)).not.toMatch(/1234/);
    for (const [method, url] of [
      ['POST', '/api/v1/datasources/test'],
      ['PUT', `/api/v1/datasources/${id}`],
    ] as const) {
      const r = await s.call(method, url, { token: op, body: { ...shown, connection: { ...shown.connection, ...move } } });
      expect(r.status, `${method} ${url}: ${r.text}`).toBe(400);
      expect(r.body.details.issues[0].path).toBe(field);
    }
  });
  it("a sync cannot point an HTTP data source's credentials at another origin: refused on save and on validate, naming source.url", async () => {
    const created = await s.call('POST', '/api/v1/datasources', {
      token: s.tokens.admin,
      body: { id: 'api', connector: 'http', connection: { url: 'https://api.example.com/v1/', password: 'Api-Token-5678' } },
    });
    expect(created.status, created.text).toBe(201);
    const sync = (url: string) => ({
      id: 'pull-api',
      mode: 'stream',
      source: { connector: 'http', dataSourceId: 'api', url },
      destination: { connector: 'sqlite', connection: { file: '/tmp/idra-never-written.db' }, table: 'items' },
    });
    for (const [method, path] of [
      ['POST', '/api/v1/syncs'],
      ['POST', '/api/v1/syncs/validate'],
    ] as const) {
      const r = await s.call(method, path, { token: op, body: sync('https://attacker.example/collect') });
      expect(r.status, `${path}: ${r.text}`).toBe(400);
      expect(r.body.details.issues).toEqual([
        {
          path: 'source.url',
          message:
            "is on https://attacker.example, not on the connection's origin https://api.example.com: an HTTP endpoint's requests (and their credentials) go only to its connection's origin",
        },
      ]);
    }
    // A path, or a URL on the data source's own origin, is what a sync may give.
    for (const url of ['items', 'https://api.example.com/v2/items']) {
      const r = await s.call('POST', '/api/v1/syncs/validate', { token: op, body: sync(url) });
      expect(r.status, `${url}: ${r.text}`).toBe(200);
    }
  });
});
