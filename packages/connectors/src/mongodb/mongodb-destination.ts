import { MongoBulkWriteError, ObjectId, type AnyBulkWriteOperation, type Document, type WriteError } from 'mongodb';
import {
  RowRejectedError,
  modeInfo,
  orderColumns,
  type Batch,
  type DestinationMode,
  type Destination,
  type EndpointContext,
  type Position,
  type Row,
  type WriteResult,
} from '@idra/core';
import { settleWithin, untilAborted } from '../records/abortable.ts';
import { connectMongo, mongoFailure, type MongoConnection } from './mongodb-client.ts';
import { resolveMongoConfig, type MongoConfig } from './mongodb-options.ts';
import { documentToRecord, RAW_BSON, rowToDocument } from './mongodb-values.ts';

const DUPLICATE_KEY = 11000;
// Write errors that are about the server, not the document: retried, never set aside.
const SERVER_SIDE = new Set([
  91 /* ShutdownInProgress */, 189 /* PrimarySteppedDown */, 10107 /* NotWritablePrimary */, 11600, 11602, 13435, 13436, 64 /* WriteConcernFailed */,
]);

const asList = <T>(v: T | T[] | undefined): T[] => (v === undefined ? [] : Array.isArray(v) ? v : [v]);

/**
 * Writes rows as documents with one unordered `bulkWrite` per batch: `insert` mode inserts (a
 * duplicate key keeps the existing document), `upsert` mode sets the row's fields by the key columns
 * (upsert; fields the row lacks keep their stored values).
 * Rows whose operation column (from a change stream) says `delete` are deleted by key. When the
 * key is not `_id` a unique index on it is created (with `createTable`), so keys stay unique.
 */
export class MongoDestination implements Destination {
  private readonly ctx: EndpointContext;
  private readonly config: MongoConfig;
  private readonly conn: MongoConnection;
  private indexed = false;
  /** `_id`s given to rows without key columns, so that retrying a row (error isolation) cannot insert it twice. */
  private readonly assignedIds = new WeakMap<Row, ObjectId>();

  private constructor(ctx: EndpointContext, config: MongoConfig, conn: MongoConnection) {
    this.ctx = ctx;
    this.config = config;
    this.conn = conn;
  }

  static async open(ctx: EndpointContext): Promise<MongoDestination> {
    const config = resolveMongoConfig(ctx);
    return new MongoDestination(ctx, config, await connectMongo(ctx, config));
  }

  private async ensureKeyIndex(): Promise<void> {
    const keys = this.ctx.sync.keyColumns;
    if (this.indexed || keys.length === 0 || (keys.length === 1 && keys[0] === '_id') || !this.ctx.sync.createTable) return;
    await this.conn.collection.createIndex(Object.fromEntries(keys.map((k) => [k, 1])), { unique: true, name: `idra_key_${keys.join('_')}`.slice(0, 120) });
    this.indexed = true;
  }

  /**
   * One operation per key, as applying the rows in order would leave the document (an unordered
   * bulkWrite cannot be relied on for order): a delete decides; after a delete the row replaces the
   * document; insert keeps the first row; upsert sets the fields the rows have (merged in order), so
   * a field a row lacks keeps its stored value (see rows-by-key.ts).
   */
  private operations(batch: Batch): AnyBulkWriteOperation<Document>[] {
    const { keyColumns: keys, writeMode } = this.ctx.sync;
    const opColumn = this.config.operationColumn;
    const columns = batch.columns.filter((c) => c.name !== opColumn);
    const byKey = new Map<string, { filter: Document; doc: Document; deleting: boolean; replace: boolean }>();
    const keyless: AnyBulkWriteOperation<Document>[] = [];
    for (const row of batch.rows) {
      const doc = rowToDocument(row, columns, this.config);
      const deleting = row[opColumn] === 'delete';
      const filterFields = keys.length > 0 ? keys : deleting || '_id' in doc ? ['_id'] : [];
      if (filterFields.length === 0 || filterFields.some((k) => doc[k] === null || doc[k] === undefined)) {
        if (deleting) throw new RowRejectedError(batch.rows.length === 1 ? row : undefined, new Error('a delete without a key value cannot be applied'));
        let id = this.assignedIds.get(row);
        if (!id) this.assignedIds.set(row, (id = new ObjectId()));
        keyless.push({ insertOne: { document: { ...doc, _id: id } } });
        continue;
      }
      const filter = Object.fromEntries(filterFields.map((k) => [k, doc[k]]));
      const key = JSON.stringify(filterFields.map((k) => String(doc[k])));
      const prior = byKey.get(key);
      if (deleting || !prior) byKey.set(key, { filter, doc, deleting, replace: false });
      else if (prior.deleting) byKey.set(key, { filter, doc, deleting: false, replace: true });
      else if (writeMode === 'upsert') byKey.set(key, { ...prior, doc: { ...prior.doc, ...doc } });
    }
    const ops = [...byKey.values()].map(({ filter, doc, deleting, replace }): AnyBulkWriteOperation<Document> => {
      if (deleting) return { deleteOne: { filter } };
      if (replace) return { replaceOne: { filter, replacement: doc, upsert: true } };
      if (writeMode === 'insert') return { insertOne: { document: doc } };
      const set = Object.fromEntries(Object.entries(doc).filter(([k]) => !(k in filter)));
      // An empty $set is refused; a row with nothing but its key only makes sure the document exists.
      return { updateOne: { filter, update: Object.keys(set).length > 0 ? { $set: set } : { $setOnInsert: filter }, upsert: true } };
    });
    return [...ops, ...keyless];
  }

  async write(batch: Batch, signal: AbortSignal): Promise<WriteResult> {
    // The driver's writes take no signal: an abort closes the client, which fails what it has in flight.
    const closeOnAbort = () => void this.conn.client.close().catch(() => {});
    try {
      await untilAborted(this.ensureKeyIndex(), signal, closeOnAbort);
      const ops = this.operations(batch);
      if (ops.length > 0) await untilAborted(this.conn.collection.bulkWrite(ops, { ordered: false }), signal, closeOnAbort);
      return { written: batch.rows.length };
    } catch (err) {
      if (err instanceof MongoBulkWriteError) {
        const errors: WriteError[] = asList(err.writeErrors as WriteError | WriteError[]);
        // A duplicate key on insert means the document is there already: it is kept.
        const fatal = errors.filter((e) => e.code !== DUPLICATE_KEY);
        if (errors.length > 0 && fatal.length === 0) return { written: batch.rows.length };
        if (fatal.length > 0 && fatal.every((e) => !SERVER_SIDE.has(e.code))) {
          throw new RowRejectedError(
            batch.rows.length === 1 ? batch.rows[0] : undefined,
            new Error(`mongodb destination: ${fatal[0]!.errmsg ?? `write error ${fatal[0]!.code}`}`),
          );
        }
      }
      throw mongoFailure(this.ctx, err);
    }
  }

  async resumePosition(mode: DestinationMode): Promise<Position> {
    const fields = orderColumns(this.ctx.sync);
    try {
      const newest = await this.conn.collection.findOne({ [fields[0]!]: { $ne: null } }, { sort: Object.fromEntries(fields.map((f) => [f, -1])), ...RAW_BSON });
      const row = newest ? documentToRecord(newest).row : undefined;
      const text = (f: string) => (row?.[f] === null || row?.[f] === undefined ? null : String(row[f]));
      return modeInfo(mode).timestamp ? { kind: 'timestamp', value: text(fields[0]!), tiebreaker: text(fields[1]!) } : { kind: 'id', value: text(fields[0]!) };
    } catch (err) {
      throw mongoFailure(this.ctx, err);
    }
  }

  async close(): Promise<void> {
    // Closing ends the server sessions, which waits for a connection timeout when the server no longer answers.
    await settleWithin(this.conn.client.close(), 1000);
  }
}
