import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Binary, Decimal128, Double, Int32, Long, MongoClient, ObjectId, UUID, type Db } from 'mongodb';
import { freePort, mongoForTests, mongoReplicaSetUrl, tempDir, type MongoServer, type ServerForTests } from '@idra/testkit';
import { ConnectorError, type Column, type Endpoint } from '@idra/core';
import { describeConnectorContract } from '../testing/connector-contract.ts';
import { createTestDb, insertRows, runOnce, TestRun, type TestDb } from '../testing/fixtures.ts';
import { numberedRows, syncBetween, tableEndpoint, TYPED_ROWS } from '../testing/endpoints.ts';
import { bsonToValue, rowToDocument, timestampToDate } from './mongodb-values.ts';
import { rawJsonNumber } from '../records/exact-json.ts';
import { MongoChangeStreamSource } from './mongodb-change-stream.ts';
import { MongoDestination } from './mongodb-destination.ts';
import { resolveMongoConfig } from './mongodb-options.ts';

let mongo: ServerForTests<string, MongoServer>;
let client: MongoClient;
let db: Db;
let pg: TestDb;
const dbName = `idra_test_${process.pid}`;

function mongoEndpoint(collection: string, options: Record<string, unknown> = {}, url = mongo.address): Endpoint {
  return { connector: 'mongodb', connection: { url, database: dbName }, collection, options };
}

beforeAll(async () => {
  [mongo, pg] = await Promise.all([mongoForTests(), createTestDb('postgres')]);
  client = new MongoClient(mongo.address, { serverSelectionTimeoutMS: 5_000 });
  await client.connect();
  db = client.db(dbName);
});

afterAll(async () => {
  await db?.dropDatabase().catch(() => {});
  await client?.close();
  await Promise.all([mongo?.stop(), pg?.drop()]);
});

describe('BSON ↔ row values', () => {
  it('maps every BSON type to a row value predictably, and a row back to BSON by its column types', () => {
    const oid = new ObjectId('65a1b2c3d4e5f60718293a4b');
    expect(bsonToValue(oid)).toEqual({ value: '65a1b2c3d4e5f60718293a4b', type: 'text' });
    expect(bsonToValue(Decimal128.fromString('12345678901234567890.123456'))).toEqual({ value: '12345678901234567890.123456', type: 'decimal' });
    expect(bsonToValue(Long.fromString('9223372036854775807'))).toEqual({ value: '9223372036854775807', type: 'int64' });
    expect(bsonToValue(new Int32(7))).toEqual({ value: 7, type: 'int32' });
    expect(bsonToValue(new Double(2.5))).toEqual({ value: 2.5, type: 'float' });
    expect(bsonToValue(new Date('2024-02-29T23:59:59.123Z'))).toEqual({ value: '2024-02-29 23:59:59.123', type: 'timestamp' });
    expect(bsonToValue(new UUID('0f8fad5b-d9cb-469f-a165-70867728950e'))).toEqual({ value: '0f8fad5b-d9cb-469f-a165-70867728950e', type: 'uuid' });
    expect(bsonToValue(new Binary(Buffer.from('hi')))).toEqual({ value: Buffer.from('hi'), type: 'bytes' });
    const nested = bsonToValue({
      at: new Date(0),
      id: oid,
      n: Long.fromNumber(5),
      big: Long.fromString('9007199254740993'),
      d: Decimal128.fromString('1.10'),
      list: [new Int32(1), 'x', null],
    });
    expect(nested.type).toBe('json');
    // Numbers inside documents stay JSON numbers, digit for digit.
    expect(JSON.stringify(nested.value)).toBe(
      '{"at":"1970-01-01 00:00:00.000","id":"65a1b2c3d4e5f60718293a4b","n":5,"big":9007199254740993,"d":1.10,"list":[1,"x",null]}',
    );

    const columns: Column[] = [
      { name: '_id', type: 'text' },
      { name: 'n', type: 'int64' },
      { name: 'price', type: 'decimal' },
      { name: 'at', type: 'timestamp' },
      { name: 'doc', type: 'json' },
      { name: 'raw', type: 'bytes' },
    ];
    const doc2 = { a: [1], big: rawJsonNumber('9007199254740993'), exact: rawJsonNumber('0.1000000000000000055511151231257827') };
    const row = {
      _id: '65a1b2c3d4e5f60718293a4b',
      n: '9007199254740993',
      price: '0.000001',
      at: '2024-02-29 23:59:59.123456',
      doc: doc2,
      raw: Buffer.from('x'),
    };
    const doc = rowToDocument(row, columns, { decimalAs: 'decimal128', timestampAs: 'date', objectIdFields: ['_id'] });
    expect(doc).toEqual({
      _id: oid,
      n: Long.fromString('9007199254740993'),
      price: Decimal128.fromString('0.000001'),
      at: new Date('2024-02-29T23:59:59.123Z'),
      doc: { a: [1], big: Long.fromString('9007199254740993'), exact: Decimal128.fromString('0.1000000000000000055511151231257827') },
      raw: new Binary(Buffer.from('x')),
    });
    const asText = rowToDocument(row, columns, { decimalAs: 'string', timestampAs: 'string', objectIdFields: [] });
    expect([asText._id, asText.price, asText.at]).toEqual(['65a1b2c3d4e5f60718293a4b', '0.000001', '2024-02-29 23:59:59.123456']);
    expect(timestampToDate('2024-01-02 03:04:05+02')).toEqual(new Date('2024-01-02T01:04:05Z'));
  });
});

describe('change streams without a replica set', () => {
  it('reads a scripted change stream: full documents with their operation, deletes by key, resume tokens as the offset, reopening only when the position moves elsewhere', async () => {
    const events = [
      { _id: { _data: '01' }, operationType: 'insert', documentKey: { _id: 'a' }, fullDocument: { _id: 'a', v: new Int32(1) } },
      { _id: { _data: '02' }, operationType: 'insert', documentKey: { _id: 'b' }, fullDocument: { _id: 'b', v: new Int32(1) } },
      { _id: { _data: '03' }, operationType: 'update', documentKey: { _id: 'a' }, fullDocument: { _id: 'a', v: new Int32(2) } },
      { _id: { _data: '04' }, operationType: 'delete', documentKey: { _id: 'b' } },
      { _id: { _data: '05' }, operationType: 'drop' },
    ];
    const opened: Array<{ resumeAfter?: unknown; fullDocument?: string }> = [];
    const collection = {
      watch: (_pipeline: unknown, options: { resumeAfter?: { _data: string }; fullDocument?: string }) => {
        opened.push(options);
        let i = options.resumeAfter ? events.findIndex((e) => e._id._data === options.resumeAfter!._data) + 1 : 0;
        return { tryNext: async () => events[i++] ?? null, close: async () => {} };
      },
    };
    const sync = syncBetween(mongoEndpoint('changes'), tableEndpoint(pg, 'never'));
    const ctx = { sync, endpoint: sync.source, role: 'source' as const };
    const construct = MongoChangeStreamSource as unknown as new (...args: unknown[]) => MongoChangeStreamSource;
    const source = new construct(ctx, resolveMongoConfig(ctx), { client: { close: async () => {} }, collection });
    const signal = new AbortController().signal;

    const first = await source.read({ kind: 'stream', value: null }, 2, signal);
    expect(first.rows).toEqual([
      { _id: 'a', v: 1, _op: 'insert' },
      { _id: 'b', v: 1, _op: 'insert' },
    ]);
    expect(first.position).toEqual({ kind: 'stream', value: { _data: '02' } });
    const second = await source.read(first.position, 2, signal);
    // A delete carries no document: its row has the key and the operation, and no other field (not null).
    expect(second.rows).toEqual([
      { _id: 'a', v: 2, _op: 'update' },
      { _id: 'b', _op: 'delete' },
    ]);
    expect(opened).toHaveLength(1);
    expect(opened[0]).toMatchObject({ fullDocument: 'updateLookup' });

    // Another position (a restart from the stored offset): the stream is reopened after its token,
    // and the changes before the collection was dropped are copied before the drop is reported.
    const again = await source.read(first.position, 10, signal);
    expect(opened[1]?.resumeAfter).toEqual({ _data: '02' });
    expect(again.rows.map((r) => r._op)).toEqual(['update', 'delete']);
    expect(again.position).toEqual(second.position);
    const error = await source.read(again.position, 10, signal).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ConnectorError);
    expect((error as ConnectorError).transient).toBe(false);
    expect((error as Error).message).toMatch(/ended with a 'drop' event/);
  });

  it('a MongoDB destination applies the operations a change stream carries: upserts, and deletes by key', async () => {
    const sync = syncBetween(mongoEndpoint('ops_source'), mongoEndpoint('ops'), { keyColumns: ['_id'], writeMode: 'upsert' });
    const destination = await MongoDestination.open({ sync, endpoint: sync.destination, role: 'destination' });
    const columns: Column[] = [
      { name: '_id', type: 'text' },
      { name: 'v', type: 'int32' },
      { name: '_op', type: 'text' },
    ];
    try {
      const write = (rows: Array<Record<string, unknown>>) =>
        destination.write({ columns, rows, position: { kind: 'stream', value: null } }, new AbortController().signal);
      await write([
        { _id: 'a', v: 1, _op: 'insert' },
        { _id: 'b', v: 1, _op: 'insert' },
        { _id: 'a', v: 2, _op: 'update' },
        { _id: 'c', v: 1, _op: 'insert' },
      ]);
      await write([
        { _id: 'b', v: null, _op: 'delete' },
        { _id: 'c', v: 3, _op: 'replace' },
        { _id: 'c', v: null, _op: 'delete' },
      ]);
    } finally {
      await destination.close();
    }
    expect(
      await db
        .collection('ops')
        .find({}, { sort: { _id: 1 } })
        .toArray(),
    ).toEqual([{ _id: 'a', v: 2 }]);
  });
});

describe("a batch's changes at a MongoDB destination", () => {
  it('applies deletes by key in their order among the rows, a truncate, and sets a field dropped at the source to null in later rows', async () => {
    const sync = syncBetween(mongoEndpoint('changes_source'), mongoEndpoint('changes', { decimalAs: 'string' }), {
      mode: 'id',
      cursorColumn: 'id',
      keyColumns: ['id'],
      writeMode: 'upsert',
    });
    const destination = await MongoDestination.open({ sync, endpoint: sync.destination, role: 'destination' });
    const columns: Column[] = [
      { name: 'id', type: 'int64' },
      { name: 'name', type: 'text' },
      { name: 'note', type: 'text' },
    ];
    const position = { kind: 'id', value: null } as const;
    const signal = new AbortController().signal;
    const row = (id: number, note?: string) => ({ id: String(id), name: `row ${id}`, ...(note === undefined ? {} : { note }) });
    const stored = async () =>
      (
        await db
          .collection('changes')
          .find({}, { projection: { _id: 0 }, sort: { id: 1 } })
          .toArray()
      ).map((d) => ({ ...d, id: String(d['id']) }));
    try {
      await destination.write({ columns, rows: [row(1, 'a'), row(2, 'b'), row(3, 'c'), row(4, 'd')], position }, signal);
      // 1 is deleted; 2 deleted then written again (stays); 3 written then deleted (goes). The key's Long matches the stored numbers.
      await destination.write(
        {
          columns,
          rows: [row(2, 'b2'), row(3, 'c2')],
          changes: [
            { kind: 'delete', at: 0, key: { id: '1' } },
            { kind: 'delete', at: 0, key: { id: '2' } },
            { kind: 'delete', at: 2, key: { id: '3' } },
          ],
          position,
        },
        signal,
      );
      expect(await stored()).toEqual([
        { id: '2', name: 'row 2', note: 'b2' },
        { id: '4', name: 'row 4', note: 'd' },
      ]);
      // A delete batch of keys alone (no columns: mirror and reconciliation send these).
      await destination.write({ columns: [], rows: [], changes: [{ kind: 'delete', at: 0, key: { id: '4' } }], position }, signal);
      // note is dropped at the source: the rows written from then on set it to null, also in later batches.
      const withoutNote = columns.slice(0, 2);
      await destination.write(
        { columns: withoutNote, rows: [row(5)], changes: [{ kind: 'schema', at: 0, change: { kind: 'drop', column: 'note' } }], position },
        signal,
      );
      await destination.write({ columns: withoutNote, rows: [row(2)], position }, signal);
      expect(await stored()).toEqual([
        { id: '2', name: 'row 2', note: null },
        { id: '5', name: 'row 5', note: null },
      ]);
      await destination.write({ columns: withoutNote, rows: [row(6)], changes: [{ kind: 'truncate', at: 0 }], position }, signal);
      expect(await stored()).toEqual([{ id: '6', name: 'row 6', note: null }]);
    } finally {
      await destination.close();
    }
  });

  it('PG → Mongo with softDeleteColumn: a row marked deleted at the source is deleted from the collection', async () => {
    await pg.exec('create table accounts (id bigint primary key, name text, updated_at timestamp(6) not null, deleted_at timestamp(6))');
    await pg.exec(
      `insert into accounts values (1, 'one', '2026-01-01 00:00:01', null), (2, 'two', '2026-01-01 00:00:02', null), (3, 'three', '2026-01-01 00:00:03', null)`,
    );
    const state = await tempDir('idra-state-');
    const sync = syncBetween(tableEndpoint(pg, 'accounts'), mongoEndpoint('accounts', { timestampAs: 'string' }), {
      mode: 'timestamp',
      cursorColumn: 'updated_at',
      keyColumns: ['id'],
      writeMode: 'upsert',
      softDeleteColumn: 'deleted_at',
    });
    await runOnce(sync, state);
    expect(await db.collection('accounts').countDocuments()).toBe(3);
    await pg.exec(`update accounts set deleted_at = '2026-01-02 00:00:00', updated_at = '2026-01-02 00:00:00' where id = 2`);
    const { status } = await runOnce(sync, state);
    expect(status.rowsDeleted).toBe(1);
    expect(
      (
        await db
          .collection('accounts')
          .find({}, { sort: { id: 1 } })
          .toArray()
      ).map((d) => [String(d['id']), d['name']]),
    ).toEqual([
      ['1', 'one'],
      ['3', 'three'],
    ]);
  });

  it('PG → Mongo with reconcileEvery: the documents whose keys are gone from the source are deleted (the collection lists its keys)', async () => {
    await pg.exec('create table kept (id bigint primary key, name text)');
    await pg.exec(`insert into kept select i, 'row ' || i from generate_series(1, 30) i`);
    const state = await tempDir('idra-state-');
    const sync = syncBetween(tableEndpoint(pg, 'kept'), mongoEndpoint('kept'), {
      mode: 'id',
      cursorColumn: 'id',
      keyColumns: ['id'],
      writeMode: 'upsert',
      reconcileEvery: '1h',
      batchSize: 50,
    });
    await runOnce(sync, state);
    expect(await db.collection('kept').countDocuments()).toBe(30);
    await pg.exec('delete from kept where id in (3, 17, 30)');
    const { status } = await runOnce(sync, state);
    expect(status.reconciliation).toMatchObject({ kind: 'reconcile', sourceKeys: 27, destinationKeys: 30, deleted: 3, missing: 0 });
    const left = await db
      .collection('kept')
      .find({}, { sort: { id: 1 } })
      .toArray();
    expect(left.map((d) => Number(d['id']))).toEqual([...Array(30).keys()].map((i) => i + 1).filter((i) => ![3, 17, 30].includes(i)));
  });
});

describe('mongodb connector', () => {
  it('Mongo → PG in timestamp mode: documents sharing a timestamp across batches are all copied, types arrive, a restart resumes', async () => {
    const orders = db.collection('orders');
    const same = new Date('2024-03-01T12:00:00.500Z');
    await orders.insertMany(
      Array.from({ length: 25 }, (_, i) => ({
        _id: new ObjectId(),
        n: Long.fromString(String(9007199254740990n + BigInt(i))),
        qty: new Int32(i),
        price: new Double(i + 0.25),
        at: same,
        tags: ['a', String(i)],
        meta: { by: 'seed', nested: { ok: i % 2 === 0 } },
      })),
    );
    const state = await tempDir('idra-state-');
    const sync = syncBetween(mongoEndpoint('orders'), tableEndpoint(pg, 'orders'), {
      mode: 'timestamp',
      cursorColumn: 'at',
      tiebreakerColumn: '_id',
      keyColumns: ['_id'],
      writeMode: 'upsert',
      batchSize: 7,
    });
    const first = await runOnce(sync, state);
    expect(first.status.rowsCopied).toBe(25);
    expect(first.status.position).toMatchObject({ kind: 'timestamp', value: '2024-03-01 12:00:00.500' });
    const rows = await pg.rows('orders', ['n']);
    expect(rows[0]).toEqual({
      _id: expect.stringMatching(/^[0-9a-f]{24}$/),
      n: '9007199254740990',
      qty: '0',
      price: '0.25',
      at: '2024-03-01 12:00:00.5',
      tags: ['a', '0'],
      meta: { by: 'seed', nested: { ok: true } },
    });
    // Number fields get numeric: a later document may hold another number type in them (a Double where Int32s were).
    expect(Object.values(await pg.columnTypes('orders'))).toEqual([
      'text',
      'numeric',
      'numeric',
      'numeric',
      expect.stringMatching(/^timestamp/),
      'jsonb',
      'jsonb',
    ]);

    await orders.updateOne({ qty: new Int32(3) }, { $set: { at: new Date('2024-03-01T12:00:01Z'), meta: { by: 'update' } } });
    await orders.insertOne({
      _id: new ObjectId(),
      n: Long.fromNumber(1),
      qty: new Int32(99),
      price: new Double(1),
      at: new Date('2024-03-01T12:00:01Z'),
      tags: [],
      meta: {},
    });
    const second = await runOnce(sync, state);
    expect(second.status.rowsCopied).toBe(2);
    expect(await pg.count('orders')).toBe(26);
    expect((await pg.exec(`select meta from orders where qty = 3`))[0]?.meta).toEqual({ by: 'update' });
  });

  it('a field holding Int32 and Double (in one batch, or Double only later) becomes a numeric column with every value exact', async () => {
    const coll = db.collection<{ _id: Int32; v: Int32 | Double }>('mixed');
    await coll.insertMany([
      { _id: new Int32(1), v: new Int32(7) },
      { _id: new Int32(2), v: new Double(2.5) },
    ]);
    const state = await tempDir('idra-state-');
    const sync = syncBetween(mongoEndpoint('mixed'), tableEndpoint(pg, 'mixed'), { mode: 'id', cursorColumn: '_id', keyColumns: ['_id'], batchSize: 2 });
    expect((await runOnce(sync, state)).status.rowsCopied).toBe(2);
    await coll.insertOne({ _id: new Int32(3), v: new Double(1000.25) });
    expect((await runOnce(sync, state)).status.rowsCopied).toBe(1);
    expect((await pg.columnTypes('mixed'))['v']).toBe('numeric');
    expect((await pg.rows('mixed', ['_id'])).map((r) => r.v)).toEqual(['7', '2.5', '1000.25']);
  });

  it('Mongo → Mongo upsert: a field a document lacks is not written (kept, or absent), whatever else the batch holds', async () => {
    const from = db.collection<{ _id: Int32; a?: string; b?: string | null }>('partial_from');
    await from.insertMany([{ _id: new Int32(1), a: 'x', b: 'y' }, { _id: new Int32(2), a: 'w' }, { _id: new Int32(3), b: null }, { _id: new Int32(4) }]);
    for (const batchSize of [1, 4]) {
      const to = db.collection(`partial_to_${batchSize}`);
      await to.insertOne({ _id: new Int32(2), a: 'old', b: 'kept' } as never);
      const sync = syncBetween(mongoEndpoint('partial_from'), mongoEndpoint(`partial_to_${batchSize}`), {
        mode: 'id',
        cursorColumn: '_id',
        keyColumns: ['_id'],
        writeMode: 'upsert',
        batchSize,
      });
      await runOnce(sync, await tempDir('idra-state-'));
      expect(await to.find({}, { sort: { _id: 1 } }).toArray(), `batchSize ${batchSize}`).toEqual([
        { _id: 1, a: 'x', b: 'y' },
        { _id: 2, a: 'w', b: 'kept' },
        { _id: 3, b: null },
        { _id: 4 },
      ]);
    }
  });

  it('id mode on a Long field copies in keyset order and resumes after a restart without re-copying', async () => {
    const events = db.collection('events');
    await events.insertMany(numberedRows(1, 40).map((r) => ({ seq: Long.fromString(r.id as string), name: r.name })));
    const state = await tempDir('idra-state-');
    const sync = syncBetween(mongoEndpoint('events', {}), tableEndpoint(pg, 'events'), { mode: 'id', cursorColumn: 'seq', batchSize: 9 });
    expect((await runOnce(sync, state)).status.rowsCopied).toBe(40);
    await events.insertMany(numberedRows(41, 5).map((r) => ({ seq: Long.fromString(r.id as string), name: r.name })));
    const second = await runOnce(sync, state);
    expect(second.status.rowsCopied).toBe(5);
    expect(second.status.position).toEqual({ kind: 'id', value: '45' });
    expect(await pg.count('events')).toBe(45);
  });

  it('PG → Mongo: insert keeps documents whose key exists, upsert replaces them; the key gets a unique index', async () => {
    await pg.exec('create table people (id bigint primary key, name text, amount numeric(28,6), ts timestamp(6), flag boolean, doc jsonb)');
    await insertRows(pg, 'people', TYPED_ROWS);
    const people = db.collection('people');
    await people.insertOne({ id: Long.fromString('1'), name: 'was here first' });
    const options = { decimalAs: 'string' }; // FerretDB 1.x has no Decimal128
    const insert = syncBetween(tableEndpoint(pg, 'people'), mongoEndpoint('people', options), {
      mode: 'id',
      cursorColumn: 'id',
      keyColumns: ['id'],
      batchSize: 3,
    });
    expect((await runOnce(insert, await tempDir('idra-state-'))).status.rowsCopied).toBe(4);
    expect(await people.countDocuments()).toBe(4);
    expect((await people.findOne({ id: Long.fromString('1') }))?.['name']).toBe('was here first');
    const copied = await people.findOne({ id: Long.fromString('9007199254740993') }, { projection: { _id: 0 }, promoteLongs: false });
    expect(copied).toEqual({
      id: Long.fromString('9007199254740993'),
      name: TYPED_ROWS[2]!.name,
      amount: '0.000001',
      ts: new Date('2026-01-19T03:14:08.999Z'),
      flag: null,
      doc: null,
    });
    expect((await people.indexes()).some((ix) => ix.unique && JSON.stringify(ix.key) === '{"id":1}')).toBe(true);

    const upsert = syncBetween(tableEndpoint(pg, 'people'), mongoEndpoint('people', { ...options, timestampAs: 'string' }), {
      mode: 'id',
      cursorColumn: 'id',
      keyColumns: ['id'],
      writeMode: 'upsert',
      batchSize: 3,
    });
    await runOnce(upsert, await tempDir('idra-state-'));
    expect(await people.countDocuments()).toBe(4);
    expect((await people.findOne({ id: Long.fromString('1') }))?.['name']).toBe('plain');
    expect((await people.findOne({ id: Long.fromString('9007199254740993') }))?.['ts']).toBe('2026-01-19 03:14:08.999999');
  });

  it('documents the server rejects follow the error policy (skip → dead letters, stop → failed); keyless rows are not inserted twice while isolating them', async () => {
    await pg.exec('create table shapes (id bigint primary key, _id jsonb, label text)');
    await insertRows(pg, 'shapes', [
      { id: '1', _id: '"a"', label: 'fine' },
      { id: '2', _id: [1, 2], label: 'array _id' },
      { id: '3', _id: null, label: 'no _id' },
      { id: '4', _id: '"d"', label: 'fine' },
    ]);
    const shapes = db.collection('shapes');
    const skip = syncBetween(tableEndpoint(pg, 'shapes'), mongoEndpoint('shapes'), { mode: 'id', cursorColumn: 'id', onError: 'skip', batchSize: 10 });
    const { status, run } = await runOnce(skip, await tempDir('idra-state-'));
    expect(status.rowsSkipped).toBe(1);
    expect(run.deadLetters[0]?.row).toMatchObject({ id: '2', label: 'array _id' });
    expect(run.deadLetters[0]?.error).toMatch(/mongodb destination: .*_id.*array/i);
    expect((await shapes.find({}, { sort: { id: 1 } }).toArray()).map((d) => d['label'])).toEqual(['fine', 'no _id', 'fine']);

    const stop = syncBetween(tableEndpoint(pg, 'shapes'), mongoEndpoint('shapes_stop'), { mode: 'id', cursorColumn: 'id', onError: 'stop', batchSize: 10 });
    const failing = new TestRun(stop, await tempDir('idra-state-'));
    const failed = await failing.waitFor((s) => s.state === 'failed');
    expect(failed.lastError?.message).toMatch(/rejected the row id=2.*array/);
  });

  it('an aborted run loses nothing: the restart replays at most the batch in flight', async () => {
    const many = db.collection('many');
    await many.insertMany(numberedRows(1, 300).map((r) => ({ seq: Long.fromString(r.id as string), name: r.name })));
    const state = await tempDir('idra-state-');
    const sync = syncBetween(mongoEndpoint('many'), tableEndpoint(pg, 'many'), { mode: 'id', cursorColumn: 'seq', keyColumns: ['seq'], batchSize: 10 });
    const run = new TestRun(sync, state);
    await run.waitFor((s) => s.batches >= 3);
    await run.runner.abort();
    const before = await pg.count('many');
    expect(before).toBeLessThan(300);
    await runOnce(sync, state);
    expect(await pg.count('many')).toBe(300);
  });

  it('stream mode on a server without a replica set fails at once with the reason', async () => {
    const run = new TestRun(syncBetween(mongoEndpoint('orders'), tableEndpoint(pg, 'never')), await tempDir('idra-state-'));
    const failed = await run.waitFor((s) => s.state === 'failed');
    expect(failed.lastError?.message).toMatch(/mongodb source: change streams need a replica set or a sharded cluster/);
  });

  it.runIf(!process.env['IDRA_TEST_MONGO_URL'])(
    'server down: the status says retrying with the cause, and the sync goes on when the server is back (needs a server the test starts)',
    async () => {
      const server = mongo.own!;
      const col = db.collection('outage');
      await col.insertMany(numberedRows(1, 10).map((r) => ({ seq: Long.fromString(r.id as string), name: r.name })));
      const sync = syncBetween(mongoEndpoint('outage', { connectTimeout: '1s' }), tableEndpoint(pg, 'outage'), {
        mode: 'id',
        cursorColumn: 'seq',
        keyColumns: ['seq'],
      });
      const state = await tempDir('idra-state-');
      expect((await runOnce(sync, state)).status.rowsCopied).toBe(10);
      await server.kill();
      const run = new TestRun(sync, state);
      try {
        const retrying = await run.waitFor((s) => s.state === 'retrying', 30_000);
        expect(retrying.lastError?.message).toMatch(/^mongodb source: .*(ECONNREFUSED|Server selection timed out|connect)/i);
        await server.start();
        await col.insertMany(numberedRows(11, 5).map((r) => ({ seq: Long.fromString(r.id as string), name: r.name })));
        await run.waitFor((s) => s.state === 'idle' && s.rowsCopied === 5, 60_000);
      } finally {
        await run.runner.stop();
      }
      expect(await pg.count('outage')).toBe(15);
    },
    120_000,
  );

  const replicaSet = mongoReplicaSetUrl();
  it.runIf(replicaSet !== undefined)(
    'change stream: inserts, updates (full documents) and deletes are carried, and a restart resumes from the stored resume token — requires a MongoDB replica set (IDRA_TEST_MONGO_REPLSET_URL)',
    async () => {
      const rs = new MongoClient(replicaSet!);
      await rs.connect();
      const rsDb = rs.db(dbName);
      const source = rsDb.collection('changes');
      const endpoint: Endpoint = { connector: 'mongodb', connection: { url: replicaSet!, database: dbName }, collection: 'changes' };
      const target: Endpoint = {
        connector: 'mongodb',
        connection: { url: replicaSet!, database: dbName },
        collection: 'changes_copy',
        options: { objectIdFields: ['_id'] },
      };
      try {
        await rsDb.createCollection('changes').catch(() => {});
        const state = await tempDir('idra-state-');
        const sync = syncBetween(endpoint, target, { keyColumns: ['_id'], writeMode: 'upsert', batchSize: 3 });
        const run = new TestRun(sync, state);
        await run.waitFor((s) => s.state === 'idle');
        await source.insertMany([
          { _id: 'a' as never, v: 1 },
          { _id: 'b' as never, v: 1 },
          { _id: 'c' as never, v: 1 },
        ]);
        await source.updateOne({ _id: 'a' as never }, { $set: { v: 2 } });
        await source.deleteOne({ _id: 'b' as never });
        await run.waitFor((s) => s.rowsCopied === 5);
        await run.runner.stop();
        expect(
          await rsDb
            .collection('changes_copy')
            .find({}, { sort: { _id: 1 } })
            .toArray(),
        ).toEqual([
          { _id: 'a', v: 2 },
          { _id: 'c', v: 1 },
        ]);
        await source.insertOne({ _id: 'd' as never, v: 4 });
        const resumed = await runOnce(sync, state);
        expect(resumed.status.rowsCopied).toBe(1);
        expect(await rsDb.collection('changes_copy').countDocuments()).toBe(3);
      } finally {
        await rsDb.dropDatabase().catch(() => {});
        await rs.close();
      }
    },
    120_000,
  );
});

describeConnectorContract(() => ({
  connector: 'mongodb',
  pg: () => pg,
  place: async (name) => ({
    // Microseconds and decimals kept as text: BSON Dates hold milliseconds, and FerretDB has no Decimal128.
    destination: mongoEndpoint(name, { decimalAs: 'string', timestampAs: 'string' }),
    source: mongoEndpoint(name),
    sourceSync: { mode: 'id', cursorColumn: 'id' },
  }),
  hangable: () => mongo.own,
  unreachable: async () => mongoEndpoint('nowhere', { connectTimeout: 500 }, `mongodb://127.0.0.1:${await freePort()}/`),
  discovery: (place) => ({ connection: place.source.connection!, listed: { schema: dbName, name: place.source.collection! } }),
}));
