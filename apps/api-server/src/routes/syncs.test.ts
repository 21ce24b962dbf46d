import { join } from 'node:path';
import Database from 'better-sqlite3';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { createDatabase, createPostgresRole, tempDir, type TestRole } from '@idra/testkit';
import { ConfigStore, KEYS, OVERVIEW_MAX_PAGE_SIZE, SecretBox, StatusStore, describeConnector, newSyncStatus, type SyncStatus } from '@idra/core';
import { CONNECTOR_SPECS } from '@idra/connectors';
import { SECRET_KEY, asSyncOwner, sqliteSync, startTestServer, type TestServer } from '../testing/harness.ts';

const PG_PASSWORD = 'Pg-S3cret-Unique-4711';
const DS_PASSWORD = 'Ds-S3cret-Unique-0815';

const pgSync = (id: string, extra: Record<string, unknown> = {}) => ({
  id,
  source: { connector: 'postgres', connection: { host: 'db.internal', user: 'idra', password: PG_PASSWORD, database: 'shop' }, table: 'orders' },
  destination: { connector: 'postgres', connection: { url: `postgres://idra:${PG_PASSWORD}@dw.internal:5432/dw` }, table: 'orders' },
  mode: 'id',
  cursorColumn: 'id',
  keyColumns: ['id'],
  ...extra,
});

describe('syncs, data sources, import/export, status: routes and roles', () => {
  let s: TestServer;
  let admin: string, operator: string, viewer: string;
  let stores: ConfigStore;
  beforeAll(async () => {
    s = await startTestServer();
    ({ admin, operator, viewer } = s.tokens);
    stores = new ConfigStore(s.app.idra.etcd.ns, new SecretBox(SECRET_KEY));
  });
  afterAll(async () => s.close());

  it('creates, reads, replaces and deletes a sync; viewers only read', async () => {
    const created = await s.call('POST', '/api/v1/syncs', { token: operator, body: sqliteSync('orders') });
    expect(created.status).toBe(201);
    expect(created.body).toMatchObject({ id: 'orders', mode: 'id' });
    expect((await s.call('POST', '/api/v1/syncs', { token: operator, body: sqliteSync('orders') })).body.code).toBe('IDRA_ERR_SYNC_EXISTS');
    expect((await s.call('GET', '/api/v1/syncs/orders', { token: viewer })).body.source.table).toBe('orders');
    expect((await s.call('GET', '/api/v1/syncs', { token: viewer })).body.syncs.map((x: { id: string }) => x.id)).toContain('orders');

    for (const [method, url, body] of [
      ['POST', '/api/v1/syncs', sqliteSync('v1')],
      ['PUT', '/api/v1/syncs/orders', sqliteSync('orders')],
      ['DELETE', '/api/v1/syncs/orders', undefined],
      ['POST', '/api/v1/syncs/orders/pause', {}],
      ['POST', '/api/v1/syncs/orders/duplicate', { id: 'copy' }],
      ['POST', '/api/v1/import', [sqliteSync('v2')]],
    ] as const) {
      const r = await s.call(method, url, { token: viewer, body });
      expect(r.status, `${method} ${url}`).toBe(403);
      expect(r.body.code).toBe('IDRA_ERR_AUTH_FORBIDDEN');
    }

    const replaced = await s.call('PUT', '/api/v1/syncs/orders', { token: operator, body: sqliteSync('orders', { batchSize: 50 }) });
    expect(replaced.status).toBe(200);
    expect(replaced.body.batchSize).toBe(50);
    expect((await s.call('PUT', '/api/v1/syncs/fresh', { token: operator, body: sqliteSync('fresh') })).status).toBe(201);
    const mismatch = await s.call('PUT', '/api/v1/syncs/orders', { token: operator, body: sqliteSync('other') });
    expect(mismatch.status).toBe(400);
    expect(mismatch.body.details.issues[0].path).toBe('id');

    expect((await s.call('DELETE', '/api/v1/syncs/fresh', { token: operator })).status).toBe(204);
    expect((await s.call('GET', '/api/v1/syncs/fresh', { token: viewer })).body.code).toBe('IDRA_ERR_SYNC_NOT_FOUND');
    expect((await s.call('DELETE', '/api/v1/syncs/fresh', { token: operator })).status).toBe(404);
  });

  it('validates without storing and names the bad fields', async () => {
    const ok = await s.call('POST', '/api/v1/syncs/validate', { token: viewer, body: sqliteSync('check') });
    expect(ok.status).toBe(200);
    expect(ok.body).toMatchObject({ valid: true, normalized: { id: 'check', batchSize: 50_000, writeMode: 'insert', pollIntervalMs: 5000 } });
    expect((await s.call('GET', '/api/v1/syncs/check', { token: viewer })).status).toBe(404);

    const noCursor = await s.call('POST', '/api/v1/syncs/validate', { token: viewer, body: sqliteSync('check', { cursorColumn: undefined }) });
    expect(noCursor.status).toBe(400);
    expect(noCursor.body.details.issues).toEqual([{ path: 'cursorColumn', message: "is required when mode is 'id'" }]);
    // A draft wrong in its shape and between its fields is told both at once (the route's schema does not refuse it first).
    const both = await s.call('POST', '/api/v1/syncs/validate', { token: viewer, body: sqliteSync('check', { cursorColumn: undefined, batchSize: 'many' }) });
    expect(both.body).toMatchObject({ code: 'IDRA_ERR_CONFIG_INVALID' });
    expect(both.body.details.issues.map((i: { path: string }) => i.path).sort()).toEqual(['batchSize', 'cursorColumn']);
    // A body that is no sync at all is the schema's to refuse.
    for (const body of [[sqliteSync('check')], 'check', null]) {
      expect((await s.call('POST', '/api/v1/syncs/validate', { token: viewer, body })).body.code, JSON.stringify(body)).toBe('IDRA_ERR_API_VALIDATION');
    }
    const unknownDs = await s.call('POST', '/api/v1/syncs', {
      token: operator,
      body: sqliteSync('ref', { source: { connector: 'sqlite', dataSourceId: 'nope', table: 't' } }),
    });
    expect(unknownDs.status).toBe(400);
    expect(unknownDs.body.details.issues[0]).toMatchObject({ path: 'source.dataSourceId', message: "unknown data source 'nope'" });
  });

  it("checks a sync against its connectors' contracts on save, and serves the catalogue they come from", async () => {
    const src = sqliteSync('contract').source as Record<string, unknown>;
    const typo = await s.call('POST', '/api/v1/syncs', {
      token: operator,
      body: sqliteSync('contract', { source: { ...src, options: { fromBeginnig: true } } }),
    });
    expect(typo.status).toBe(400);
    expect(typo.body.details.issues).toEqual([
      {
        path: 'source.options.fromBeginnig',
        message: 'unknown option (the sqlite source knows: busyTimeoutMs, connectTimeoutMs, create, idleCloseMs, poolSize)',
      },
    ]);
    const kafka = { connector: 'kafka', connection: { url: 'kafka://broker:9092' }, topic: 'orders' };
    const idFromKafka = await s.call('PUT', '/api/v1/syncs/contract', { token: operator, body: sqliteSync('contract', { source: kafka }) });
    expect(idFromKafka.status).toBe(400);
    expect(idFromKafka.body.details.issues).toEqual([{ path: 'mode', message: "'id' is not supported by the kafka source (it supports 'stream')" }]);
    const validated = await s.call('POST', '/api/v1/syncs/validate', {
      token: viewer,
      body: sqliteSync('contract', { source: { ...kafka, table: 'x' }, mode: 'stream' }),
    });
    expect(validated.body.details.issues).toEqual([{ path: 'source.table', message: 'is not used by the kafka source' }]);
    expect((await s.call('GET', '/api/v1/syncs/contract', { token: viewer })).status).toBe(404);

    const catalogue = await s.call('GET', '/api/v1/connectors', { token: viewer });
    expect(catalogue.status).toBe(200);
    expect(catalogue.body.map((c: { kind: string }) => c.kind)).toEqual(['postgres', 'mysql', 'sqlite', 'mssql', 'mongodb', 'kafka', 's3', 'http']);
    const served = catalogue.body.find((c: { kind: string }) => c.kind === 'kafka');
    expect(served.roles.source).toMatchObject({ fields: ['topic', 'columns'], required: ['topic'], modes: ['stream'] });
    expect(served.roles.source.options.properties.startFrom).toMatchObject({ enum: ['earliest', 'latest'], default: 'earliest' });
    expect(served.roles.destination.options.properties.startFrom).toBeUndefined();
    // The answer's schema drops nothing of the catalogue (each option's JSON Schema keeps every keyword).
    expect(catalogue.body).toEqual(JSON.parse(JSON.stringify(Object.values(CONNECTOR_SPECS).map(describeConnector))));
  });

  it('masks inline secrets, stores them sealed, and keeps them when the mask comes back', async () => {
    const created = await s.call('POST', '/api/v1/syncs', { token: operator, body: pgSync('pg') });
    expect(created.status).toBe(201);
    expect(created.text).not.toContain(PG_PASSWORD);
    expect(created.body.source.connection.password).toBe('********');
    expect(created.body.destination.connection.url).toBe('postgres://idra:********@dw.internal:5432/dw');
    const raw = (await s.app.idra.etcd.ns.get('syncs/pg').string())!;
    expect(raw).not.toContain(PG_PASSWORD);
    expect(raw).toContain('enc:v1:');

    // Send back what GET returned: the secrets stay. A new host with a masked password is refused
    // (the stored password would go to a server the client chose): the password must be sent again.
    const got = (await s.call('GET', '/api/v1/syncs/pg', { token: viewer })).body;
    const moved = structuredClone(got);
    moved.destination.connection.url = got.destination.connection.url.replace('dw.internal', 'dw2.internal');
    const refused = await s.call('PUT', '/api/v1/syncs/pg', { token: operator, body: moved });
    expect(refused.status).toBe(400);
    expect(refused.body.code).toBe('IDRA_ERR_SECRETS_TARGET_CHANGED');
    expect(refused.body.details.issues.map((i: { path: string }) => i.path)).toEqual(['destination.connection.url']);
    got.batchSize = 10;
    expect((await s.call('PUT', '/api/v1/syncs/pg', { token: operator, body: got })).status).toBe(200);
    let resolved = await stores.resolveSync((await stores.getSync('pg'))!);
    expect(resolved.source.connection.password).toBe(PG_PASSWORD);
    expect(resolved.destination.connection.url).toBe(`postgres://idra:${PG_PASSWORD}@dw.internal:5432/dw`);
    expect(resolved.batchSize).toBe(10);
    moved.destination.connection.url = `postgres://idra:${PG_PASSWORD}@dw2.internal:5432/dw`;
    expect((await s.call('PUT', '/api/v1/syncs/pg', { token: operator, body: moved })).status).toBe(200);
    resolved = await stores.resolveSync((await stores.getSync('pg'))!);
    expect(resolved.destination.connection.url).toBe(`postgres://idra:${PG_PASSWORD}@dw2.internal:5432/dw`);

    const maskedNew = await s.call('POST', '/api/v1/syncs', { token: operator, body: { ...got, id: 'pg-masked' } });
    expect(maskedNew.status).toBe(400);
    expect(maskedNew.body.code).toBe('IDRA_ERR_SECRETS_MASKED');
    expect(maskedNew.body.details.issues.map((i: { path: string }) => i.path)).toEqual(['source.connection.password', 'destination.connection.url']);

    const dup = await s.call('POST', '/api/v1/syncs/pg/duplicate', { token: operator, body: { id: 'pg-copy' } });
    expect(dup.status).toBe(201);
    expect(dup.body).toMatchObject({ id: 'pg-copy', enabled: false });
    expect((await stores.resolveSync((await stores.getSync('pg-copy'))!)).source.connection.password).toBe(PG_PASSWORD);
    expect((await s.call('POST', '/api/v1/syncs/pg/duplicate', { token: operator, body: { id: 'pg-copy' } })).status).toBe(409);
  });

  it('refuses to store secrets when IDRA_SECRET_KEY is not set', async () => {
    const plain = await startTestServer({ secretKey: undefined });
    try {
      const r = await plain.call('POST', '/api/v1/syncs', { token: plain.tokens.operator, body: pgSync('pg') });
      expect(r.status).toBe(400);
      expect(r.body.code).toBe('IDRA_ERR_SECRETS_KEY_MISSING');
      expect(r.body.message).toMatch(/IDRA_SECRET_KEY/);
      expect(r.text).not.toContain(PG_PASSWORD);
      expect((await plain.call('POST', '/api/v1/syncs', { token: plain.tokens.operator, body: sqliteSync('no-secret') })).status).toBe(201);
    } finally {
      await plain.close();
    }
  });

  it('pauses and resumes (enabled false/true)', async () => {
    const paused = await s.call('POST', '/api/v1/syncs/orders/pause?wait=true', { token: operator });
    expect(paused.status).toBe(200);
    expect(paused.body.enabled).toBe(false);
    expect((await stores.getSync('orders'))!.enabled).toBe(false);
    expect((await s.call('POST', '/api/v1/syncs/orders/resume', { token: operator, body: {} })).body.enabled).toBe(true);
    expect((await s.call('POST', '/api/v1/syncs/missing/pause', { token: operator })).status).toBe(404);
  });

  it('data sources: CRUD with masked secrets, in-use protection, connection tests', async () => {
    const dir = await tempDir('api-ds-');
    const file = join(dir, 'ok.db');
    new Database(file).close();
    const pgUrl = new URL(inject('pgUrl'));
    pgUrl.password = DS_PASSWORD;
    const ds = { id: 'warehouse', name: 'Warehouse', connector: 'postgres', connection: { url: pgUrl.toString() } };
    const created = await s.call('POST', '/api/v1/datasources', { token: operator, body: ds });
    expect(created.status).toBe(201);
    expect(created.text).not.toContain(DS_PASSWORD);
    expect((await s.call('POST', '/api/v1/datasources', { token: operator, body: ds })).status).toBe(409);
    expect((await s.call('POST', '/api/v1/datasources', { token: viewer, body: { ...ds, id: 'v' } })).status).toBe(403);
    const listed = await s.call('GET', '/api/v1/datasources', { token: viewer });
    expect(listed.body).toHaveLength(1);
    expect(listed.text).not.toContain(DS_PASSWORD);

    const tested = await s.call('POST', '/api/v1/datasources/warehouse/test', { token: operator });
    expect(tested.body).toMatchObject({ ok: true, connector: 'postgres' });
    expect((await s.call('POST', '/api/v1/datasources/warehouse/test', { token: viewer })).status).toBe(403);
    // Unsaved: the mask takes the stored secret; a wrong port reports the driver's error.
    const masked = (await s.call('GET', '/api/v1/datasources/warehouse', { token: viewer })).body;
    expect((await s.call('POST', '/api/v1/datasources/test', { token: operator, body: masked })).body.ok).toBe(true);
    const broken = await s.call('POST', '/api/v1/datasources/test', {
      token: operator,
      body: { id: 'tmp', connector: 'sqlite', connection: { file: join(dir, 'missing.db') } },
    });
    expect(broken.body.ok).toBe(false);
    expect(broken.body.error).toMatch(/open|exist/i);
    expect(
      (await s.call('POST', '/api/v1/datasources/test', { token: operator, body: { id: 'lite', connector: 'sqlite', connection: { file } } })).body.ok,
    ).toBe(true);

    // PUT with the mask keeps the secret.
    expect((await s.call('PUT', '/api/v1/datasources/warehouse', { token: operator, body: { ...masked, name: 'Renamed' } })).body.name).toBe('Renamed');
    expect((await stores.getDataSource('warehouse'))!.connection.url).toMatch(/^enc:v1:/);
    expect((await s.call('POST', '/api/v1/datasources/warehouse/test', { token: operator })).body.ok).toBe(true);

    // In use by a sync: cannot be deleted.
    await s.call('POST', '/api/v1/syncs', {
      token: operator,
      body: { ...sqliteSync('uses-ds'), source: { connector: 'postgres', dataSourceId: 'warehouse', table: 'orders' } },
    });
    const inUse = await s.call('DELETE', '/api/v1/datasources/warehouse', { token: operator });
    expect(inUse.status).toBe(409);
    expect(inUse.body.details.syncs).toEqual(['uses-ds']);
    await s.call('DELETE', '/api/v1/syncs/uses-ds', { token: operator });
    expect((await s.call('DELETE', '/api/v1/datasources/warehouse', { token: operator })).status).toBe(204);
    expect((await s.call('GET', '/api/v1/datasources/warehouse', { token: viewer })).body.code).toBe('IDRA_ERR_DATA_SOURCE_NOT_FOUND');
  });

  it('exports and imports (Idra and Go Idra formats), all or nothing', async () => {
    const exported = await s.call('GET', '/api/v1/export', { token: viewer });
    expect(exported.status).toBe(200);
    expect(exported.text).not.toContain(PG_PASSWORD);
    expect(exported.body.syncs.map((x: { id: string }) => x.id)).toEqual(expect.arrayContaining(['orders', 'pg']));
    const one = await s.call('GET', '/api/v1/export?ids=pg', { token: viewer });
    expect(one.body.syncs).toHaveLength(1);

    // Back into the same cluster: conflicts without overwrite, secrets kept with it.
    const clash = await s.call('POST', '/api/v1/import', { token: operator, body: exported.body });
    expect(clash.status).toBe(409);
    expect(clash.body.details.syncs).toEqual(expect.arrayContaining(['orders', 'pg']));
    const again = await s.call('POST', '/api/v1/import?overwrite=true', { token: operator, body: exported.body });
    expect(again.status).toBe(200);
    expect(again.body.syncs.updated).toEqual(expect.arrayContaining(['orders', 'pg']));
    expect((await stores.resolveSync((await stores.getSync('pg'))!)).source.connection.password).toBe(PG_PASSWORD);

    // A bad document writes nothing and names the field.
    const bad = await s.call('POST', '/api/v1/import', { token: operator, body: [sqliteSync('good-one'), sqliteSync('bad-one', { batchSize: 0 })] });
    expect(bad.status).toBe(400);
    expect(bad.body.details.issues[0].path).toBe('[1].batchSize');
    expect((await s.call('GET', '/api/v1/syncs/good-one', { token: viewer })).status).toBe(404);

    const goSync = {
      sync_name: 'Go orders',
      mode: 'IdField',
      source_connector: {
        id: 'order_id',
        connector_source_type: 'PostgresGORM',
        connection_string: `host=db user=idra password='${PG_PASSWORD}' dbname=shop port=5432`,
        table: 'orders',
        start_offset: 1234,
        polling_time: 2,
      },
      destination_connector: {
        id: 'order_id',
        connector_source_type: 'PostgresGORM',
        connection_string: `postgres://idra:${PG_PASSWORD}@dw:5432/dw`,
        table: 'orders',
        save_mode: 'Upsert',
      },
    };
    const go = await s.call('POST', '/api/v1/import', { token: operator, body: [goSync] });
    expect(go.status).toBe(200);
    expect(go.body).toMatchObject({
      format: 'go-idra',
      dryRun: false,
      syncs: { created: ['Go-orders'] },
      offsetsSeeded: ['Go-orders'],
      report: [{ id: 'Go-orders', outcome: 'importable' }],
    });
    expect(go.text).not.toContain(PG_PASSWORD);
    const imported = await s.call('GET', '/api/v1/syncs/Go-orders', { token: viewer });
    expect(imported.body).toMatchObject({
      mode: 'id',
      cursorColumn: 'order_id',
      keyColumns: ['order_id'],
      writeMode: 'upsert',
      pollIntervalMs: 2000,
      source: { connection: { password: '********' } },
    });
    const offset = await s.call('GET', '/api/v1/syncs/Go-orders/offset', { token: viewer });
    expect(offset.body.offset).toMatchObject({ kind: 'id', value: '1234' });
  });

  it('status, overview and dead letters', async () => {
    const statuses = new StatusStore(s.app.idra.etcd.ns);
    const status: SyncStatus = newSyncStatus('orders', 'agent-1', {
      state: 'idle',
      rowsCopied: 42,
      rowsSkipped: 1,
      batches: 3,
      position: { kind: 'id', value: '42' },
      lag: { rows: 5 },
    });
    await asSyncOwner(s.app.idra.etcd.ns, 'orders', 'agent-1', async (fence) => {
      await statuses.put(status, fence);
      await statuses.recordDeadLetters(
        'orders',
        [
          { at: new Date().toISOString(), syncId: 'orders', row: { id: '7' }, error: 'too long' },
          { at: new Date().toISOString(), syncId: 'orders', row: { id: '8' }, error: 'too long' },
        ],
        fence,
      );
    });
    expect((await s.call('GET', '/api/v1/syncs/orders/status', { token: viewer })).body).toMatchObject({ state: 'idle', rowsCopied: 42, lag: { rows: 5 } });
    // No agent has reported on pg yet; fresh was deleted, and a status it left (as agents wrote them back before) is neither served nor listed.
    expect((await s.call('GET', '/api/v1/syncs/pg/status', { token: viewer })).body).toMatchObject({ code: 'IDRA_ERR_SYNC_STATUS_NOT_FOUND' });
    await s.app.idra.etcd.ns.put(KEYS.status('fresh')).value(JSON.stringify(newSyncStatus('fresh', 'agent-1', { state: 'stopped' })));
    expect((await s.call('GET', '/api/v1/syncs/fresh/status', { token: viewer })).body).toMatchObject({ code: 'IDRA_ERR_SYNC_NOT_FOUND' });
    expect((await s.call('GET', '/api/v1/status', { token: viewer })).body).toMatchObject([{ syncId: 'orders' }]);
    await statuses.delete('fresh');
    const overview = (await s.call('GET', '/api/v1/overview', { token: viewer })).body as Array<{ id: string }>;
    expect(overview.find((o) => o.id === 'orders')).toMatchObject({
      enabled: true,
      status: { state: 'idle' },
      assignment: null,
      runningOn: null,
      deadLetters: 2,
    });
    expect((await s.call('GET', '/api/v1/errors', { token: viewer })).body).toEqual([{ syncId: 'orders', count: 2 }]);

    // A page, the summary and one sync's row are cut from the same overview by the server.
    const all = overview as Array<{ id: string; health: { health: string } }>;
    expect((await s.call('GET', '/api/v1/syncs/orders/overview', { token: viewer })).body).toEqual(overview.find((o) => o.id === 'orders'));
    expect((await s.call('GET', '/api/v1/syncs/nope/overview', { token: viewer })).body).toMatchObject({ code: 'IDRA_ERR_SYNC_NOT_FOUND' });
    const firstPage = (await s.call('GET', '/api/v1/overview/page?pageSize=1&sort=name', { token: viewer })).body;
    expect(firstPage).toMatchObject({ total: all.length, pages: all.length, page: 1, pageSize: 1, counts: { all: all.length } });
    expect(firstPage.items.map((o: { id: string }) => o.id)).toEqual([[...all].sort((a, b) => a.id.localeCompare(b.id))[0]!.id]);
    const last = (await s.call('GET', `/api/v1/overview/page?pageSize=1&sort=name&page=${all.length + 5}`, { token: viewer })).body;
    expect(last.page).toBe(all.length);
    const found = (await s.call('GET', '/api/v1/overview/page?q=ORDERS&health=healthy', { token: viewer })).body;
    expect(found.items.map((o: { id: string }) => o.id)).toEqual(all.filter((o) => o.id.includes('orders') && o.health.health === 'healthy').map((o) => o.id));
    for (const [query, field] of [
      ['pageSize=500', 'pageSize'],
      [`pageSize=${OVERVIEW_MAX_PAGE_SIZE + 1}`, 'pageSize'],
      ['dir=up', 'dir'],
      ['page=0', 'page'],
      ['health=weird', 'health'],
      ['sort=nope', 'sort'],
      ['unknown=1', 'unknown'],
    ] as const) {
      const refused = await s.call('GET', `/api/v1/overview/page?${query}`, { token: viewer });
      expect(refused.status, query).toBe(400);
      expect(refused.body.message, query).toContain(field);
    }
    expect((await s.call('GET', `/api/v1/overview/page?pageSize=${OVERVIEW_MAX_PAGE_SIZE}`, { token: viewer })).body.pageSize).toBe(OVERVIEW_MAX_PAGE_SIZE);
    const summary = (await s.call('GET', '/api/v1/overview/summary', { token: viewer })).body;
    expect(summary.counts.all).toBe(all.length);
    expect(summary.counts.healthy).toBe(all.filter((o) => o.health.health === 'healthy').length);
    expect(summary.busiest.length).toBe(Math.min(12, all.filter((o) => (o as unknown as { enabled: boolean }).enabled).length));

    const letters = (await s.call('GET', '/api/v1/syncs/orders/errors', { token: viewer })).body as Array<{ id: string; row: unknown }>;
    expect(letters.map((l) => l.row)).toEqual([{ id: '7' }, { id: '8' }]);
    expect((await s.call('DELETE', `/api/v1/syncs/orders/errors/${letters[0]!.id}`, { token: viewer })).status).toBe(403);
    expect((await s.call('DELETE', `/api/v1/syncs/orders/errors/${letters[0]!.id}`, { token: operator })).status).toBe(204);
    expect((await s.call('DELETE', `/api/v1/syncs/orders/errors/${letters[0]!.id}`, { token: operator })).status).toBe(404);
    expect((await s.call('DELETE', '/api/v1/syncs/orders/errors', { token: operator })).body).toEqual({ deleted: 1 });
    expect((await s.call('GET', '/api/v1/errors', { token: admin })).body).toEqual([]);

    // The overview is read again after any change in etcd (it is kept only while nothing changed): the dead
    // letters just deleted and a new status show at once.
    const deadLettersOf = async () =>
      ((await s.call('GET', '/api/v1/overview', { token: viewer })).body as Array<{ id: string; deadLetters: number; status: SyncStatus | null }>).find(
        (o) => o.id === 'orders',
      )!;
    expect((await deadLettersOf()).deadLetters).toBe(0);
    expect(await deadLettersOf()).toEqual(await deadLettersOf());
    await asSyncOwner(s.app.idra.etcd.ns, 'orders', 'agent-1', (fence) => statuses.put({ ...status, rowsCopied: 43 }, fence));
    expect((await deadLettersOf()).status).toMatchObject({ rowsCopied: 43 });
  });
});

describe('a stored sync document that no longer validates', () => {
  it('is reported as a conflict to replace, not as a bad request, and can be replaced or deleted', async () => {
    const s = await startTestServer();
    try {
      await s.app.idra.etcd.ns.put('syncs/broken').value(JSON.stringify({ id: 'broken', mode: 'nonsense' }));
      const got = await s.call('GET', '/api/v1/syncs/broken', { token: s.tokens.viewer });
      expect(got.status).toBe(409);
      expect(got.body.code).toBe('IDRA_ERR_SYNC_STORED_INVALID');
      expect(got.body.details.issues.map((i: { path: string }) => i.path)).toContain('mode');
      expect((await s.call('GET', '/api/v1/syncs', { token: s.tokens.viewer })).body.invalid).toMatchObject([{ id: 'broken' }]);
      expect((await s.call('POST', '/api/v1/syncs', { token: s.tokens.operator, body: sqliteSync('broken') })).body.code).toBe('IDRA_ERR_SYNC_EXISTS');
      expect((await s.call('PUT', '/api/v1/syncs/broken', { token: s.tokens.operator, body: sqliteSync('broken') })).status).toBe(200);
      expect((await s.call('GET', '/api/v1/syncs/broken', { token: s.tokens.viewer })).status).toBe(200);
    } finally {
      await s.close();
    }
  });
});

describe("a source user that cannot see other sessions' transactions: Test connection and the sync check say so before anything runs", () => {
  let s: TestServer;
  let db: Awaited<ReturnType<typeof createDatabase>>;
  let admin: pg.Client;
  let role: TestRole;
  beforeAll(async () => {
    s = await startTestServer();
    db = await createDatabase('postgres', inject('pgUrl'));
    // The superuser's session stays connected: a session of another role than the source's.
    admin = new pg.Client({ connectionString: db.url });
    await admin.connect();
    await admin.query('create table src (id bigint primary key, ts timestamp(6) not null)');
    role = await createPostgresRole(db.url, ['src']);
    const created = await s.call('POST', '/api/v1/datasources', {
      token: s.tokens.operator,
      body: { id: 'restricted', connector: 'postgres', connection: { url: role.url } },
    });
    expect(created.status).toBe(201);
  });
  afterAll(async () => {
    await s.close();
    await role.drop();
    await admin.end();
    await db.drop();
  });

  const sync = (extra: Record<string, unknown> = {}) => ({
    ...sqliteSync('watched'),
    source: { connector: 'postgres', dataSourceId: 'restricted', table: 'src' },
    mode: 'timestamp',
    cursorColumn: 'ts',
    tiebreakerColumn: 'id',
    ...extra,
  });

  it('Test connection names the missing privilege and the statement to run', async () => {
    const tested = await s.call('POST', '/api/v1/datasources/restricted/test', { token: s.tokens.operator });
    expect(tested.body).toMatchObject({ ok: true, transactions: { visible: false, grant: `GRANT pg_read_all_stats TO ${role.name}` } });
    expect(tested.body.transactions.reason).toMatch(/cannot (see|be seen)/);
  });

  it('the sync check reports that the sync would not run, and what to do; with a delay it would run with a warning', async () => {
    const refused = await s.call('POST', '/api/v1/syncs/check', { token: s.tokens.operator, body: sync() });
    expect(refused.status).toBe(200);
    expect(refused.body).toMatchObject({ ok: false, problem: { code: 'IDRA_ERR_CONFIG_WATERMARK_BLIND' } });
    expect(refused.body.problem.message).toContain(`run GRANT pg_read_all_stats TO ${role.name} on the source`);
    const delayed = await s.call('POST', '/api/v1/syncs/check', { token: s.tokens.operator, body: sync({ delayMs: '2s' }) });
    expect(delayed.body.ok).toBe(true);
    expect(delayed.body.warning).toMatch(/only delayMs \(2000 ms\) protects rows committed late$/);
    const acknowledged = await s.call('POST', '/api/v1/syncs/check', { token: s.tokens.operator, body: sync({ watermark: 'delay-only' }) });
    expect(acknowledged.body.ok).toBe(true);
  });

  it('is for operators, and names a bad field like validate', async () => {
    expect((await s.call('POST', '/api/v1/syncs/check', { token: s.tokens.viewer, body: sync() })).status).toBe(403);
    const bad = await s.call('POST', '/api/v1/syncs/check', { token: s.tokens.operator, body: sync({ watermark: 'never' }) });
    expect(bad.status).toBe(400);
    expect(bad.body.details.issues).toEqual([{ path: 'watermark', message: 'must be one of "transactions", "delay-only"' }]);
  });
});
