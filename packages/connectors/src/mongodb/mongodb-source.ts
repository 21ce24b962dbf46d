import type { BSONType, Document, Filter } from 'mongodb';
import { orderColumns, type Batch, type EndpointContext, type KeyLister, type Lag, type Position, type Row, type Source } from '@idra/core';
import { presentFields, recordColumns, type DecodedRecord } from '../records/json-records.ts';
import { connectMongo, mongoFailure, type MongoConnection } from './mongodb-client.ts';
import { mongoKeyLister } from './mongodb-keys.ts';
import { resolveMongoConfig } from './mongodb-options.ts';
import { bsonTypeOf, cursorToBson, documentToRecord, RAW_BSON } from './mongodb-values.ts';
import { MongoChangeStreamSource } from './mongodb-change-stream.ts';

type BsonTypeName = keyof typeof BSONType;

/** Position → the text values of the order fields it is after; undefined at the start. */
function positionValues(position: Position): string[] | undefined {
  switch (position.kind) {
    case 'id':
      return position.value === null ? undefined : [position.value];
    case 'timestamp':
      return position.value === null ? undefined : [position.value, position.tiebreaker ?? ''];
    case 'full':
      return position.value.after ?? undefined;
    case 'stream':
      return undefined;
  }
}

/** `(f1, …, fn) > (v1, …, vn)` as a MongoDB filter. */
function keysetFilter(fields: readonly string[], values: readonly unknown[]): Filter<Document> {
  return { $or: fields.map((f, i) => ({ ...Object.fromEntries(fields.slice(0, i).map((p, j) => [p, values[j]])), [f]: { $gt: values[i] } })) };
}

/**
 * Reads a collection in `id`, `timestamp` or `full` mode: documents ordered by the cursor field
 * plus its tiebreaker (usually `_id`), keyset-paged after the stored position. `stream` mode
 * (change streams) is {@link MongoChangeStreamSource}.
 */
export class MongoSource implements Source {
  private readonly ctx: EndpointContext;
  private readonly conn: MongoConnection;
  private readonly order: string[];
  private readonly projection: Document | undefined;
  /** BSON type each order field holds in the collection, learnt from a sample, so stored text turns back into comparable values. */
  private readonly fieldTypes = new Map<string, BsonTypeName | undefined>();

  private constructor(ctx: EndpointContext, conn: MongoConnection) {
    this.ctx = ctx;
    this.conn = conn;
    this.order = orderColumns(ctx.sync);
    const wanted = ctx.endpoint.columns;
    // _id comes along unless it is excluded by name.
    this.projection = wanted
      ? {
          ...Object.fromEntries([...new Set([...wanted, ...this.order])].map((f) => [f, 1])),
          ...(wanted.includes('_id') || this.order.includes('_id') ? {} : { _id: 0 }),
        }
      : undefined;
  }

  static async open(ctx: EndpointContext): Promise<Source> {
    const config = resolveMongoConfig(ctx);
    if (ctx.sync.mode === 'stream') return MongoChangeStreamSource.open(ctx, config);
    const conn = await connectMongo(ctx, config);
    return new MongoSource(ctx, conn);
  }

  private async typeOf(field: string): Promise<BsonTypeName | undefined> {
    if (!this.fieldTypes.has(field) || this.fieldTypes.get(field) === undefined) {
      const sample = await this.conn.collection.findOne({ [field]: { $ne: null } }, { projection: { [field]: 1 }, ...RAW_BSON });
      this.fieldTypes.set(field, sample ? bsonTypeOf(sample[field]) : undefined);
    }
    return this.fieldTypes.get(field);
  }

  async read(position: Position, limit: number, signal: AbortSignal): Promise<Batch> {
    const { sync } = this.ctx;
    try {
      const clauses: Filter<Document>[] = [{ [this.order[0]!]: { $ne: null } }];
      const after = positionValues(position);
      if (after) {
        const values = await Promise.all(after.map(async (text, i) => cursorToBson(text, await this.typeOf(this.order[i]!))));
        clauses.push(keysetFilter(this.order, values));
      }
      if (sync.mode === 'timestamp' && sync.delayMs > 0) clauses.push({ [this.order[0]!]: { $lt: new Date(Date.now() - sync.delayMs) } });
      const sort: Record<string, 1> = Object.fromEntries(this.order.map((f) => [f, 1]));
      if (!('_id' in sort)) sort['_id'] = 1;
      const docs = await this.conn.collection
        .find({ $and: clauses }, { sort, limit, ...RAW_BSON, ...(this.projection ? { projection: this.projection } : {}) })
        .toArray();
      if (signal.aborted) return { columns: [], rows: [], position };
      const records: DecodedRecord[] = docs.map(documentToRecord);
      const columns = recordColumns(records);
      const rows: Row[] = records.map((r) => presentFields(r.row, columns));
      const last = records[records.length - 1];
      return { columns, rows, position: last ? this.positionAfter(position, last.row) : position };
    } catch (err) {
      throw mongoFailure(this.ctx, err);
    }
  }

  private positionAfter(position: Position, last: Row): Position {
    const text = (f: string) => {
      const v = last[f];
      return v === null || v === undefined ? '' : typeof v === 'string' ? v : JSON.stringify(v);
    };
    switch (position.kind) {
      case 'id':
        return { kind: 'id', value: text(this.order[0]!) };
      case 'timestamp':
        return { kind: 'timestamp', value: text(this.order[0]!), tiebreaker: text(this.order[1]!) };
      case 'full':
        return { kind: 'full', value: { run: position.value.run, after: this.order.map(text) } };
      case 'stream':
        return position;
    }
  }

  keyLister(): KeyLister {
    return mongoKeyLister(this.ctx, this.conn);
  }

  async lag(position: Position): Promise<Lag | undefined> {
    if (position.kind !== 'id' && position.kind !== 'timestamp') return undefined;
    const field = this.order[0]!;
    const newest = await this.conn.collection.findOne({ [field]: { $ne: null } }, { sort: { [field]: -1 }, projection: { [field]: 1 }, ...RAW_BSON });
    if (!newest) return { rows: 0, head: undefined };
    const head = documentToRecord(newest).row[field];
    const headText = head === null || head === undefined ? undefined : String(head);
    if (position.kind === 'id') {
      const rows =
        headText && position.value && /^-?\d+$/.test(headText) && /^-?\d+$/.test(position.value)
          ? Number(BigInt(headText) - BigInt(position.value))
          : undefined;
      return { head: headText, rows: rows === undefined ? undefined : Math.max(0, rows) };
    }
    const toMs = (t: string) => Date.parse(t.replace(' ', 'T') + 'Z');
    const seconds = headText && position.value ? Math.max(0, (toMs(headText) - toMs(position.value)) / 1000) : undefined;
    return { head: headText, seconds: Number.isFinite(seconds) ? seconds : undefined };
  }

  async close(): Promise<void> {
    await this.conn.client.close();
  }
}
