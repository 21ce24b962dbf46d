import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Kafka, logLevel, Partitioners, type Producer } from 'kafkajs';
import { freePort, kafkaForTests, tempDir, until, type KafkaServer, type ServerForTests } from '@idra/testkit';
import type { Endpoint } from '@idra/core';
import { describeConnectorContract } from '../testing/connector-contract.ts';
import { createTestDb, insertRows, runOnce, TestRun, type TestDb } from '../testing/fixtures.ts';
import { canonicalRow, numberedRows, syncBetween, tableEndpoint, TYPED_ROWS } from '../testing/endpoints.ts';
import { createKafka, PartitionFetcher } from './kafka-client.ts';
import { resolveKafkaConfig } from './kafka-options.ts';
import { KafkaSource } from './kafka-source.ts';

let kafka: ServerForTests<string[], KafkaServer>;
let client: Kafka;
let producer: Producer;
let pg: TestDb;
let maria: TestDb;
let topicCount = 0;

/** A fresh topic name per test: tests share the broker. */
const newTopic = (what: string) => `${what}-${process.pid}-${++topicCount}`;

function kafkaEndpoint(topic: string, options: Record<string, unknown> = {}): Endpoint {
  return { connector: 'kafka', connection: { url: `kafka://${kafka.address.join(',')}` }, topic, options };
}

async function createTopic(topic: string, partitions = 1): Promise<void> {
  const admin = client.admin();
  await admin.connect();
  try {
    await admin.createTopics({ topics: [{ topic, numPartitions: partitions }], waitForLeaders: true });
  } finally {
    await admin.disconnect();
  }
}

async function produce(topic: string, values: Array<string | null>, key?: (i: number) => string): Promise<void> {
  await producer.send({ topic, acks: -1, messages: values.map((value, i) => ({ key: key ? key(i) : null, value })) });
}

/** Every message of a topic, read through the source's fetcher (keys included), in partition then offset order. */
async function topicMessages(topic: string): Promise<Array<{ partition: number; offset: string; key: string | null; value: unknown }>> {
  const sync = syncBetween(kafkaEndpoint(topic), kafkaEndpoint(topic));
  const config = resolveKafkaConfig({ sync, endpoint: sync.source, role: 'source' });
  const k = createKafka(config);
  const admin = k.admin();
  await admin.connect();
  const fetcher = await PartitionFetcher.open(k, config);
  try {
    const out: Array<{ partition: number; offset: string; key: string | null; value: unknown }> = [];
    const offsets = await admin.fetchTopicOffsets(topic);
    let pending = new Map(offsets.filter((o) => o.high !== o.low).map((o) => [o.partition, o.low]));
    const high = new Map(offsets.map((o) => [o.partition, o.high]));
    while (pending.size > 0) {
      const next = new Map<number, string>();
      for (const f of await fetcher.fetch(pending)) {
        for (const m of f.messages)
          out.push({
            partition: f.partition,
            offset: m.offset,
            key: m.key?.toString() ?? null,
            value: m.value === null ? null : JSON.parse(m.value.toString()),
          });
        if (BigInt(f.nextOffset) < BigInt(high.get(f.partition)!)) next.set(f.partition, f.nextOffset);
      }
      pending = next;
    }
    return out.sort((a, b) => a.partition - b.partition || Number(BigInt(a.offset) - BigInt(b.offset)));
  } finally {
    await fetcher.close();
    await admin.disconnect();
  }
}

beforeAll(async () => {
  [kafka, pg, maria] = await Promise.all([kafkaForTests(), createTestDb('postgres'), createTestDb('mysql')]);
  client = new Kafka({ brokers: kafka.address, logLevel: logLevel.NOTHING });
  // Idempotent: a produce request retried under load must not duplicate the test's messages.
  producer = client.producer({ createPartitioner: Partitioners.DefaultPartitioner, idempotent: true, maxInFlightRequests: 1 });
  await producer.connect();
});

afterAll(async () => {
  await producer?.disconnect();
  await Promise.all([kafka?.stop(), pg?.drop(), maria?.drop()]);
});

describe('kafka connector', () => {
  it('PG → Kafka → MariaDB: every type arrives with its value; keys are the key columns; offsets are per partition', async () => {
    await pg.exec('create table typed (id bigint primary key, name text, amount numeric(28,6), ts timestamp(6), flag boolean, doc jsonb)');
    await insertRows(pg, 'typed', TYPED_ROWS);
    const topic = newTopic('typed');
    const toKafka = syncBetween(tableEndpoint(pg, 'typed'), kafkaEndpoint(topic, { createTopic: true, partitions: 3 }), {
      mode: 'id',
      cursorColumn: 'id',
      keyColumns: ['id'],
      batchSize: 3,
    });
    expect((await runOnce(toKafka, await tempDir('idra-state-'))).status.rowsCopied).toBe(4);

    const messages = await topicMessages(topic);
    expect(messages.map((m) => m.key).sort()).toEqual(['1', '2', '9007199254740993', '9223372036854775807']);
    expect(messages.find((m) => m.key === '9007199254740993')?.value).toEqual({
      id: '9007199254740993',
      name: TYPED_ROWS[2]!.name,
      amount: '0.000001',
      ts: '2026-01-19 03:14:08.999999',
      flag: null,
      doc: null,
    });

    const fromKafka = syncBetween(kafkaEndpoint(topic), tableEndpoint(maria, 'from_kafka'), { keyColumns: ['id'], writeMode: 'upsert', batchSize: 3 });
    const { status } = await runOnce(fromKafka, await tempDir('idra-state-'));
    expect(status.rowsCopied).toBe(4);
    expect(status.position?.kind).toBe('stream');
    const offsets = status.position?.value as Record<string, string>;
    expect(Object.keys(offsets).sort()).toEqual(['0', '1', '2']);
    expect(Object.values(offsets).reduce((n, o) => n + Number(o), 0)).toBe(4);
    const copied = (await maria.rows('from_kafka', ['id'])).map(canonicalRow);
    expect(copied).toEqual((await pg.rows('typed', ['id'])).map(canonicalRow));
  });

  it('resumes from the stored partition offsets after a restart; a consumer group follows them (Kafka tools show the lag), per-partition lag', async () => {
    const topic = newTopic('resume');
    await createTopic(topic, 2);
    await produce(
      topic,
      numberedRows(1, 30).map((r) => JSON.stringify(r)),
      (i) => String(i),
    );
    expect((await topicMessages(topic)).length).toBe(30);
    const state = await tempDir('idra-state-');
    // A broker creates its offsets topic for the first group it sees, which takes a while: until then
    // group commits fail (and are tried again after the next batch).
    const warm = client.admin();
    await warm.connect();
    await until('the group coordinator', async () => (await warm.fetchOffsets({ groupId: 'warm-up', topics: [topic] })).length === 1).finally(() =>
      warm.disconnect(),
    );
    // No key columns: a message read twice would show as a duplicate row.
    const sync = syncBetween(kafkaEndpoint(topic), tableEndpoint(pg, 'resumed'), { batchSize: 7 });
    expect((await runOnce(sync, state)).status.rowsCopied).toBe(30);
    await produce(
      topic,
      numberedRows(31, 12).map((r) => JSON.stringify(r)),
      (i) => String(i),
    );
    const second = await runOnce(sync, state);
    expect(second.status.rowsCopied).toBe(12);
    expect(await pg.count('resumed')).toBe(42);
    expect((await pg.rows('resumed', ['id'])).map((r) => Number(r.id)).sort((a, b) => a - b)).toEqual(Array.from({ length: 42 }, (_, i) => i + 1));
    const admin = client.admin();
    await admin.connect();
    try {
      // The group's committed offsets are the sync's own (never read back: the sync's offset rules).
      const groupOffsets = async () => {
        const [group] = await admin.fetchOffsets({ groupId: 'idra-test-sync', topics: [topic] });
        return Object.fromEntries(group!.partitions.map((p) => [String(p.partition), p.offset]));
      };
      const committed = await groupOffsets();
      expect(committed).toEqual(second.status.position?.value);
      await produce(
        topic,
        numberedRows(43, 5).map((r) => JSON.stringify(r)),
        (i) => String(i),
      );
      const source = await KafkaSource.open({ sync, endpoint: { ...sync.source, connection: sync.source.connection! }, role: 'source' });
      try {
        const lag = await source.lag(second.status.position!);
        const high = Object.fromEntries((await admin.fetchTopicOffsets(topic)).map((o) => [String(o.partition), Number(o.high)]));
        expect(lag).toEqual({ rows: 5, parts: Object.fromEntries(Object.entries(committed).map(([p, o]) => [p, high[p]! - Number(o)])) });
      } finally {
        await source.close();
      }
      // consumerGroup "" keeps no group.
      const quiet = syncBetween(kafkaEndpoint(topic, { consumerGroup: '' }), tableEndpoint(pg, 'resumed_quiet'), { id: 'quiet-sync', batchSize: 50 });
      expect((await runOnce(quiet, await tempDir('idra-state-'))).status.rowsCopied).toBe(47);
      expect((await admin.listGroups()).groups.map((g) => g.groupId)).not.toContain('idra-quiet-sync');
    } finally {
      await admin.disconnect();
    }
  });

  it('message metadata as columns (key, partition, offset, timestamp, headers); string and bytes values in one column', async () => {
    const topic = newTopic('raw');
    await createTopic(topic, 1);
    await producer.send({
      topic,
      acks: -1,
      messages: [
        { key: 'k1', value: 'plain text, not JSON', timestamp: '1717236000123', headers: { origin: 'test', trace: Buffer.from('t-1') } },
        { key: null, value: Buffer.from([1, 255, 7]), timestamp: '1717236000456' },
      ],
    });
    const metadataColumns = { key: 'msg_key', partition: 'msg_partition', offset: 'msg_offset', timestamp: 'msg_at', headers: 'msg_headers' };
    const asText = syncBetween(kafkaEndpoint(topic, { valueFormat: 'string', valueColumn: 'body', metadataColumns }), tableEndpoint(pg, 'raw_text'), {});
    expect((await runOnce(asText, await tempDir('idra-state-'))).status.rowsCopied).toBe(2);
    expect(await pg.columnTypes('raw_text')).toEqual({
      msg_key: 'text',
      msg_partition: 'integer',
      msg_offset: 'bigint',
      msg_at: 'timestamp without time zone',
      msg_headers: 'jsonb',
      body: 'text',
    });
    expect(await pg.rows('raw_text', ['msg_offset'])).toEqual([
      {
        msg_key: 'k1',
        msg_partition: 0,
        msg_offset: '0',
        msg_at: '2024-06-01 10:00:00.123',
        msg_headers: { origin: 'test', trace: 't-1' },
        body: 'plain text, not JSON',
      },
      { msg_key: null, msg_partition: 0, msg_offset: '1', msg_at: '2024-06-01 10:00:00.456', msg_headers: {}, body: '\u0001\ufffd\u0007' },
    ]);
    const asBytes = syncBetween(kafkaEndpoint(topic, { valueFormat: 'bytes' }), tableEndpoint(pg, 'raw_bytes'), {});
    await runOnce(asBytes, await tempDir('idra-state-'));
    expect((await pg.rows('raw_bytes', ['value'])).map((r) => Buffer.from(r.value as Uint8Array).toString('hex'))).toEqual([
      '01ff07',
      Buffer.from('plain text, not JSON').toString('hex'),
    ]);
    const wrong = syncBetween(kafkaEndpoint(topic, { metadataColumns: { partition: 'p', size: 's' } }), tableEndpoint(pg, 'never'), {});
    const failed = await new TestRun(wrong, await tempDir('idra-state-')).waitFor((s) => s.state === 'failed');
    expect(failed.lastError?.message).toMatch(/source\.options\.metadataColumns: knows key, partition, offset, timestamp, headers, not size/);
  });

  it('PG → Kafka with string values (valueColumn): one column is the message; a null value is refused, not sent as a tombstone', async () => {
    await pg.exec('create table notes (id bigint primary key, note text)');
    await insertRows(pg, 'notes', [
      { id: '1', note: 'first' },
      { id: '2', note: null },
      { id: '3', note: 'third' },
    ]);
    const topic = newTopic('notes');
    const out = syncBetween(tableEndpoint(pg, 'notes'), kafkaEndpoint(topic, { createTopic: true, valueFormat: 'string', valueColumn: 'note' }), {
      mode: 'id',
      cursorColumn: 'id',
      keyColumns: ['id'],
      onError: 'skip',
    });
    const { status, run } = await runOnce(out, await tempDir('idra-state-'));
    expect([status.rowsCopied, status.rowsSkipped]).toEqual([2, 1]);
    expect(run.deadLetters[0]?.error).toMatch(/note is null, and a message without a value would be a tombstone/);
    const back = syncBetween(
      kafkaEndpoint(topic, { valueFormat: 'string', valueColumn: 'note', metadataColumns: { key: 'id' } }),
      tableEndpoint(pg, 'notes_back'),
      {},
    );
    await runOnce(back, await tempDir('idra-state-'));
    expect(await pg.rows('notes_back', ['id'])).toEqual([
      { id: '1', note: 'first' },
      { id: '3', note: 'third' },
    ]);
  });

  it('an aborted run loses nothing: the restart replays at most the batch in flight', async () => {
    const topic = newTopic('abort');
    await createTopic(topic, 3);
    await produce(
      topic,
      numberedRows(1, 200).map((r) => JSON.stringify(r)),
      (i) => String(i),
    );
    const state = await tempDir('idra-state-');
    const sync = syncBetween(kafkaEndpoint(topic), tableEndpoint(pg, 'aborted'), { keyColumns: ['id'], batchSize: 5 });
    const run = new TestRun(sync, state);
    await run.waitFor((s) => s.batches >= 3);
    await run.runner.abort();
    const copiedBefore = await pg.count('aborted');
    expect(copiedBefore).toBeLessThan(200);
    const { status } = await runOnce(sync, state);
    expect(status.rowsCopied).toBeGreaterThanOrEqual(200 - copiedBefore);
    expect(status.rowsCopied).toBeLessThanOrEqual(200 - copiedBefore + 5);
    expect(await pg.count('aborted')).toBe(200);
  });

  it("a batch larger than the broker takes in one request (message.max.bytes, 1 MiB) is sent in several; under onError 'stop' nothing fails", async () => {
    await pg.exec(`create table big_batch (id bigint primary key, name text not null)`);
    await pg.exec(`insert into big_batch select g, repeat('x', 100) || g from generate_series(1, 30000) g`);
    const topic = newTopic('big-batch');
    await createTopic(topic, 1);
    const sync = syncBetween(tableEndpoint(pg, 'big_batch'), kafkaEndpoint(topic), { mode: 'id', cursorColumn: 'id', keyColumns: ['id'], batchSize: 30_000 });
    const { status } = await runOnce(sync, await tempDir('idra-state-'));
    expect(status.lastError).toBeUndefined();
    expect(status.rowsCopied).toBe(30_000);
    // About 4 MB of messages, in batches of up to 30,000 rows: more than one request each.
    expect(status.batches).toBeLessThan(10);
    const messages = await topicMessages(topic);
    expect(messages.length).toBe(30_000);
    expect(messages.map((m) => Number(m.key))).toEqual(Array.from({ length: 30_000 }, (_, i) => i + 1));
  });

  it('messages that are not JSON objects follow the error policy: skip → dead letters with their place, stop → failed', async () => {
    const topic = newTopic('malformed');
    await createTopic(topic, 1);
    await produce(topic, ['{"id":"1","name":"ok"}', 'not json {', '{"id":"3","name":"ok"}', '[1,2]', null, '{"id":"6","name":"ok"}']);
    const skip = syncBetween(kafkaEndpoint(topic), tableEndpoint(pg, 'malformed_skip'), { keyColumns: ['id'], onError: 'skip', batchSize: 10 });
    const { status, run } = await runOnce(skip, await tempDir('idra-state-'));
    expect(status.rowsCopied).toBe(3);
    expect(status.rowsSkipped).toBe(3);
    expect(status.position).toEqual({ kind: 'stream', value: { '0': '6' } });
    expect(run.deadLetters.map((d) => [d.row.offset, d.row.value])).toEqual([
      ['1', 'not json {'],
      ['3', '[1,2]'],
      ['4', null],
    ]);
    expect(run.deadLetters[0]!.error).toMatch(new RegExp(`kafka source: message ${topic}/0@1 is not a JSON object`));
    expect(run.deadLetters[2]!.error).toMatch(/tombstone/);
    expect((await pg.rows('malformed_skip', ['id'])).map((r) => r.id)).toEqual(['1', '3', '6']);

    const stop = syncBetween(kafkaEndpoint(topic), tableEndpoint(pg, 'malformed_stop'), { keyColumns: ['id'], onError: 'stop', batchSize: 10 });
    const failing = new TestRun(stop, await tempDir('idra-state-'));
    const failed = await failing.waitFor((s) => s.state === 'failed');
    expect(failed.lastError?.code).toBe('IDRA_ERR_SYNC_FAILED');
    expect(failed.lastError?.message).toMatch(/is not a JSON object/);
    expect(failed.rowsCopied).toBe(0);
  });

  it('keeps message fields typed by options.columnTypes, and infers the others from their JSON values', async () => {
    const topic = newTopic('typed-json');
    await createTopic(topic, 1);
    await produce(topic, ['{"id": 9007199254740993, "price": 12.5, "at": "2024-05-06 07:08:09.123456", "tags": ["a"], "ok": true}']);
    const sync = syncBetween(kafkaEndpoint(topic, { columnTypes: { at: 'timestamp', price: 'decimal(10,2)' } }), tableEndpoint(pg, 'json_typed'), {
      keyColumns: ['id'],
    });
    await runOnce(sync, await tempDir('idra-state-'));
    expect(await pg.columnTypes('json_typed')).toEqual({
      at: 'timestamp without time zone',
      price: 'numeric',
      // Inferred from JSON numbers: wide enough for any later number (see 'a table made from inferred types …').
      id: 'numeric',
      tags: 'jsonb',
      ok: 'boolean',
    });
    expect(await pg.rows('json_typed', ['id'])).toEqual([{ at: '2024-05-06 07:08:09.123456', price: '12.50', id: '9007199254740993', tags: ['a'], ok: true }]);
  });

  it('a table made from inferred types takes later values: integers first, then a fraction (1000.5), then an integer beyond 2^53', async () => {
    const topic = newTopic('widening');
    await createTopic(topic, 1);
    const state = await tempDir('idra-state-');
    const sync = syncBetween(kafkaEndpoint(topic), tableEndpoint(pg, 'widening'), { keyColumns: ['id'], writeMode: 'upsert' });
    await produce(topic, ['{"id": "a", "n": 1000}']);
    expect((await runOnce(sync, state)).status.rowsCopied).toBe(1);
    await produce(topic, ['{"id": "b", "n": 1000.5}', '{"id": "c", "n": 9007199254740993}']);
    const run = new TestRun(sync, state);
    const settled = await run.waitFor((s) => s.state !== 'starting' && s.state !== 'running');
    await run.runner.stop();
    expect([settled.state, settled.lastError?.message, settled.rowsCopied]).toEqual(['idle', undefined, 2]);
    expect((await pg.rows('widening', ['id'])).map((r) => [r.id, r.n])).toEqual([
      ['a', '1000'],
      ['b', '1000.5'],
      ['c', '9007199254740993'],
    ]);
  });

  it('upsert: a field a message lacks keeps its value, a null overwrites it — the same whatever the batching', async () => {
    const topic = newTopic('partial');
    await createTopic(topic, 1);
    await produce(topic, [
      '{"id": "1", "a": "x", "b": "y"}',
      '{"id": "2", "b": "only b"}',
      '{"id": "1", "a": "z"}',
      '{"id": "3", "a": "p", "b": "q"}',
      '{"id": "3", "b": null}',
    ]);
    for (const [db, batchSize] of [pg, maria].flatMap((d) => [1, 2, 10].map((n) => [d, n] as const))) {
      const table = `partial_${batchSize}`;
      await db.exec(`create table ${table} (id varchar(10) primary key, a text, b text)`);
      const sync = syncBetween(kafkaEndpoint(topic), tableEndpoint(db, table), { keyColumns: ['id'], writeMode: 'upsert', batchSize });
      expect((await runOnce(sync, await tempDir('idra-state-'))).status.rowsCopied).toBe(5);
      expect(await db.rows(table, ['id']), `${db.dialect.name}, batchSize ${batchSize}`).toEqual([
        { id: '1', a: 'z', b: 'y' },
        { id: '2', a: null, b: 'only b' },
        { id: '3', a: 'p', b: null },
      ]);
    }
  });

  it("tombstones become deletes by key in the topic's order (also in a batch of tombstones alone); without keyColumns they follow the error policy", async () => {
    const topic = newTopic('tombstones');
    await createTopic(topic, 1);
    const item = (id: string, name: string) => JSON.stringify({ id, name });
    const send = (messages: Array<{ key: string; value: string | null }>) => producer.send({ topic, acks: -1, messages });
    await send([
      { key: '1', value: item('1', 'a') },
      { key: '2', value: item('2', 'b') },
      { key: '3', value: item('3', 'c') },
      { key: '4', value: item('4', 'd') },
      { key: '2', value: null },
      { key: '3', value: null },
      { key: '4', value: null }, // read alone: the third batch has no row
    ]);
    const state = await tempDir('idra-state-');
    const sync = syncBetween(kafkaEndpoint(topic), tableEndpoint(pg, 'tombstoned'), { keyColumns: ['id'], writeMode: 'upsert', batchSize: 3 });
    const first = await runOnce(sync, state);
    expect((await pg.rows('tombstoned', ['id'])).map((r) => [r.id, r.name])).toEqual([['1', 'a']]);
    expect([first.status.rowsCopied, first.status.rowsDeleted, first.status.rowsSkipped]).toEqual([4, 3, 0]);
    expect(first.status.position).toEqual({ kind: 'stream', value: { '0': '7' } });
    // A key written again after its tombstone comes back; one deleted and written in one batch ends written.
    await send([
      { key: '2', value: item('2', 'back') },
      { key: '1', value: null },
      { key: '1', value: item('1', 'again') },
    ]);
    await runOnce(sync, state);
    expect((await pg.rows('tombstoned', ['id'])).map((r) => [r.id, r.name])).toEqual([
      ['1', 'again'],
      ['2', 'back'],
    ]);

    const keyless = syncBetween(kafkaEndpoint(topic), tableEndpoint(pg, 'tombstoned_keyless'), { onError: 'skip', batchSize: 20 });
    const { status, run } = await runOnce(keyless, await tempDir('idra-state-'));
    expect([status.rowsCopied, status.rowsSkipped]).toEqual([6, 4]);
    expect(run.deadLetters[0]!.error).toMatch(new RegExp(`message ${topic}/0@4 .*a tombstone: set keyColumns to delete the row its key names`));
  });

  it('PG → Kafka → PG: a row deleted at the source (soft-delete column) is sent as a tombstone, which deletes it downstream', async () => {
    await pg.exec('create table soft (id bigint primary key, name text, deleted_at timestamp)');
    await insertRows(pg, 'soft', [
      { id: '1', name: 'a', deleted_at: null },
      { id: '2', name: 'b', deleted_at: null },
      { id: '3', name: 'c', deleted_at: null },
    ]);
    const topic = newTopic('soft-deletes');
    const out = syncBetween(tableEndpoint(pg, 'soft'), kafkaEndpoint(topic, { createTopic: true }), {
      mode: 'id',
      cursorColumn: 'id',
      keyColumns: ['id'],
      softDeleteColumn: 'deleted_at',
    });
    const back = syncBetween(kafkaEndpoint(topic), tableEndpoint(pg, 'soft_copy'), { keyColumns: ['id'], writeMode: 'upsert' });
    const [outState, backState] = [await tempDir('idra-state-'), await tempDir('idra-state-')];
    await runOnce(out, outState);
    await runOnce(back, backState);
    expect(await pg.count('soft_copy')).toBe(3);
    // A row read with its deleted mark set (5) reaches the topic as a tombstone, not as a message.
    await pg.exec("insert into soft values (4, 'b again', null), (5, 'gone', now())");
    await runOnce(out, outState);
    expect((await topicMessages(topic)).map((m) => [m.key, m.value === null ? null : (m.value as { name: string }).name])).toEqual([
      ['1', 'a'],
      ['2', 'b'],
      ['3', 'c'],
      ['4', 'b again'],
      ['5', null],
    ]);
    await pg.exec("insert into soft_copy (id, name) values (5, 'copied by hand')");
    const { status } = await runOnce(back, backState);
    expect(status.rowsDeleted).toBe(1);
    expect((await pg.rows('soft_copy', ['id'])).map((r) => r.id)).toEqual(['1', '2', '3', '4']);
  });

  it('a missing topic is an error with its name unless createTopic is set', async () => {
    await pg.exec('create table to_missing (id bigint primary key, name text, amount text)');
    await insertRows(pg, 'to_missing', numberedRows(1, 3));
    const topic = newTopic('missing');
    const run = new TestRun(
      syncBetween(tableEndpoint(pg, 'to_missing'), kafkaEndpoint(topic), { mode: 'id', cursorColumn: 'id' }),
      await tempDir('idra-state-'),
    );
    const retrying = await run.waitFor((s) => s.state === 'retrying');
    expect(retrying.lastError?.message).toMatch(new RegExp(`kafka destination: topic ${topic} does not exist \\(set options.createTopic`));
    await run.runner.stop();
  });

  it.runIf(!process.env['IDRA_TEST_KAFKA_BROKERS'])(
    'broker down: the status says retrying with the cause, and the sync goes on when the broker is back (needs a broker the test starts)',
    async () => {
      const broker = kafka.own!;
      const topic = newTopic('down');
      await createTopic(topic, 1);
      await produce(
        topic,
        numberedRows(1, 10).map((r) => JSON.stringify(r)),
      );
      const sync = syncBetween(kafkaEndpoint(topic), tableEndpoint(pg, 'down'), { keyColumns: ['id'], batchSize: 5 });
      const state = await tempDir('idra-state-');
      expect((await runOnce(sync, state)).status.rowsCopied).toBe(10);
      await producer.disconnect();
      await broker.kill('SIGKILL');
      const run = new TestRun(sync, state);
      try {
        const retrying = await run.waitFor((s) => s.state === 'retrying', 60_000);
        expect(retrying.lastError?.message).toMatch(/^kafka source: .*(ECONNREFUSED|Connection|connect)/i);
        expect(retrying.retryInMs).toBeGreaterThan(0);
        await broker.start();
        await producer.connect();
        await produce(
          topic,
          numberedRows(11, 5).map((r) => JSON.stringify(r)),
        );
        await run.waitFor((s) => s.state === 'idle' && s.rowsCopied === 5, 90_000);
      } finally {
        await run.runner.stop();
      }
      expect(await pg.count('down')).toBe(15);
    },
    180_000,
  );
});

describeConnectorContract(() => ({
  connector: 'kafka',
  pg: () => pg,
  place: async (name) => {
    const topic = newTopic(name);
    return { destination: kafkaEndpoint(topic, { createTopic: true, partitions: 2 }), source: kafkaEndpoint(topic), sourceSync: {} };
  },
  hangable: () => kafka.own,
  unreachable: async () => ({
    connector: 'kafka',
    connection: { url: `kafka://127.0.0.1:${await freePort()}` },
    topic: 'nowhere',
    options: { connectTimeout: 500 },
  }),
  discovery: (place) => ({ connection: place.source.connection!, listed: { schema: undefined, name: place.source.topic! } }),
}));
