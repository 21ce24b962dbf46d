import {
  ConnectorError,
  type Batch,
  type Change,
  type Column,
  type EndpointContext,
  type Lag,
  type LogicalType,
  type Position,
  type Row,
  type Source,
} from '@idra/core';
import type { Admin, Kafka } from 'kafkajs';
import { connectorFailure } from '../records/connector-failure.ts';
import { canonicalTimestamp, decodeColumns, decodeJsonRecord, recordColumns, recordRow, selectColumns, type DecodedRecord } from '../records/json-records.ts';
import { undecodableRow } from '@idra/core';
import { COLUMNS_HEADER, createKafka, ensureTopic, PartitionFetcher, type FetchedMessage } from './kafka-client.ts';
import { keyOfMessage } from './kafka-keys.ts';
import { resolveKafkaConfig, type KafkaConfig, type MessageMetadata } from './kafka-options.ts';

/** The stored offset of a Kafka source: for each partition, the offset of the next message to read. */
export type KafkaOffsets = Record<string, string>;

const METADATA_TYPES: Record<MessageMetadata, LogicalType> = { key: 'text', partition: 'int32', offset: 'int64', timestamp: 'timestamp', headers: 'json' };

// A read fetches again (from where the last fetch ended) while the batch is not full, at most this often.
const MAX_FETCH_ROUNDS = 8;

function storedOffsets(ctx: EndpointContext, position: Position): Map<number, string> {
  if (position.kind !== 'stream') throw new Error(`kafka source: offset of kind '${position.kind}' given, 'stream' expected`);
  const offsets = new Map<number, string>();
  if (position.value === null || position.value === undefined) return offsets;
  const value = position.value;
  if (typeof value !== 'object' || Array.isArray(value)) {
    throw new ConnectorError({
      connector: 'kafka',
      role: 'source',
      syncId: ctx.sync.id,
      transient: false,
      message: 'stored offset is not a {partition: offset} object',
    });
  }
  for (const [partition, offset] of Object.entries(value as Record<string, unknown>)) {
    if (!/^\d+$/.test(partition) || typeof offset !== 'string' || !/^\d+$/.test(offset)) {
      throw new ConnectorError({
        connector: 'kafka',
        role: 'source',
        syncId: ctx.sync.id,
        transient: false,
        message: `stored offset has an invalid entry ${JSON.stringify(partition)}: ${JSON.stringify(offset)}`,
      });
    }
    offsets.set(Number(partition), offset);
  }
  return offsets;
}

function headerText(message: FetchedMessage, name: string): string | undefined {
  const v = message.headers?.[name];
  const first = Array.isArray(v) ? v[0] : v;
  return first === undefined ? undefined : first.toString();
}

/** Merges per-partition message lists by timestamp, keeping each partition's order; at most `limit`. */
function mergeByTime(lists: Map<number, FetchedMessage[]>, limit: number): Array<{ partition: number; message: FetchedMessage }> {
  const heads = new Map([...lists].map(([p, list]) => [p, 0]));
  const out: Array<{ partition: number; message: FetchedMessage }> = [];
  while (out.length < limit) {
    let best: number | undefined;
    for (const [p, i] of heads) {
      const m = lists.get(p)![i];
      if (m === undefined) continue;
      if (best === undefined || BigInt(m.timestamp) < BigInt(lists.get(best)![heads.get(best)!]!.timestamp)) best = p;
    }
    if (best === undefined) break;
    const i = heads.get(best)!;
    out.push({ partition: best, message: lists.get(best)![i]! });
    heads.set(best, i + 1);
  }
  return out;
}

/**
 * Reads a topic's JSON messages after the partition offsets kept in the sync's offset
 * (`{ kind: 'stream', value: { "0": "42", … } }`, the next offset per partition), without a
 * consumer group: offsets are the sync's alone, fenced and editable like any other.
 */
export class KafkaSource implements Source {
  private readonly ctx: EndpointContext;
  private readonly config: KafkaConfig;
  private readonly admin: Admin;
  private readonly fetcher: PartitionFetcher;
  /** The position whose group commit failed, to be tried again. */
  private groupBehind: Position | undefined;
  /** Where partitions without a stored offset start, fixed once per run so that `latest` misses nothing between reads. */
  private readonly startOffsets = new Map<number, string>();

  private constructor(ctx: EndpointContext, config: KafkaConfig, admin: Admin, fetcher: PartitionFetcher) {
    this.ctx = ctx;
    this.config = config;
    this.admin = admin;
    this.fetcher = fetcher;
  }

  static async open(ctx: EndpointContext): Promise<KafkaSource> {
    const config = resolveKafkaConfig(ctx);
    const kafka: Kafka = createKafka(config);
    const admin = kafka.admin();
    let fetcher: PartitionFetcher | undefined;
    try {
      await admin.connect();
      await ensureTopic(admin, config);
      fetcher = await PartitionFetcher.open(kafka, config);
      return new KafkaSource(ctx, config, admin, fetcher);
    } catch (err) {
      await fetcher?.close().catch(() => {});
      await admin.disconnect().catch(() => {});
      throw connectorFailure(ctx, err);
    }
  }

  /** Offsets to read from per partition, checked against what the broker still has. */
  private async readOffsets(position: Position): Promise<{ offsets: Map<number, string>; high: Map<number, string> }> {
    const stored = storedOffsets(this.ctx, position);
    const watermarks = await this.admin.fetchTopicOffsets(this.config.topic);
    const offsets = new Map<number, string>();
    const high = new Map<number, string>();
    for (const { partition, low, high: end } of watermarks) {
      high.set(partition, end);
      let offset = stored.get(partition) ?? this.startOffsets.get(partition);
      if (offset === undefined) {
        offset = this.config.startFrom === 'earliest' ? low : end;
        this.startOffsets.set(partition, offset);
      }
      if (BigInt(offset) < BigInt(low) || BigInt(offset) > BigInt(end)) {
        throw new ConnectorError({
          connector: 'kafka',
          role: 'source',
          syncId: this.ctx.sync.id,
          transient: false,
          message: `partition ${partition} of ${this.config.topic}: offset ${offset} is outside what the broker has (${low} to ${end}); messages were deleted or the topic was recreated: set the sync's offset to go on`,
        });
      }
      offsets.set(partition, offset);
    }
    return { offsets, high };
  }

  async read(position: Position, limit: number, signal: AbortSignal): Promise<Batch> {
    try {
      const { offsets, high } = await this.readOffsets(position);
      const next = new Map(offsets);
      const lists = new Map<number, FetchedMessage[]>();
      let pending = new Map([...offsets].filter(([p, offset]) => BigInt(offset) < BigInt(high.get(p)!)));
      let total = 0;
      for (let round = 0; round < MAX_FETCH_ROUNDS && pending.size > 0 && total < limit && !signal.aborted; round++) {
        const fetched = await this.fetcher.fetch(pending);
        const again = new Map<number, string>();
        for (const f of fetched) {
          lists.set(f.partition, [...(lists.get(f.partition) ?? []), ...f.messages]);
          total += f.messages.length;
          const moved = f.nextOffset !== pending.get(f.partition);
          next.set(f.partition, f.nextOffset);
          if (moved && BigInt(f.nextOffset) < BigInt(f.highWatermark)) again.set(f.partition, f.nextOffset);
        }
        pending = again;
      }
      const taken = mergeByTime(lists, limit);
      const lastTaken = new Map<number, { message: FetchedMessage; count: number }>();
      for (const t of taken) lastTaken.set(t.partition, { message: t.message, count: (lastTaken.get(t.partition)?.count ?? 0) + 1 });
      const value: KafkaOffsets = {};
      for (const [p, from] of offsets) {
        const last = lastTaken.get(p);
        if ((last?.count ?? 0) === (lists.get(p)?.length ?? 0))
          value[String(p)] = next.get(p)!; // all of it, and past trailing control records
        else value[String(p)] = last ? (BigInt(last.message.offset) + 1n).toString() : from;
      }
      const { columns, rows, changes } = this.decode(taken);
      return { columns, rows, ...(changes.length > 0 ? { changes } : {}), position: rows.length + changes.length > 0 ? { kind: 'stream', value } : position };
    } catch (err) {
      throw connectorFailure(this.ctx, err);
    }
  }

  /** The message's value as a record: a JSON object's fields, or the string or bytes in one column. */
  private valueRecord(value: Buffer): DecodedRecord {
    const { valueFormat, valueColumn } = this.config;
    if (valueFormat === 'json') return decodeJsonRecord(value.toString('utf8'));
    const row = { [valueColumn]: valueFormat === 'string' ? value.toString('utf8') : Buffer.from(value) };
    return { row, types: new Map([[valueColumn, valueFormat === 'string' ? 'text' : 'bytes']]) };
  }

  /** The metadata columns asked for, with their values for `message`. */
  private metadata(partition: number, message: FetchedMessage): Row {
    const values: Record<MessageMetadata, () => unknown> = {
      key: () => message.key?.toString('utf8') ?? null,
      partition: () => partition,
      offset: () => message.offset,
      timestamp: () => canonicalTimestamp(new Date(Number(message.timestamp))),
      headers: () => Object.fromEntries(Object.entries(message.headers ?? {}).map(([k, v]) => [k, Array.isArray(v) ? v.map(String) : (v?.toString() ?? null)])),
    };
    const row: Row = {};
    for (const [what, column] of Object.entries(this.config.metadataColumns) as Array<[MessageMetadata, string]>) row[column] = values[what]();
    return row;
  }

  /**
   * Messages as rows, tombstones (a key without a value) as deletes of the row their key names, in
   * the topic's order; messages that cannot be read (not a JSON object, a tombstone without a key or
   * in a sync without keyColumns) become placeholders for the error policy.
   */
  private decode(taken: Array<{ partition: number; message: FetchedMessage }>): { columns: Column[]; rows: Row[]; changes: Change[] } {
    const { topic, valueFormat } = this.config;
    const decoded: Array<DecodedRecord | Row> = [];
    const records: DecodedRecord[] = [];
    const changes: Change[] = [];
    let carried: Column[] | undefined;
    for (const { partition, message } of taken) {
      const origin = { topic, partition, offset: message.offset, key: message.key?.toString() ?? null, value: message.value?.toString() ?? null };
      try {
        if (message.value === null) {
          const key = origin.key === null ? undefined : keyOfMessage(origin.key, this.ctx.sync.keyColumns);
          if (key) {
            changes.push({ kind: 'delete', at: decoded.length, key });
            continue;
          }
          throw new Error(
            origin.key === null
              ? 'message has no value and no key (a tombstone deletes the row its key names)'
              : this.ctx.sync.keyColumns.length === 0
                ? 'message has no value (a tombstone: set keyColumns to delete the row its key names)'
                : `message has no value, and its key names no row of the key columns (${this.ctx.sync.keyColumns.join(', ')})`,
          );
        }
        const record = this.valueRecord(message.value);
        Object.assign(record.row, this.metadata(partition, message));
        carried ??= decodeColumns(headerText(message, COLUMNS_HEADER));
        records.push(record);
        decoded.push(record);
      } catch (err) {
        const what = valueFormat === 'json' ? 'is not a JSON object' : 'has no value';
        decoded.push(undecodableRow(origin, new Error(`kafka source: message ${topic}/${partition}@${message.offset} ${what}: ${(err as Error).message}`)));
      }
    }
    const metadata = (Object.entries(this.config.metadataColumns) as Array<[MessageMetadata, string]>).map(([what, name]): Column => ({
      name,
      type: METADATA_TYPES[what],
    }));
    const given = [...this.config.columnTypes, ...metadata];
    const declared = [...given, ...(carried ?? []).filter((c) => !given.some((d) => d.name === c.name))];
    const columns = selectColumns(recordColumns(records, declared), this.ctx.endpoint.columns);
    const isRecord = new Set<unknown>(records);
    return { columns, rows: decoded.map((d) => (isRecord.has(d) ? recordRow(d as DecodedRecord, columns) : (d as Row))), changes };
  }

  /**
   * The consumer group follows the sync's offsets (see the consumerGroup option). A commit the broker
   * refuses (its offsets topic still loading) is tried again at the next lag check, so an idle sync's
   * group catches up too.
   */
  async committed(position: Position): Promise<void> {
    const groupId = this.config.consumerGroup;
    if (!groupId) return;
    this.groupBehind = position;
    const offsets = storedOffsets(this.ctx, position);
    if (offsets.size > 0) await this.fetcher.commitGroupOffsets(groupId, offsets);
    if (this.groupBehind === position) this.groupBehind = undefined;
  }

  async lag(position: Position): Promise<Lag | undefined> {
    if (this.groupBehind) await this.committed(this.groupBehind).catch(() => {});
    const stored = storedOffsets(this.ctx, position);
    const watermarks = await this.admin.fetchTopicOffsets(this.config.topic);
    let rows = 0;
    const parts: Record<string, number> = {};
    for (const { partition, low, high } of watermarks) {
      const from = stored.get(partition) ?? this.startOffsets.get(partition) ?? low;
      parts[String(partition)] = Math.max(0, Number(BigInt(high) - BigInt(from)));
      rows += parts[String(partition)]!;
    }
    return { rows, parts };
  }

  async close(): Promise<void> {
    await Promise.allSettled([this.fetcher.close(), this.admin.disconnect()]);
  }
}
