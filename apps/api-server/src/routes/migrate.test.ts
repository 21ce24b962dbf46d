import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestServer, type TestServer } from '../testing/harness.ts';

const PASSWORD = 'Go-Db-Pass-9931';

/** A Go Idra sync (its data model's field names), MariaDB to MariaDB. */
const goSync = (id: string, mode: string, extra: { source?: object; destination?: object } = {}) => ({
  id,
  sync_name: `Go ${id}`,
  mode,
  disabled: false,
  source_connector: {
    id: 'id',
    connector_name: `${id}-src`,
    connector_source_type: 'MysqlGORM',
    connection_string: `app:${PASSWORD}@tcp(db.internal:3306)/shop?charset=utf8mb4&parseTime=True&loc=UTC`,
    table: 'orders',
    timestamp_field: 'updated_at',
    ...extra.source,
  },
  destination_connector: {
    id: 'id',
    connector_name: `${id}-dst`,
    connector_source_type: 'MysqlGORM',
    connection_string: `app:${PASSWORD}@tcp(dw.internal:3306)/dw?charset=utf8mb4`,
    table: 'orders',
    save_mode: 'Insert',
    ...extra.destination,
  },
});

describe('Go Idra import and migration through the API', () => {
  let s: TestServer;
  beforeAll(async () => {
    s = await startTestServer();
  });
  afterAll(async () => s.close());

  it('a dry run reports every sync and field, refusals included, and writes nothing', async () => {
    const doc = [goSync('dry-a', 'IdField'), goSync('dry-b', 'IdField', { destination: { connector_source_type: 'RabbitMQConnector' } })];
    const r = await s.call('POST', '/api/v1/import?dryRun=true', { token: s.tokens.operator, body: doc });
    expect(r.status).toBe(200);
    expect(r.body).toMatchObject({ format: 'go-idra', dryRun: true, syncs: { created: ['dry-a'] }, refused: ['dry-b'] });
    const [a, b] = r.body.report as Array<{ outcome: string; fields: Array<{ field: string; outcome: string; detail: string }> }>;
    expect(a!.outcome).toBe('importable');
    expect(a!.fields).toEqual(
      expect.arrayContaining([{ field: 'source_connector.id', outcome: 'mapped', detail: expect.stringContaining("cursorColumn 'id'") }]),
    );
    expect(b!.fields).toEqual(
      expect.arrayContaining([{ field: 'destination_connector.connector_source_type', outcome: 'refused', detail: expect.stringContaining('RabbitMQ') }]),
    );
    expect(r.text).not.toContain(PASSWORD);
    expect((await s.call('GET', '/api/v1/syncs/dry-a', { token: s.tokens.viewer })).status).toBe(404);
  });

  it('refuses the whole import when a sync cannot be imported faithfully, naming the fields; skipRefused imports the rest', async () => {
    const doc = [goSync('imp-a', 'IdField'), goSync('imp-b', 'WriteOnly')];
    const refused = await s.call('POST', '/api/v1/import', { token: s.tokens.operator, body: doc });
    expect(refused.status).toBe(400);
    expect(refused.body.code).toBe('IDRA_ERR_IMPORT_REFUSED');
    expect(refused.body.details.issues).toEqual([{ path: '[1].mode', message: expect.stringContaining('no copy in this mode with a SQL source') }]);
    expect((await s.call('GET', '/api/v1/syncs/imp-a', { token: s.tokens.viewer })).status).toBe(404);
    const partial = await s.call('POST', '/api/v1/import?skipRefused=true', { token: s.tokens.operator, body: doc });
    expect(partial.status).toBe(200);
    expect(partial.body).toMatchObject({ syncs: { created: ['imp-a'] }, refused: ['imp-b'] });
    expect((await s.call('GET', '/api/v1/syncs/imp-a', { token: s.tokens.viewer })).body).toMatchObject({
      keyColumns: ['id'],
      writeMode: 'insert',
      onError: 'skip',
    });
  });

  it('migrates syncs with their offsets (admin only): ids exact, milliseconds in the zone stated, unused keys listed, offsets Idra has kept', async () => {
    const body = {
      syncs: [
        goSync('mig-id', 'IdField'),
        goSync('mig-ts', 'Timestamp', { source: { connection_string: `app:${PASSWORD}@tcp(db.internal)/shop?loc=Local` } }),
        goSync('mig-dest', 'LastDestinationId'),
      ],
      offsets: { 'mig-id': '9007199254740993', 'mig-ts': String(Date.UTC(2024, 0, 15, 8, 0, 0, 250)), 'old-sync': '17' },
    };
    for (const token of [s.tokens.viewer, s.tokens.operator]) expect((await s.call('POST', '/api/v1/migrate/go-idra', { token, body })).status).toBe(403);

    const unstated = await s.call('POST', '/api/v1/migrate/go-idra', { token: s.tokens.admin, body });
    expect(unstated.status).toBe(400);
    expect(unstated.body.details.issues).toEqual([{ path: '[1].(offset)', message: expect.stringContaining('--time-zone') }]);
    const badZone = await s.call('POST', '/api/v1/migrate/go-idra', { token: s.tokens.admin, body: { ...body, timeZone: 'Mars/Olympus' } });
    expect(badZone.status).toBe(400);
    expect(badZone.body.details.issues[0].path).toBe('timeZone');

    const dry = await s.call('POST', '/api/v1/migrate/go-idra', { token: s.tokens.admin, body: { ...body, timeZone: 'Europe/Rome', dryRun: true } });
    expect(dry.status).toBe(200);
    expect(dry.body.report[1].offset).toMatchObject({
      outcome: 'converted',
      position: { kind: 'timestamp', value: '2024-01-15 09:00:00.249', tiebreaker: null },
    });
    expect((await s.call('GET', '/api/v1/syncs/mig-id/offset', { token: s.tokens.viewer })).status).toBe(404);

    const done = await s.call('POST', '/api/v1/migrate/go-idra', { token: s.tokens.admin, body: { ...body, timeZone: 'Europe/Rome' } });
    expect(done.status).toBe(200);
    expect(done.body).toMatchObject({ syncs: { created: ['mig-id', 'mig-ts', 'mig-dest'] }, offsetsSet: ['mig-id', 'mig-ts'], unusedOffsets: ['old-sync'] });
    expect(done.body.report[2].offset).toMatchObject({ outcome: 'none', detail: expect.stringContaining("destination's newest row") });
    expect((await s.call('GET', '/api/v1/syncs/mig-id/offset', { token: s.tokens.viewer })).body.offset).toMatchObject({
      kind: 'id',
      value: '9007199254740993',
    });
    const [created] = (await s.call('GET', '/api/v1/syncs/mig-id/history', { token: s.tokens.viewer })).body;
    expect(created).toMatchObject({ action: 'created', by: 'admin', via: 'migrate', reason: "from Go Idra sync 'mig-id'" });
    const history = await s.call('GET', '/api/v1/syncs/mig-id/offset/history', { token: s.tokens.viewer });
    expect(history.body).toEqual([
      expect.objectContaining({
        old: null,
        new: { kind: 'id', value: '9007199254740993' },
        reason: expect.stringContaining('/offsets/mig-id = 9007199254740993'),
      }),
    ]);

    // Again, after the sync moved on in Idra: its offset is kept.
    await s.call('POST', '/api/v1/syncs/mig-id/pause', { token: s.tokens.operator, body: {} });
    await s.call('PUT', '/api/v1/syncs/mig-id/offset', {
      token: s.tokens.admin,
      body: { position: { kind: 'id', value: '9007199254741000' }, reason: 'moved on in Idra' },
    });
    const again = await s.call('POST', '/api/v1/migrate/go-idra', { token: s.tokens.admin, body: { ...body, timeZone: 'Europe/Rome', overwrite: true } });
    expect(again.status).toBe(200);
    expect(again.body.offsetsSet).toEqual([]);
    expect(again.body.report[0].offset.detail).toMatch(/Idra already has an offset/);
    // A Go version that would move the offset Idra has is refused for that sync.
    const moved = { ...body, syncs: [goSync('mig-id', 'IdField', { source: { id: 'order_no' } })] };
    const refused = await s.call('POST', '/api/v1/migrate/go-idra', { token: s.tokens.admin, body: { ...moved, overwrite: true, dryRun: true } });
    expect(refused.body.report[0]).toMatchObject({
      outcome: 'refused',
      fields: expect.arrayContaining([{ field: '(idra) offset', outcome: 'refused', detail: expect.stringContaining("cursorColumn 'id' → 'order_no'") }]),
    });
    expect((await s.call('GET', '/api/v1/syncs/mig-id/offset', { token: s.tokens.viewer })).body.offset.value).toBe('9007199254741000');
  });
});
