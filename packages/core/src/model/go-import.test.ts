import { describe, expect, it } from 'vitest';
import { importGoIdra, isGoIdraFormat, refusedIssues, type GoIdraSync, type ImportedGoSync } from './go-import.ts';
import { migrateGoOffset, wallClock } from './go-offsets.ts';
import { normalizeSync, validateSyncConfig } from './sync.ts';

const PG_PASSWORD = 'Pg-Pass-4711';
const MY_PASSWORD = 'My;Pass!@83';
const TOKEN = 'Bearer-Token-0815';

/** Go Idra documents in the shapes of its data model and sample configs (written for these tests). */
const pg = (extra: Record<string, unknown> = {}) => ({
  id: 'agency_id',
  connector_name: 'warehouse',
  connector_source_type: 'PostgresGORM',
  connection_string: `host=db.internal user=sync password=${PG_PASSWORD} dbname=sales port=5433 sslmode=disable TimeZone=Europe/Rome`,
  database: '',
  query: '',
  table: 'analytics.agencies',
  polling_time: 0,
  timestamp_field: 'last_update',
  timestamp_field_format: '',
  max_record_batch_size: 5000,
  save_mode: '',
  start_offset: 0,
  token: '',
  ...extra,
});
const mysql = (extra: Record<string, unknown> = {}) => ({
  id: 'id',
  connector_name: 'shop',
  connector_source_type: 'MysqlGORM',
  connection_string: `app:${MY_PASSWORD}@tcp(mariadb.internal:3307)/shop?charset=utf8mb4&parseTime=True&loc=Local`,
  table: 'orders',
  polling_time: 60,
  timestamp_field: '',
  max_record_batch_size: 0,
  save_mode: 'Insert',
  ...extra,
});
const sync = (source: object, destination: object, mode: string, extra: Record<string, unknown> = {}): GoIdraSync =>
  ({
    id: 'b3016da2-594e-4c61-a65c-5ab8b9f9124f',
    sync_name: 'Agencies',
    source_connector: source,
    destination_connector: destination,
    mode,
    disabled: false,
    ...extra,
  }) as GoIdraSync;

const one = (doc: GoIdraSync): ImportedGoSync => importGoIdra([doc])[0]!;
const line = (s: ImportedGoSync, field: string) => s.report.fields.filter((f) => f.field === field);
const outcome = (s: ImportedGoSync, field: string) => line(s, field).map((f) => f.outcome);

describe('Go Idra import: keys, modes and write modes as Go ran them', () => {
  it('recognizes the format', () => {
    expect(isGoIdraFormat([sync(pg(), pg(), 'IdField')])).toBe(true);
    expect(isGoIdraFormat({ syncs: [] })).toBe(false);
  });

  it("takes the key column from the connector's id field, not an id_field Go never had", () => {
    const s = one(sync(pg(), pg({ id_field: 'other' }), 'LastDestinationTimestamp'));
    expect(s.report.outcome).toBe('importable');
    expect(s.config).toMatchObject({
      id: 'b3016da2-594e-4c61-a65c-5ab8b9f9124f',
      mode: 'destination-timestamp',
      cursorColumn: 'last_update',
      keyColumns: ['agency_id'],
      source: {
        connector: 'postgres',
        schema: 'analytics',
        table: 'agencies',
        connection: { host: 'db.internal', port: 5433, user: 'sync', database: 'sales' },
      },
    });
    expect(s.config!.tiebreakerColumn).toBeUndefined(); // the single key column is Idra's default tiebreaker
    expect(line(s, 'destination_connector.id_field')[0]).toMatchObject({ outcome: 'ignored', detail: expect.stringContaining("connector's id") });

    const byId = one(sync(pg({ id: 'agency_id' }), pg({ id: 'agency_id' }), 'IdField'));
    expect(byId.config).toMatchObject({ mode: 'id', cursorColumn: 'agency_id', keyColumns: ['agency_id'] });
  });

  it('leaves the options for deletes and schema changes at their defaults: Go had none (schemaChanges evolve, deletes none)', () => {
    for (const mode of ['IdField', 'Timestamp', 'FullWithId']) {
      const s = one(sync(pg(), pg(), mode));
      expect(s.report.outcome).toBe('importable');
      for (const field of ['schemaChanges', 'deletes', 'softDeleteColumn', 'reconcileEvery', 'maxDeleteFraction']) expect(s.config).not.toHaveProperty(field);
      expect(normalizeSync(validateSyncConfig(s.config))).toMatchObject({
        schemaChanges: 'evolve',
        deletes: 'none',
        softDeleteColumn: undefined,
        reconcileEveryMs: undefined,
        maxDeleteFraction: 0.5,
      });
    }
  });

  it('splits a composite key for the upsert/MERGE target, refuses it as an id cursor, and says what a tiebreaker of its first column risks', () => {
    const merge = one(
      sync(
        mysql({ id: 'order_id,line_no' }),
        {
          ...mysql({ id: 'order_id, line_no' }),
          connector_source_type: 'MssqlGORM',
          connection_string: 'sqlserver://sa:Pw-1@mssql.internal:1433?database=dw&encrypt=disable',
          save_mode: 'Insert',
        },
        'FullWithId',
      ),
    );
    expect(merge.report.outcome).toBe('importable');
    expect(merge.config).toMatchObject({
      mode: 'full',
      keyColumns: ['order_id', 'line_no'],
      writeMode: 'upsert',
      destination: { connector: 'mssql', connection: { host: 'mssql.internal', port: 1433, database: 'dw' } },
    });
    expect(line(merge, 'destination_connector.save_mode')[0]!.detail).toMatch(/always MERGEd/);

    const cursor = one(sync(mysql({ id: 'order_id,line_no' }), mysql({ id: 'order_id,line_no' }), 'IdField'));
    expect(cursor.report.outcome).toBe('refused');
    expect(line(cursor, 'source_connector.id')[0]!.detail).toMatch(/follows one column/);

    const ts = one(sync(mysql({ id: 'order_id,line_no', timestamp_field: 'changed_at' }), mysql({ id: 'order_id,line_no' }), 'Timestamp'));
    expect(ts.config).toMatchObject({ mode: 'timestamp', cursorColumn: 'changed_at', tiebreakerColumn: 'order_id', keyColumns: ['order_id', 'line_no'] });
    expect(line(ts, 'destination_connector.id').some((f) => /not told apart/.test(f.detail))).toBe(true);
  });

  it('upserts for anything but exactly "Insert", as Go did', () => {
    const mode = (save: string) => one(sync(pg(), pg({ save_mode: save }), 'IdField')).config!.writeMode;
    expect(mode('')).toBe('upsert');
    expect(mode('Upsert')).toBe('upsert');
    expect(mode('insert')).toBe('upsert');
    expect(mode('Insert')).toBe('insert');
    expect(line(one(sync(pg(), pg({ save_mode: '' }), 'IdField')), 'destination_connector.save_mode')[0]).toMatchObject({
      outcome: 'converted',
      detail: expect.stringContaining('anything but exactly "Insert"'),
    });
    expect(outcome(one(sync(pg({ save_mode: 'Upsert' }), pg(), 'IdField')), 'source_connector.save_mode')).toEqual(['ignored']);
  });

  it('maps every SQL mode, refuses Default and WriteOnly with a SQL source (Go ran nothing), and maps every mode of a streaming source to stream', () => {
    const modes = {
      IdField: 'id',
      Timestamp: 'timestamp',
      LastDestinationId: 'destination-id',
      LastDestinationTimestamp: 'destination-timestamp',
      FullWithId: 'full',
    };
    for (const [go, idra] of Object.entries(modes)) expect(one(sync(pg(), pg(), go)).config?.mode, go).toBe(idra);
    for (const go of ['Default', 'WriteOnly']) {
      const s = one(sync(pg(), pg(), go));
      expect(s.report.outcome).toBe('refused');
      expect(line(s, 'mode')[0]!.detail).toMatch(/no copy in this mode with a SQL source/);
    }
    expect(line(one(sync(pg(), pg(), 'Sometimes')), 'mode')[0]!.outcome).toBe('refused');
    const kafka = { id: '', connector_name: 'in', connector_source_type: 'KafkaConnector', connection_string: 'kafka-1:9092', table: 'orders' };
    for (const go of ['Default', 'WriteOnly', 'IdField']) {
      const s = one(sync(kafka, pg(), go));
      expect(s.config?.mode, go).toBe('stream');
      expect(line(s, 'mode')[0]).toMatchObject({ outcome: 'converted', detail: expect.stringContaining('ignored the mode') });
    }
  });

  it('imports MongodbConnector, RestConnector and s3JsonConnector (and their older names); refuses RabbitMQ, ChromaDB and immudb with a reason', () => {
    const mongo = {
      id: 'token-key',
      connector_name: 'm',
      connector_source_type: 'MongodbConnector',
      connection_string: 'mongodb://u:p@mongo.internal:27017/?replicaSet=rs0',
      database: 'crm',
      table: 'contacts',
    };
    const fromMongo = one(sync(mongo, { ...mongo, connector_source_type: 'MongodbManager', database: 'copy' }, 'Default'));
    expect(fromMongo.config).toMatchObject({
      mode: 'stream',
      source: { connector: 'mongodb', collection: 'contacts', connection: { url: 'mongodb://u:p@mongo.internal:27017/?replicaSet=rs0', database: 'crm' } },
      destination: { connector: 'mongodb', collection: 'contacts', connection: { database: 'copy' } },
      writeMode: 'insert',
    });

    const rest = {
      id: 'id',
      connector_name: 'api',
      connector_source_type: 'RestConnector',
      connection_string: 'https://api.example.com/v1/items',
      token: TOKEN,
      attributes: { tenant: 'acme' },
    };
    const toRest = one(sync(pg(), { ...rest, attributes: {} }, 'IdField'));
    expect(toRest.config!.destination).toMatchObject({
      connector: 'http',
      connection: { url: 'https://api.example.com/v1/items', password: TOKEN },
      options: { auth: 'bearer', bodyField: '', batchSize: 5000 },
    });
    const fromRest = one(sync(rest, pg(), 'IdField'));
    expect(fromRest.config).toMatchObject({
      mode: 'stream',
      source: { options: { itemsPath: '', cursorParam: 'id', cursorField: 'id', params: { tenant: 'acme' }, auth: 'bearer' } },
    });

    const s3 = { connector_name: 's3', connector_source_type: 's3JsonConnector', connection_string: 'eu-west-1', table: 'exports/agencies/' };
    const toS3 = one(sync(pg(), s3, 'IdField'));
    expect(toS3.config!.destination).toMatchObject({
      connector: 's3',
      bucket: 'exports',
      prefix: 'agencies/',
      connection: { url: 'https://s3.eu-west-1.amazonaws.com' },
      options: { region: 'eu-west-1', format: 'jsonl', pathStyle: false },
    });
    expect(line(toS3, 'destination_connector.connector_source_type').some((f) => /wrote nothing/.test(f.detail))).toBe(true);
    expect(one(sync(pg(), { ...s3, connector_source_type: 'S3' }, 'IdField')).report.outcome).toBe('importable');

    for (const type of ['RabbitMQConnector', 'RabbitMQStreamConnector', 'RabbiMQStreamConnector', 'ChromaDbConnector', 'ImmudbDriver']) {
      const s = one(sync(pg(), { ...pg(), connector_source_type: type, connection_string: 'amqp://guest:guest@localhost:5672/' }, 'IdField'));
      expect(s.report.outcome, type).toBe('refused');
      expect(line(s, 'destination_connector.connector_source_type')[0]!.detail).toMatch(/is not a connector of Idra/);
    }
    expect(line(one(sync({ ...pg(), connector_source_type: 'Oracle' }, pg(), 'IdField')), 'source_connector.connector_source_type')[0]!.detail).toMatch(
      /known: PostgresGORM/,
    );
  });

  it('reads Kafka bootstrap lists host:port (one or several), and refuses what is not one', () => {
    const kafka = (cs: string) => ({ connector_name: 'k', connector_source_type: 'KafkaConnector', connection_string: cs, table: 'events' });
    expect(one(sync(kafka('127.0.0.1:9092'), pg(), 'Default')).config!.source.connection).toEqual({ host: '127.0.0.1', port: 9092 });
    expect(one(sync(kafka('k1:9092, k2:9093'), pg(), 'Default')).config!.source.connection).toEqual({
      host: 'k1',
      port: 9092,
      options: { brokers: ['k1:9092', 'k2:9093'] },
    });
    const bad = one(sync(kafka(`root:${MY_PASSWORD}@tcp(localhost)/db`), pg(), 'Default'));
    expect(bad.report.outcome).toBe('refused');
    expect(line(bad, 'source_connector.connection_string')[0]!.detail).toMatch(/not a list of Kafka brokers/);
    expect(JSON.stringify(bad.report)).not.toContain(MY_PASSWORD);
  });

  it('maps Kafka attributes Go read, and says which it did not', () => {
    const s = one(
      sync(
        {
          connector_name: 'k',
          connector_source_type: 'KafkaConnector',
          connection_string: 'k1:9093',
          table: 't',
          start_offset: 42,
          attributes: {
            'sasl.mechanisms': 'SCRAM-SHA-512',
            'sasl.username': 'u',
            'sasl.password': 'kafka-secret-1',
            'security.protocol': 'SASL_SSL',
            'group.id': 'g',
            'auto.offset.reset': 'smallest',
            'fetch.wait.max.ms': '10',
          },
        },
        {
          connector_name: 'k2',
          connector_source_type: 'KafkaConnector',
          connection_string: 'k1:9093',
          table: 'out',
          id: 'id',
          attributes: { acks: 'all', 'client.id': 'writer' },
        },
        'Default',
      ),
    );
    expect(s.config!.source).toMatchObject({
      connection: { user: 'u', password: 'kafka-secret-1', ssl: true },
      options: { saslMechanism: 'scram-sha-512', startFrom: 'earliest' },
    });
    expect(s.config!.destination).toMatchObject({ topic: 'out', options: { clientId: 'writer' } });
    expect(s.config!.keyColumns).toEqual(['id']);
    expect(s.seed).toEqual({ kind: 'stream', value: { '0': '42' } });
    expect(outcome(s, 'source_connector.attributes.group.id')).toEqual(['ignored']);
    expect(outcome(s, 'source_connector.attributes.fetch.wait.max.ms')).toEqual(['ignored']);
    expect(outcome(s, 'destination_connector.attributes.acks')).toEqual(['ignored']);
    expect(JSON.stringify(s.report)).not.toContain('kafka-secret-1');
  });

  it('reports timestamp_field_format, token, start_offset, DSN parameters and attributes instead of dropping them', () => {
    const source = pg({ timestamp_field_format: '2006-01-02 15:04:05', token: TOKEN, start_offset: 10, attributes: { schema: 'x' } });
    const destination = mysql({ id: 'agency_id', attributes: { anyKey: 'v' } });
    const s = one(sync(source, destination, 'Timestamp'));
    expect(s.report.outcome).toBe('importable');
    expect(outcome(s, 'source_connector.timestamp_field_format')).toEqual(['ignored']);
    expect(outcome(s, 'source_connector.token')).toEqual(['ignored']);
    expect(line(s, 'source_connector.start_offset')[0]).toMatchObject({ outcome: 'ignored', detail: expect.stringContaining('Kafka') });
    expect(outcome(s, 'source_connector.connection_string.TimeZone')).toEqual(['ignored']);
    expect(outcome(s, 'source_connector.attributes.schema')).toEqual(['ignored']);
    expect(outcome(s, 'destination_connector.attributes.anyKey')).toEqual(['ignored']);
    expect(outcome(s, 'destination_connector.connection_string.charset')).toEqual(['mapped']);
    expect(outcome(s, 'destination_connector.connection_string.parseTime')).toEqual(['ignored']);
    expect(outcome(s, 'destination_connector.connection_string.loc')).toEqual(['converted']);
    expect(s.config!.destination.connection).toEqual({ user: 'app', password: MY_PASSWORD, host: 'mariadb.internal', port: 3307, database: 'shop' });
    expect(s.seed).toBeUndefined();
    // Every field the document sets has a line: nothing is dropped without a word.
    for (const [role, doc] of [
      ['source_connector', source],
      ['destination_connector', destination],
    ] as const) {
      for (const [key, value] of Object.entries(doc)) {
        if (value === '' || value === 0) continue;
        expect(
          s.report.fields.some((f) => f.field === `${role}.${key}` || f.field.startsWith(`${role}.${key}.`)),
          `${role}.${key}`,
        ).toBe(true);
      }
    }
    const text = JSON.stringify(s.report);
    for (const secret of [PG_PASSWORD, MY_PASSWORD, TOKEN]) expect(text).not.toContain(secret);
  });

  it('keeps the zone Go read MySQL timestamps in (loc), and UTC for PostgreSQL and SQL Server', () => {
    expect(one(sync(mysql(), mysql(), 'IdField')).zone).toBe('Local');
    expect(one(sync(mysql({ connection_string: 'u:p@tcp(h)/d?loc=Europe%2FRome' }), mysql(), 'IdField')).zone).toBe('Europe/Rome');
    expect(one(sync(mysql({ connection_string: 'u:p@tcp(h)/d' }), mysql(), 'IdField')).zone).toBe('UTC');
    expect(one(sync(pg(), pg(), 'IdField')).zone).toBe('UTC');
  });

  it('converts the sample configs shapes: query sources, huge max_record_batch_size, disabled, ADO SQL Server DSNs, empty ids', () => {
    const docs = importGoIdra([
      sync(
        mysql({ id: '', query: 'SELECT * FROM `contacts`', table: '', timestamp_field: 'last_update' }),
        mysql({ table: 'contacts', save_mode: 'Upsert' }),
        'LastDestinationTimestamp',
        { id: '164b9164-cc05-49b1-b2f1-219348bbc163', sync_name: 'contacts' },
      ),
      sync(mysql({ max_record_batch_size: 9223372036854775807 }), mysql(), 'LastDestinationId', { id: '335bf53b-7f76-41ac-b3fc-2c80091ee5bd', disabled: true }),
      sync(
        { ...mysql(), connector_source_type: 'MssqlGORM', connection_string: 'server=mssql.internal;user id=sa;password=Pw-2;port=1433;database=sample' },
        { ...mysql(), connector_source_type: 'MssqlGORM', connection_string: 'sqlserver://sa:Pw-2@mssql.internal:1433?database=sample' },
        'LastDestinationTimestamp',
        {
          id: '',
          sync_name: 'Sample sync',
          source_connector: {
            ...mysql(),
            connector_source_type: 'MssqlGORM',
            connection_string: 'server=mssql.internal;user id=sa;password=Pw-2;port=1433;database=sample',
            timestamp_field: 'last_update',
            timestamp_field_format: '2006-01-02 15:04:05',
          },
        },
      ),
    ]);
    expect(docs.map((d) => d.report.outcome)).toEqual(['importable', 'importable', 'importable']);
    expect(docs[0]!.config).toMatchObject({
      source: { query: 'SELECT * FROM `contacts`' },
      keyColumns: ['id'],
      cursorColumn: 'last_update',
      writeMode: 'upsert',
    });
    expect(docs[0]!.config!.source.table).toBeUndefined();
    expect(docs[1]!.config).toMatchObject({ enabled: false, batchSize: 1_000_000, cursorColumn: 'id' });
    expect(line(docs[1]!, 'source_connector.max_record_batch_size')[0]!.detail).toMatch(/meant no limit/);
    expect(docs[2]!.config).toMatchObject({
      id: 'Sample-sync',
      source: { connection: { host: 'mssql.internal', port: 1433, user: 'sa', password: 'Pw-2', database: 'sample' } },
    });
    expect(line(docs[2]!, 'id')[0]).toMatchObject({ outcome: 'converted', detail: expect.stringContaining('from sync_name') });
  });

  it('refuses only the syncs that cannot be imported, names the fields, and refuses duplicate ids', () => {
    const docs = importGoIdra([
      sync(pg(), pg(), 'IdField'),
      sync(pg(), pg(), 'IdField'),
      sync({ ...pg(), connection_string: '' }, pg(), 'IdField', { id: 'x' }),
    ]);
    expect(docs.map((d) => d.report.outcome)).toEqual(['importable', 'refused', 'refused']);
    const err = refusedIssues(docs)!;
    expect(err.issues).toEqual(
      expect.arrayContaining([
        { path: '[1].id', message: expect.stringContaining('also the id of sync [0]') },
        { path: '[2].source_connector.connection_string', message: 'is required' },
      ]),
    );
  });
});

describe('Go Idra offsets (migration)', () => {
  const withOffsets = (doc: GoIdraSync, values: Record<string, string>, zone?: string) => {
    const s = one(doc);
    const used = new Set<string>();
    return { report: migrateGoOffset(s, new Map(Object.entries(values)), zone, used), used };
  };
  const ID = 'b3016da2-594e-4c61-a65c-5ab8b9f9124f';

  it('takes an id offset exactly, beyond 2^53 too, from the key Go wrote (the sync id)', () => {
    const r = withOffsets(sync(pg(), pg(), 'IdField'), { [ID]: '9007199254740993', warehouse: '12' });
    expect(r.report).toMatchObject({ outcome: 'mapped', position: { kind: 'id', value: '9007199254740993' }, goKey: `/offsets/${ID}` });
    expect(r.report.detail).toMatch(/warehouse holds '12'/);
    expect([...r.used].sort()).toEqual([ID, 'warehouse'].sort());
    expect(withOffsets(sync(pg(), pg(), 'IdField'), { warehouse: '12' }).report.position).toEqual({ kind: 'id', value: '12' });
    expect(withOffsets(sync(pg(), pg(), 'IdField'), { [ID]: '-1' }).report.position).toBeNull();
    expect(withOffsets(sync(pg(), pg(), 'IdField'), {}).report).toMatchObject({ outcome: 'none', position: null });
  });

  it('turns Unix milliseconds into wall-clock text in the zone Go read them in, one millisecond earlier', () => {
    const ms = Date.UTC(2024, 6, 17, 11, 22, 40, 983);
    expect(withOffsets(sync(pg({ id: 'agency_id' }), pg(), 'Timestamp'), { [ID]: String(ms) }).report.position).toEqual({
      kind: 'timestamp',
      value: '2024-07-17 11:22:40.982',
      tiebreaker: null,
    });
    const rome = withOffsets(sync(mysql({ connection_string: 'u:p@tcp(h)/d?loc=Europe%2FRome', timestamp_field: 'ts' }), mysql(), 'Timestamp'), {
      [ID]: String(ms),
    });
    expect(rome.report.position).toEqual({ kind: 'timestamp', value: '2024-07-17 13:22:40.982', tiebreaker: null });
    const local = withOffsets(sync(mysql({ timestamp_field: 'ts' }), mysql(), 'Timestamp'), { [ID]: String(ms) });
    expect(local.report).toMatchObject({ outcome: 'refused', detail: expect.stringContaining('--time-zone') });
    const stated = withOffsets(sync(mysql({ timestamp_field: 'ts' }), mysql(), 'Timestamp'), { [ID]: String(ms) }, 'America/New_York');
    expect(stated.report.position).toEqual({ kind: 'timestamp', value: '2024-07-17 07:22:40.982', tiebreaker: null });
  });

  it('reads the MongoDB resume token Go printed with %v, and explains what Kafka and destination modes need', () => {
    const mongo = { id: 'token-key', connector_source_type: 'MongodbConnector', connection_string: 'mongodb://m:27017', database: 'crm', table: 'c' };
    const r = withOffsets(sync(mongo, pg(), 'Default'), { 'token-key': 'map[_data:8266A0B1C2000000012B022C0100296E5A1004]' });
    expect(r.report.position).toEqual({ kind: 'stream', value: { _data: '8266A0B1C2000000012B022C0100296E5A1004' } });
    const kafka = withOffsets(sync({ connector_source_type: 'KafkaConnector', connection_string: 'k:9092', table: 't' }, pg(), 'Default'), {});
    expect(kafka.report).toMatchObject({ outcome: 'ignored', detail: expect.stringContaining('consumer group') });
    expect(withOffsets(sync(pg(), pg(), 'LastDestinationId'), { [ID]: '5' }).report.outcome).toBe('none');
  });

  it('formats wall-clock times across a daylight-saving change', () => {
    // 2024-10-27 01:30 UTC is 02:30 CET, after Rome's clocks went back at 01:00 UTC.
    expect(wallClock(Date.UTC(2024, 9, 27, 0, 30, 0, 5), 'Europe/Rome')).toBe('2024-10-27 02:30:00.005');
    expect(wallClock(Date.UTC(2024, 9, 27, 1, 30, 0, 5), 'Europe/Rome')).toBe('2024-10-27 02:30:00.005');
    expect(wallClock(Date.UTC(2024, 0, 1, 0, 0, 0, 0), '+02:00')).toBe('2024-01-01 02:00:00.000');
  });
});
