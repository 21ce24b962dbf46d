import { ConnectorError, RowRejectedError, batchSteps, type Batch, type Destination, type EndpointContext, type Row, type WriteResult } from '@idra/core';
import kafkajs, { CompressionTypes, Partitioners, type Admin, type Message, type Producer } from 'kafkajs';

// kafkajs is CommonJS: Node's ESM loader sees only some of its exports as named ones.
const { KafkaJSProtocolError } = kafkajs;
import { connectorFailure } from '../records/connector-failure.ts';
import { settleWithin, untilAborted } from '../records/abortable.ts';
import { encodeColumns, rowToJson, stringifyJson, toJsonValue } from '../records/json-records.ts';
import { messageKey } from './kafka-keys.ts';
import { COLUMNS_HEADER, createKafka, ensureTopic } from './kafka-client.ts';
import { resolveKafkaConfig, type KafkaConfig } from './kafka-options.ts';

// Broker answers that condemn the records sent, not the connection: the error policy decides.
const REJECTED = new Set(['MESSAGE_TOO_LARGE', 'RECORD_LIST_TOO_LARGE', 'INVALID_RECORD', 'CORRUPT_MESSAGE']);

/** A record's bytes beyond its key, value and headers in Kafka's record batch format (lengths, deltas, attributes), rounded up. */
const RECORD_OVERHEAD = 32;

function textBytes(value: string | Buffer | null | undefined): number {
  return value === null || value === undefined ? 0 : typeof value === 'string' ? Buffer.byteLength(value) : value.length;
}

/** The bytes a message takes in a request, estimated uncompressed: its key, value and headers, and the record's own. */
export function messageBytes(m: Message): number {
  let bytes = RECORD_OVERHEAD + textBytes(m.key) + textBytes(m.value);
  for (const [name, value] of Object.entries(m.headers ?? {}))
    bytes += Buffer.byteLength(name) + (Array.isArray(value) ? value : [value]).reduce((n, v) => n + textBytes(v as string | Buffer | undefined), 0);
  return bytes;
}

/** The messages in order, cut into runs of at most `maxBytes` each (a message larger than that alone in its run: the broker judges it). */
export function sendChunks(messages: Message[], maxBytes: number): Message[][] {
  const chunks: Message[][] = [];
  let chunk: Message[] = [];
  let bytes = 0;
  for (const m of messages) {
    const size = messageBytes(m);
    if (chunk.length > 0 && bytes + size > maxBytes) {
      chunks.push(chunk);
      chunk = [];
      bytes = 0;
    }
    chunk.push(m);
    bytes += size;
  }
  if (chunk.length > 0) chunks.push(chunk);
  return chunks;
}

/**
 * Produces each row as one JSON message (key = the row's key columns) and each delete as a tombstone
 * (the key, no value), in the batch's order, with an idempotent producer and `acks: all`, in requests of
 * at most `sendMaxBytes`; `write` returns once the brokers have acknowledged every message. Schema changes need no message: every
 * JSON message carries its columns.
 */
export class KafkaDestination implements Destination {
  private readonly ctx: EndpointContext;
  private readonly config: KafkaConfig;
  private readonly admin: Admin;
  private readonly producer: Producer;

  private constructor(ctx: EndpointContext, config: KafkaConfig, admin: Admin, producer: Producer) {
    this.ctx = ctx;
    this.config = config;
    this.admin = admin;
    this.producer = producer;
  }

  static async open(ctx: EndpointContext): Promise<KafkaDestination> {
    const config = resolveKafkaConfig(ctx);
    const kafka = createKafka(config);
    const admin = kafka.admin();
    // One request in flight keeps the idempotent producer's ordering guarantee across retries.
    const producer = kafka.producer({
      idempotent: true,
      maxInFlightRequests: 1,
      allowAutoTopicCreation: false,
      createPartitioner: Partitioners.DefaultPartitioner,
    });
    try {
      await admin.connect();
      await ensureTopic(admin, config);
      await producer.connect();
      return new KafkaDestination(ctx, config, admin, producer);
    } catch (err) {
      await Promise.allSettled([producer.disconnect(), admin.disconnect()]);
      throw connectorFailure(ctx, err);
    }
  }

  /** The message value of a row: the row as JSON (the columns in a header), or one column's string or bytes. */
  private messageOf(batch: Batch, row: Row, columns: string): { value: string | Buffer; headers?: Record<string, string> } {
    const { valueFormat, valueColumn } = this.config;
    if (valueFormat === 'json') return { value: stringifyJson(rowToJson(row, batch.columns)), headers: { [COLUMNS_HEADER]: columns } };
    const v = toJsonValue(row[valueColumn]);
    // A message without a value is a tombstone (a delete to Kafka's compaction), never made by accident.
    if (v === null)
      throw new RowRejectedError(
        batch.rows.length === 1 ? row : undefined,
        new Error(`kafka destination: ${valueColumn} is null, and a message without a value would be a tombstone`),
      );
    if (valueFormat === 'bytes')
      return {
        value:
          Buffer.isBuffer(row[valueColumn]) || row[valueColumn] instanceof Uint8Array ? Buffer.from(row[valueColumn] as Uint8Array) : Buffer.from(String(v)),
      };
    return { value: typeof v === 'string' ? v : stringifyJson(v) };
  }

  /** A delete as Kafka says it: the row's key without a value (compaction then drops the key's messages). */
  private tombstone(key: Row): { key: string; value: null } {
    const text = messageKey(key, this.ctx.sync.keyColumns);
    if (text === null) {
      throw new ConnectorError({
        connector: 'kafka',
        role: 'destination',
        syncId: this.ctx.sync.id,
        transient: false,
        message: 'a delete reached the topic, but a tombstone needs the key of the row: set keyColumns',
      });
    }
    return { key: text, value: null };
  }

  async write(batch: Batch, signal: AbortSignal): Promise<WriteResult> {
    const keys = this.ctx.sync.keyColumns;
    const { valueFormat, valueColumn } = this.config;
    if (valueFormat !== 'json' && batch.rows.length > 0 && !batch.columns.some((c) => c.name === valueColumn)) {
      throw new ConnectorError({
        connector: 'kafka',
        role: 'destination',
        syncId: this.ctx.sync.id,
        transient: false,
        message: `the rows have no column ${JSON.stringify(valueColumn)} for the message value (valueFormat ${valueFormat}): set options.valueColumn`,
      });
    }
    const columns = encodeColumns(batch.columns);
    const messages = batchSteps(batch).flatMap((step): Message[] =>
      step.kind === 'rows'
        ? step.rows.map((row) => ({ key: messageKey(row, keys), ...this.messageOf(batch, row, columns) }))
        : step.kind === 'deletes'
          ? step.keys.map((key) => this.tombstone(key))
          : [],
    );
    try {
      // One request per chunk, one after another (their order is the batch's): a broker refuses a
      // request larger than its message.max.bytes, and a whole batch of 8 MiB would never pass.
      for (const chunk of sendChunks(messages, this.config.sendMaxBytes)) {
        // kafkajs cannot abort a send: stop waiting for it (its messages may still land; the offset is not committed, so they are sent again).
        const sent = this.producer.send({
          topic: this.config.topic,
          acks: -1,
          compression: this.config.compression === 'gzip' ? CompressionTypes.GZIP : CompressionTypes.None,
          messages: chunk,
        });
        await untilAborted(sent, signal);
      }
      return { written: batch.rows.length };
    } catch (err) {
      const cause = err instanceof KafkaJSProtocolError ? err : (err as { cause?: unknown }).cause;
      if (cause instanceof KafkaJSProtocolError && REJECTED.has(cause.type)) {
        throw new RowRejectedError(batch.rows.length === 1 ? batch.rows[0] : undefined, cause);
      }
      throw connectorFailure(this.ctx, err);
    }
  }

  async close(): Promise<void> {
    // A broker that stopped answering would hold a disconnect for the request timeout.
    await settleWithin(Promise.allSettled([this.producer.disconnect(), this.admin.disconnect()]), 1000);
  }
}
