import { MongoBulkWriteError, ObjectId, type AnyBulkWriteOperation, type Document, type WriteError } from 'mongodb';
import {
  RowRejectedError,
  batchSteps,
  modeInfo,
  orderColumns,
  type Batch,
  type DestinationMode,
  type Destination,
  type EndpointContext,
  type KeyLister,
  type Position,
  type Row,
  type SchemaChange,
  type WriteResult,
} from '@idra/core';
import { settleWithin, untilAborted } from '../records/abortable.ts';
import { connectMongo, mongoFailure, type MongoConnection } from './mongodb-client.ts';
import { mongoKeyLister } from './mongodb-keys.ts';
import { resolveMongoConfig, type MongoConfig } from './mongodb-options.ts';
import { bsonTypeOf, cursorToBson, documentToRecord, RAW_BSON, rowToDocument } from './mongodb-values.ts';

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
 * The batch's deletes, and rows whose operation column (from a change stream) says `delete`, are
 * deleted by key, in their order among the rows; a truncate empties the collection. When the
 * key is not `_id` a unique index on it is created (with `createTable`), so keys stay unique.
 */
export class MongoDestination implements Destination {
  private readonly ctx: EndpointContext;
  private readonly config: MongoConfig;
  private readonly conn: MongoConnection;
  private indexed = false;
  /** Fields dropped at the source (schemaChanges 'evolve'): rows written since set them to null. */
  private readonly dropped = new Set<string>();
  /** The BSON type each key field has in the collection, once learnt ({@link learnKeyTypes}). */
  private storedKeyTypes: Map<string, ReturnType<typeof bsonTypeOf>> | undefined;
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
   * One operation per key, as applying the batch's rows and changes in order would leave the document
   * (an unordered bulkWrite cannot be relied on for order): a delete decides; after a delete the row
   * replaces the document; insert keeps the first row; upsert sets the fields the rows have (merged in
   * order), so a field a row lacks keeps its stored value (see rows-by-key.ts) — except a field dropped
   * at the source, which rows written after the drop set to null. A truncate forgets what came before
   * it and empties the collection first.
   */
  private operations(batch: Batch): { truncate: boolean; ops: AnyBulkWriteOperation<Document>[] } {
    const { keyColumns: keys, writeMode } = this.ctx.sync;
    const opColumn = this.config.operationColumn;
    const columns = batch.columns.filter((c) => c.name !== opColumn);
    const byKey = new Map<string, { filter: Document; doc: Document; deleting: boolean; replace: boolean }>();
    let keyless: AnyBulkWriteOperation<Document>[] = [];
    let truncate = false;
    const place = (row: Row, deleting: boolean, of = columns) => {
      const doc = rowToDocument(row, of, this.config);
      if (!deleting) for (const field of this.dropped) if (!(field in doc)) doc[field] = null;
      const filterFields = keys.length > 0 ? keys : deleting || '_id' in doc ? ['_id'] : [];
      if (filterFields.length === 0 || filterFields.some((k) => doc[k] === null || doc[k] === undefined)) {
        if (deleting) throw new RowRejectedError(batch.rows.length === 1 ? row : undefined, new Error('a delete without a key value cannot be applied'));
        let id = this.assignedIds.get(row);
        if (!id) this.assignedIds.set(row, (id = new ObjectId()));
        keyless.push({ insertOne: { document: { ...doc, _id: id } } });
        return;
      }
      const filter = Object.fromEntries(filterFields.map((k) => [k, doc[k]]));
      const key = JSON.stringify(filterFields.map((k) => String(doc[k])));
      const prior = byKey.get(key);
      if (deleting || !prior) byKey.set(key, { filter, doc, deleting, replace: false });
      else if (prior.deleting) byKey.set(key, { filter, doc, deleting: false, replace: true });
      else if (writeMode === 'upsert') byKey.set(key, { ...prior, doc: { ...prior.doc, ...doc } });
    };
    for (const step of batchSteps(batch)) {
      if (step.kind === 'rows') for (const row of step.rows) place(row, row[opColumn] === 'delete');
      else if (step.kind === 'deletes') {
        // A delete's key is written like the key of a row, by its column's type (a Long matches any stored number); a
        // key column the batch does not declare (a batch of deletes alone) takes the type the collection stores.
        const keyColumns = keys.map((k) => columns.find((c) => c.name === k) ?? { name: k, type: 'text' as const });
        const stored = (key: Row) =>
          Object.fromEntries(keys.map((k) => [k, columns.some((c) => c.name === k) ? key[k] : cursorToBson(String(key[k]), this.storedKeyTypes?.get(k))]));
        for (const key of step.keys) place(stored(key), true, keyColumns);
      } else if (step.kind === 'truncate') {
        byKey.clear();
        keyless = [];
        truncate = true;
      } else this.noticeSchemaChange(step.change);
    }
    const ops = [...byKey.values()].map(({ filter, doc, deleting, replace }): AnyBulkWriteOperation<Document> => {
      if (deleting) return { deleteOne: { filter } };
      if (replace) return { replaceOne: { filter, replacement: doc, upsert: true } };
      if (writeMode === 'insert') return { insertOne: { document: doc } };
      const set = Object.fromEntries(Object.entries(doc).filter(([k]) => !(k in filter)));
      // An empty $set is refused; a row with nothing but its key only makes sure the document exists.
      return { updateOne: { filter, update: Object.keys(set).length > 0 ? { $set: set } : { $setOnInsert: filter }, upsert: true } };
    });
    return { truncate, ops: [...ops, ...keyless] };
  }

  /** Documents need no schema: a schema change only decides which fields later rows set to null (a column dropped at the source). */
  private noticeSchemaChange(change: SchemaChange): void {
    if (this.ctx.sync.schemaChanges !== 'evolve') return;
    if (change.kind === 'drop') this.dropped.add(change.column);
    else if (change.kind === 'add') this.dropped.delete(change.column.name);
    else if (change.kind === 'rename') this.dropped.delete(change.to);
  }

  /** Learns the BSON types of the key fields from one stored document, once, when a batch deletes by keys of undeclared type. */
  private async learnKeyTypes(batch: Batch): Promise<void> {
    const keys = this.ctx.sync.keyColumns;
    if (this.storedKeyTypes || !batch.changes?.some((c) => c.kind === 'delete') || keys.every((k) => batch.columns.some((c) => c.name === k))) return;
    const sample = await this.conn.collection.findOne(Object.fromEntries(keys.map((k) => [k, { $ne: null }])), RAW_BSON);
    this.storedKeyTypes = new Map(keys.map((k) => [k, bsonTypeOf(sample?.[k])]));
  }

  async write(batch: Batch, signal: AbortSignal): Promise<WriteResult> {
    // The driver's writes take no signal: an abort closes the client, which fails what it has in flight.
    const closeOnAbort = () => void this.conn.client.close().catch(() => {});
    try {
      await untilAborted(this.ensureKeyIndex(), signal, closeOnAbort);
      await untilAborted(this.learnKeyTypes(batch), signal, closeOnAbort);
      const { truncate, ops } = this.operations(batch);
      if (truncate) await untilAborted(this.conn.collection.deleteMany({}), signal, closeOnAbort);
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

  keyLister(): KeyLister {
    return mongoKeyLister(this.ctx, this.conn);
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
