import type { ChangeStream, ChangeStreamDocument, Document, ResumeToken } from 'mongodb';
import { ConnectorError, type Batch, type EndpointContext, type Position, type Row, type Source } from '@idra/core';
import { presentFields, recordColumns, type DecodedRecord } from '../records/json-records.ts';
import { connectMongo, mongoFailure, supportsChangeStreams, type MongoConnection } from './mongodb-client.ts';
import type { MongoConfig } from './mongodb-options.ts';
import { documentToRecord, RAW_BSON } from './mongodb-values.ts';

/**
 * `stream` mode: a collection's change stream. The offset is the resume token of the last event
 * copied; inserts, updates and replacements carry the full document (looked up at read time),
 * deletes carry the document key. Every row has the operation in `options.operationColumn`
 * (`_op`), which a MongoDB destination applies (deleting by key). Needs a replica set or a
 * sharded cluster; a standalone server is reported as such and not retried.
 */
export class MongoChangeStreamSource implements Source {
  private readonly ctx: EndpointContext;
  private readonly config: MongoConfig;
  private readonly conn: MongoConnection;
  private stream: ChangeStream | undefined;
  /** The position (as JSON) the open stream has reached: reads from it go on without reopening. */
  private streamAt: string | undefined;
  /** Set when the open stream met an event that ends it (drop, rename, invalidate): the next read from there fails with it. */
  private ended: ConnectorError | undefined;

  private constructor(ctx: EndpointContext, config: MongoConfig, conn: MongoConnection) {
    this.ctx = ctx;
    this.config = config;
    this.conn = conn;
  }

  static async open(ctx: EndpointContext, config: MongoConfig): Promise<MongoChangeStreamSource> {
    const conn = await connectMongo(ctx, config);
    try {
      if (!(await supportsChangeStreams(conn.client))) {
        throw new ConnectorError({
          connector: 'mongodb',
          role: 'source',
          syncId: ctx.sync.id,
          transient: false,
          message: `change streams need a replica set or a sharded cluster, and the server at ${new URL(config.url).host} is neither: use 'id' or 'timestamp' mode with it`,
        });
      }
    } catch (err) {
      await conn.client.close().catch(() => {});
      throw mongoFailure(ctx, err);
    }
    return new MongoChangeStreamSource(ctx, config, conn);
  }

  private async streamFrom(position: Position, limit: number): Promise<ChangeStream> {
    const token = position.kind === 'stream' ? ((position.value ?? null) as ResumeToken | null) : null;
    const key = JSON.stringify(token);
    if (!this.stream || this.streamAt !== key) {
      await this.stream?.close();
      this.stream = this.conn.collection.watch([], {
        fullDocument: 'updateLookup',
        maxAwaitTimeMS: this.config.maxAwaitTimeMs,
        batchSize: limit,
        ...RAW_BSON,
        ...(token ? { resumeAfter: token } : {}),
      });
      this.streamAt = key;
      this.ended = undefined;
    }
    return this.stream;
  }

  /** A data change as a record; undefined for an event that ends the stream (recorded in `ended`). */
  private toRecord(event: ChangeStreamDocument<Document>): DecodedRecord | undefined {
    const op = this.config.operationColumn;
    switch (event.operationType) {
      case 'insert':
      case 'update':
      case 'replace': {
        const doc = event.fullDocument ?? event.documentKey;
        const record = documentToRecord(doc);
        record.row[op] = event.operationType;
        record.types.set(op, 'text');
        return record;
      }
      case 'delete': {
        const record = documentToRecord(event.documentKey);
        record.row[op] = 'delete';
        record.types.set(op, 'text');
        return record;
      }
      default:
        this.ended = new ConnectorError({
          connector: 'mongodb',
          role: 'source',
          syncId: this.ctx.sync.id,
          transient: false,
          message: `the change stream of ${this.config.collection} ended with a '${event.operationType}' event (collection dropped or renamed): reset the sync's offset to go on`,
        });
        return undefined;
    }
  }

  async read(position: Position, limit: number, signal: AbortSignal): Promise<Batch> {
    try {
      const stream = await this.streamFrom(position, limit);
      if (this.ended) throw this.ended;
      const records: DecodedRecord[] = [];
      let last: ResumeToken | undefined;
      while (records.length < limit && !signal.aborted) {
        const event = await stream.tryNext();
        if (!event) break;
        const record = this.toRecord(event);
        // The changes before the end are copied first; the next read reports the end.
        if (!record) break;
        records.push(record);
        last = event._id;
      }
      if (last === undefined && this.ended) throw this.ended;
      if (last === undefined) return { columns: [], rows: [], position };
      this.streamAt = JSON.stringify(last);
      const columns = recordColumns(records);
      const rows: Row[] = records.map((r) => presentFields(r.row, columns));
      return { columns, rows, position: { kind: 'stream', value: last } };
    } catch (err) {
      // A failed stream is reopened from the requested position on the next read.
      await this.stream?.close().catch(() => {});
      this.stream = undefined;
      throw mongoFailure(this.ctx, err);
    }
  }

  async close(): Promise<void> {
    await this.stream?.close().catch(() => {});
    await this.conn.client.close();
  }
}
