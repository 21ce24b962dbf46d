import { RowRejectedError, type Batch, type Destination, type EndpointContext, type Row, type WriteResult } from '@idra/core';
import kafkajs, { CompressionTypes, Partitioners, type Admin, type Producer } from 'kafkajs';

// kafkajs is CommonJS: Node's ESM loader sees only some of its exports as named ones.
const { KafkaJSProtocolError } = kafkajs;
import { connectorFailure } from '../records/connector-failure.ts';
import { settleWithin, untilAborted } from '../records/abortable.ts';
import { encodeColumns, rowToJson, stringifyJson, toJsonValue } from '../records/json-records.ts';
import { COLUMNS_HEADER, createKafka, ensureTopic } from './kafka-client.ts';
import { resolveKafkaConfig, type KafkaConfig } from './kafka-options.ts';

// Broker answers that condemn the records sent, not the connection: the error policy decides.
const REJECTED = new Set(['MESSAGE_TOO_LARGE', 'RECORD_LIST_TOO_LARGE', 'INVALID_RECORD', 'CORRUPT_MESSAGE']);

/** The message key of a row: its key column's text, or a JSON array of several; none without key columns. */
export function messageKey(row: Row, keyColumns: readonly string[]): string | null {
  if (keyColumns.length === 0) return null;
  const values = keyColumns.map((k) => toJsonValue(row[k]));
  if (values.length === 1) {
    const v = values[0];
    return v === null ? null : typeof v === 'string' ? v : stringifyJson(v);
  }
  return stringifyJson(values);
}

/**
 * Produces each row as one JSON message (key = the row's key columns), with an idempotent
 * producer and `acks: all`; `write` returns once the brokers have acknowledged every message.
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
    const producer = kafka.producer({ idempotent: true, maxInFlightRequests: 1, allowAutoTopicCreation: false, createPartitioner: Partitioners.DefaultPartitioner });
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

  async write(batch: Batch, signal: AbortSignal): Promise<WriteResult> {
    const keys = this.ctx.sync.keyColumns;
    const columns = encodeColumns(batch.columns);
    const messages = batch.rows.map((row) => ({
      key: messageKey(row, keys),
      value: stringifyJson(rowToJson(row, batch.columns)),
      headers: { [COLUMNS_HEADER]: columns },
    }));
    try {
      // kafkajs cannot abort a send: stop waiting for it (its messages may still land; the offset is not committed, so they are sent again).
      const sent = this.producer.send({
        topic: this.config.topic,
        acks: -1,
        compression: this.config.compression === 'gzip' ? CompressionTypes.GZIP : CompressionTypes.None,
        messages,
      });
      await untilAborted(sent, signal);
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
