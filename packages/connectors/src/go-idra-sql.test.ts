import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { tempDir } from '@idra/testkit';
import { createTestDb, runOnce, type TestDb } from './testing/fixtures.ts';
import { goMysqlDsn, goPostgresDsn, importedGoSync } from './testing/go-idra.ts';

let src: TestDb, dst: TestDb, maria: TestDb;

/** A Go Idra connector (its JSON field names) on a test database. */
const pgConnector = (db: TestDb, table: string, extra: Record<string, unknown> = {}) => ({
  id: 'agency_id',
  connector_name: table,
  connector_source_type: 'PostgresGORM',
  connection_string: goPostgresDsn(db),
  database: '',
  query: '',
  table,
  polling_time: 0,
  timestamp_field: 'last_update',
  timestamp_field_format: '',
  max_record_batch_size: 7,
  save_mode: '',
  start_offset: 0,
  token: '',
  ...extra,
});
const goSync = (id: string, mode: string, source: object, destination: object, extra: Record<string, unknown> = {}) => ({
  id,
  sync_name: id,
  mode,
  disabled: false,
  source_connector: source,
  destination_connector: destination,
  ...extra,
});

const ids = async (db: TestDb, table: string, key: string[]) => (await db.rows(table, key)).map((r) => key.map((k) => String(r[k])).join('/'));

beforeAll(async () => {
  [src, dst, maria] = await Promise.all([createTestDb('postgres'), createTestDb('postgres'), createTestDb('mysql')]);
  await src.exec('create schema analytics');
  await src.exec('create table analytics.agencies (agency_id bigint primary key, name text not null, last_update timestamp(6) not null)');
  // Pairs of rows share a timestamp: Go's strictly-after read could skip the second of a pair at a batch boundary.
  await src.exec(
    `insert into analytics.agencies select g, 'agency ' || g, timestamp '2024-05-01 10:00:00' + (g / 2) * interval '1 second' from generate_series(1, 40) g`,
  );
  await src.exec('create table lines (order_id int, line_no int, qty int not null, changed_at timestamptz(6) not null, primary key (order_id, line_no))');
  await src.exec(
    `insert into lines select o, l, o * l, timestamptz '2024-05-01 10:00:00+00' + (o * 10 + l) * interval '1 millisecond' from generate_series(1, 8) o, generate_series(1, 4) l`,
  );
  for (const t of ['agencies_ldi', 'agencies_q']) await dst.exec(`create table ${t} (agency_id bigint primary key, name text, last_update timestamp(6))`);
  await dst.exec('create table lines_ldt (order_id int, line_no int, qty int, changed_at timestamptz(6), primary key (order_id, line_no))');
  // What an earlier Go run left: the destination modes resume after it.
  await dst.exec(
    `insert into agencies_ldi select g, 'agency ' || g, timestamp '2024-05-01 10:00:00' + (g / 2) * interval '1 second' from generate_series(1, 11) g`,
  );
  await maria.exec('create table finanziamento (id bigint primary key, importo decimal(18,2) not null, nota varchar(40))');
  await maria.exec(
    'insert into finanziamento (id, importo, nota) values ' + Array.from({ length: 25 }, (_, i) => `(${i + 1}, ${i + 1}.5, 'n${i + 1}')`).join(', '),
  );
});

afterAll(async () => {
  await Promise.all([src?.drop(), dst?.drop(), maria?.drop()]);
});

describe('Go Idra documents run end to end (PostgreSQL and MariaDB, GORM connection strings)', () => {
  it('IdField, Timestamp, LastDestinationId: key and cursor from the connector id, schema.table split, every row copied once', async () => {
    const cases = [
      { id: 'go-id', mode: 'IdField', table: 'agencies_id', expected: 'id' },
      { id: 'go-ts', mode: 'Timestamp', table: 'agencies_ts', expected: 'timestamp', source: { timestamp_field_format: '2006-01-02 15:04:05' } },
      { id: 'go-ldi', mode: 'LastDestinationId', table: 'agencies_ldi', expected: 'destination-id', destination: { save_mode: 'Insert' } },
    ];
    for (const c of cases) {
      const { sync, report } = importedGoSync(goSync(c.id, c.mode, pgConnector(src, 'analytics.agencies', c.source), pgConnector(dst, c.table, c.destination)));
      expect(sync).toMatchObject({
        mode: c.expected,
        keyColumns: ['agency_id'],
        cursorColumn: c.mode === 'Timestamp' ? 'last_update' : 'agency_id',
        source: { schema: 'analytics', table: 'agencies' },
        batchSize: 7,
      });
      expect(report.fields.find((f) => f.field === 'source_connector.connection_string.TimeZone')?.outcome).toBe('ignored');
      const { status } = await runOnce(sync, await tempDir('idra-go-'));
      expect(status.lastError, status.lastError?.message).toBeUndefined();
      expect(await ids(dst, c.table, ['agency_id'])).toEqual(await ids(src, 'analytics.agencies', ['agency_id']));
    }
  });

  it('LastDestinationTimestamp with a composite key and FullWithId (upsert for an empty save_mode), both paging by the key', async () => {
    const lines = (table: string, extra: Record<string, unknown> = {}) =>
      pgConnector(dst, table, { id: 'order_id,line_no', timestamp_field: 'changed_at', ...extra });
    const ldt = importedGoSync(goSync('go-ldt', 'LastDestinationTimestamp', { ...lines('lines'), connection_string: goPostgresDsn(src) }, lines('lines_ldt')));
    expect(ldt.sync).toMatchObject({ mode: 'destination-timestamp', keyColumns: ['order_id', 'line_no'], tiebreakerColumn: 'order_id', writeMode: 'upsert' });
    expect((await runOnce(ldt.sync, await tempDir('idra-go-'))).status.rowsCopied).toBe(32);
    expect(await ids(dst, 'lines_ldt', ['order_id', 'line_no'])).toEqual(await ids(src, 'lines', ['order_id', 'line_no']));

    const full = importedGoSync(goSync('go-full', 'FullWithId', { ...lines('lines'), connection_string: goPostgresDsn(src) }, lines('lines_full')));
    expect(full.sync).toMatchObject({ mode: 'full', keyColumns: ['order_id', 'line_no'], writeMode: 'upsert' });
    expect((await runOnce(full.sync, await tempDir('idra-go-'))).status.rowsCopied).toBe(32);
    expect(await dst.count('lines_full')).toBe(32);
  });

  it('a query source with an empty source id (the key comes from the destination), as Go sample configs have it', async () => {
    const { sync } = importedGoSync(
      goSync(
        'go-query',
        'LastDestinationTimestamp',
        pgConnector(src, '', { id: '', query: 'SELECT * FROM analytics.agencies' }),
        pgConnector(dst, 'agencies_q', { save_mode: 'Upsert' }),
      ),
    );
    expect(sync).toMatchObject({ source: { query: 'SELECT * FROM analytics.agencies' }, keyColumns: ['agency_id'], cursorColumn: 'last_update' });
    expect((await runOnce(sync, await tempDir('idra-go-'))).status.rowsCopied).toBe(40);
    expect(await dst.count('agencies_q')).toBe(40);
  });

  it('MysqlGORM with charset/parseTime/loc, a huge max_record_batch_size and disabled: true', async () => {
    const my = (table: string, extra: Record<string, unknown> = {}) => ({
      id: 'id',
      connector_name: 'sample',
      connector_source_type: 'MysqlGORM',
      connection_string: goMysqlDsn(maria),
      table,
      max_record_batch_size: 9223372036854775807,
      save_mode: 'Insert',
      parameters: null,
      ...extra,
    });
    const { sync, report } = importedGoSync(
      goSync('go-my', 'IdField', my('finanziamento'), my('finanziamento_copy', { max_record_batch_size: 0 }), { disabled: true }),
    );
    expect(sync).toMatchObject({
      enabled: false,
      batchSize: 1_000_000,
      writeMode: 'insert',
      destination: { connection: { host: expect.any(String), database: expect.any(String) } },
    });
    expect(report.fields.filter((f) => f.field.startsWith('source_connector.connection_string.')).map((f) => [f.field.split('.').pop(), f.outcome])).toEqual([
      ['charset', 'mapped'],
      ['parseTime', 'ignored'],
      ['loc', 'converted'],
    ]);
    expect(report.fields.find((f) => f.field === 'destination_connector.parameters')?.outcome).toBe('ignored');
    expect((await runOnce(sync, await tempDir('idra-go-'))).status.rowsCopied).toBe(25);
    expect((await maria.rows('finanziamento_copy', ['id'])).map((r) => [String(r.id), String(r.importo)])).toEqual(
      Array.from({ length: 25 }, (_, i) => [String(i + 1), `${i + 1}.50`]),
    );
  });
});
