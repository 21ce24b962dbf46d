import { posix } from 'node:path';
import { GetObjectCommand, ListObjectsV2Command, type S3Client, type _Object } from '@aws-sdk/client-s3';
import { ConnectorError, undecodableRow, type Batch, type Column, type EndpointContext, type Lag, type Position, type Source } from '@idra/core';
import { recordsAsChanges } from '../records/delete-records.ts';
import { decodeColumns, recordColumns, selectColumns } from '../records/json-records.ts';
import { resolveS3Config, type S3Config } from './s3-options.ts';
import { COLUMNS_METADATA, createS3Client, s3Failure } from './s3-objects.ts';
import { objectEntries, objectFormat, type Entry } from './s3-records.ts';

/**
 * The stored offset of an S3 source. Objects are read in key order, but writers do not always
 * finish in that order (`part-000` lands after `part-001`): the keys read last are remembered so
 * that an object arriving late under an earlier key is still read.
 */
export interface S3Offset {
  /** The object read last (or being read) and its last line copied. */
  key: string;
  line: number;
  /** Every key up to this one is done: read, or too old to be looked at again. Null: none yet. */
  floor: string | null;
  /** Keys after `floor` of the objects read completely, in order (at most `lookbackObjects` of them). */
  read: string[];
}

/** Where a read stands: the offset, and the object still being read (`key` from `line`) if any. */
class Progress {
  private floor: string | null;
  private readonly read: string[];
  private readonly window: number;
  /** The object to go on reading, from its line after `line`. */
  current: { key: string; line: number } | undefined;
  private last: { key: string; line: number } | undefined;

  private constructor(floor: string | null, read: string[], window: number, current: Progress['current'], last: Progress['last']) {
    this.floor = floor;
    this.read = read;
    this.window = window;
    this.current = current;
    this.last = last;
  }

  static of(stored: Partial<S3Offset> | undefined, window: number): Progress {
    if (!stored?.key) return new Progress(null, [], window, undefined, undefined);
    const at = { key: stored.key, line: stored.line ?? 0 };
    // An offset of before (or set by hand) has only key and line: go on in that object, then after it.
    const floor = stored.read === undefined ? stored.key : (stored.floor ?? null);
    const read = stored.read ?? [];
    // The last object is finished when it is among those read (or behind the floor); otherwise (or
    // when it is the floor itself, as with lookbackObjects 0) it is opened again for lines after `line`.
    const finished = read.includes(stored.key) || (floor !== null && stored.key < floor);
    return new Progress(floor, [...read], window, finished ? undefined : at, at);
  }

  /** Whether `key` needs no reading: at or before the floor, or read already. */
  isDone(key: string): boolean {
    return (this.floor !== null && key <= this.floor) || this.read.includes(key);
  }

  /** The keys after which a listing starts. */
  get listAfter(): string | undefined {
    return this.floor ?? undefined;
  }

  /** Lines up to `line` of `key` are copied; the object has more. */
  reading(key: string, line: number): void {
    this.current = this.last = { key, line };
  }

  /** `key` is read to its end (`line`, its last). */
  finished(key: string, line: number): void {
    this.current = undefined;
    this.last = { key, line };
    if (this.isDone(key)) return;
    this.read.push(key);
    this.read.sort();
    // Beyond the window, the oldest key becomes the floor: a late object before it is no longer seen.
    while (this.read.length > this.window) this.floor = this.read.shift()!;
  }

  offset(): S3Offset | undefined {
    return this.last && { key: this.last.key, line: this.last.line, floor: this.floor, read: [...this.read] };
  }
}

/** The object a read stopped in, still streaming, so that the next batch goes on where this one ended. */
interface OpenObject {
  key: string;
  /** The last line handed out. */
  line: number;
  entries: AsyncGenerator<Entry, number>;
  /** Columns the object carries in its metadata, after the columnTypes option. */
  declared: Column[];
  /** Ends the download. */
  cancel: AbortController;
  /** What came after the last line handed out, read ahead to learn whether the object ends there. */
  peeked?: { entry?: Entry; end?: number } | undefined;
}

// Errors of a body that is not what it claims (corrupt gzip or zstd): the object goes to the error policy, not retried.
const UNREADABLE = /^(Z_|ERR_ZSTD|ERR_ZLIB)/;

function storedOffset(ctx: EndpointContext, position: Position): Partial<S3Offset> | undefined {
  if (position.kind !== 'stream' || position.value === null || position.value === undefined) return undefined;
  const v = position.value as Partial<S3Offset>;
  const valid =
    typeof v === 'object' &&
    typeof v.key === 'string' &&
    typeof v.line === 'number' &&
    (v.floor === undefined || v.floor === null || typeof v.floor === 'string') &&
    (v.read === undefined || (Array.isArray(v.read) && v.read.every((k) => typeof k === 'string')));
  if (!valid) {
    throw new ConnectorError({
      connector: 's3',
      role: 'source',
      syncId: ctx.sync.id,
      transient: false,
      message: `stored offset ${JSON.stringify(position.value)} is not {key, line, floor, read}`,
    });
  }
  return v;
}

/**
 * Reads the objects under a prefix in key order (ListObjectsV2 with StartAfter), record by record
 * as each body streams in: JSON Lines or CSV ({@link objectFormat}), gzip or zstd recognized by
 * content, any text encoding. The offset is the last object read from and its last line read, so a
 * restart goes on in the middle of an object, plus the keys read last ({@link S3Offset}): an object
 * that arrives later under an earlier key is read too, unless `lookbackObjects` objects were read
 * after it. A record whose `deleteField` is true is the delete of the row its key columns name. Lines that are not JSON objects (or CSV records of the wrong width, or an object whose
 * compression is corrupt) follow the sync's error policy.
 */
export class S3Source implements Source {
  private readonly ctx: EndpointContext;
  private readonly config: S3Config;
  private readonly client: S3Client;
  private open: OpenObject | undefined;

  private constructor(ctx: EndpointContext, config: S3Config, client: S3Client) {
    this.ctx = ctx;
    this.config = config;
    this.client = client;
  }

  static async open(ctx: EndpointContext): Promise<S3Source> {
    const config = resolveS3Config(ctx);
    return new S3Source(ctx, config, createS3Client(config));
  }

  /** Whether a key below the prefix is one to read (the include and exclude patterns). */
  private selected(key: string): boolean {
    if (key.endsWith('/')) return false;
    const { include, exclude, prefix } = this.config;
    const name = key.slice(prefix.length);
    return (!include || include.some((p) => posix.matchesGlob(name, p))) && !exclude?.some((p) => posix.matchesGlob(name, p));
  }

  /** The objects under the prefix not read yet, in key order, listed (page by page) after the floor. */
  private async *unread(progress: Progress): AsyncGenerator<_Object> {
    let token: string | undefined;
    do {
      const after = progress.listAfter;
      const page = await this.client.send(
        new ListObjectsV2Command({
          Bucket: this.config.bucket,
          Prefix: this.config.prefix || undefined,
          ...(token ? { ContinuationToken: token } : after !== undefined ? { StartAfter: after } : {}),
          MaxKeys: 1000,
        }),
      );
      for (const o of page.Contents ?? []) if (this.selected(o.Key!) && !progress.isDone(o.Key!)) yield o;
      token = page.NextContinuationToken;
    } while (token);
  }

  /** The object `key` streaming from after `line`: the one open when it is there, else a new download. */
  private async openAt(key: string, line: number): Promise<OpenObject> {
    if (this.open?.key === key && this.open.line === line) return this.open;
    this.closeObject();
    const cancel = new AbortController();
    const object = await this.client.send(new GetObjectCommand({ Bucket: this.config.bucket, Key: key }), { abortSignal: cancel.signal });
    const declared = [...this.config.columnTypes, ...(decodeColumns(object.Metadata?.[COLUMNS_METADATA]) ?? [])];
    const { config } = this;
    const entries = objectEntries(object.Body as AsyncIterable<Uint8Array>, {
      key,
      after: line,
      origin: (at, text) => ({ bucket: config.bucket, key, line: at, text }),
      format: objectFormat(key, config),
      encoding: config.encoding,
      header: config.header,
      columnNames: config.columnNames,
      declared,
    });
    this.open = { key, line, entries, declared, cancel };
    return this.open;
  }

  private closeObject(): void {
    this.open?.cancel.abort();
    this.open = undefined;
  }

  /** The next entry of the open object, and its last line once it has no more. */
  private async next(object: OpenObject): Promise<{ entry?: Entry; end?: number }> {
    try {
      const next = await object.entries.next();
      return next.done ? { end: next.value } : { entry: next.value };
    } catch (err) {
      if (!UNREADABLE.test(String((err as { code?: unknown }).code ?? ''))) throw err;
      // The rest of the object cannot be read: one placeholder stands for it, and the object is done.
      const line = object.line + 1;
      const origin = { bucket: this.config.bucket, key: object.key, line, text: null };
      const placeholder = undecodableRow(origin, new Error(`s3 source: object ${object.key} cannot be read from line ${line} on: ${(err as Error).message}`));
      return { entry: { line, placeholder }, end: line };
    }
  }

  async read(position: Position, limit: number, signal: AbortSignal): Promise<Batch> {
    const stopDownload = () => this.closeObject();
    signal.addEventListener('abort', stopDownload, { once: true });
    try {
      const progress = Progress.of(storedOffset(this.ctx, position), this.config.lookbackObjects);
      const taken: Array<Entry & { key: string }> = [];
      let declared: Column[] | undefined;
      const objects = this.unread(progress);
      while (taken.length < limit && !signal.aborted) {
        const at = progress.current ?? (await objects.next().then((o) => (o.done ? undefined : { key: o.value.Key!, line: 0 })));
        if (!at) break;
        const object = await this.openAt(at.key, at.line);
        let end: number | undefined;
        while (taken.length < limit && end === undefined) {
          const next = object.peeked ?? (await this.next(object));
          object.peeked = undefined;
          end = next.end;
          if (!next.entry) continue;
          taken.push({ ...next.entry, key: at.key });
          object.line = next.entry.line;
          if (next.entry.record) declared ??= object.declared;
        }
        if (end === undefined) {
          // A full batch: one entry more tells whether the object ends here (then the offset says it was read).
          object.peeked = await this.next(object);
          if (!object.peeked.entry) end = object.peeked.end;
        }
        if (end === undefined) {
          progress.reading(at.key, object.line);
          break;
        }
        this.open = undefined;
        progress.finished(at.key, Math.max(end, object.line));
      }
      await objects.return(undefined);
      const offset = progress.offset();
      if (taken.length === 0 || !offset) return { columns: [], rows: [], position };
      const { bucket, deleteField } = this.config;
      const { columns, rows, changes } = recordsAsChanges(taken, {
        recordOf: (e) => e.record,
        placeholder: (e, error) => (error ? undecodableRow({ bucket, key: e.key, line: e.line, text: null }, error) : e.placeholder!),
        columnsOf: (records) => selectColumns(recordColumns(records, declared ?? this.config.columnTypes), this.ctx.endpoint.columns),
        keyColumns: this.ctx.sync.keyColumns,
        marker: deleteField,
      });
      return { columns, rows, changes, position: { kind: 'stream', value: offset } };
    } catch (err) {
      this.closeObject();
      throw s3Failure(this.ctx, err);
    } finally {
      signal.removeEventListener('abort', stopDownload);
    }
  }

  /**
   * How far behind the source is: the age of the oldest object not read yet (or still being read),
   * and the newest key. Rows are not counted: that would mean reading the objects.
   */
  async lag(position: Position): Promise<Lag | undefined> {
    const progress = Progress.of(storedOffset(this.ctx, position), this.config.lookbackObjects);
    let oldest: number | undefined;
    let head: string | undefined;
    for await (const o of this.unread(progress)) {
      const at = o.LastModified?.getTime();
      if (at !== undefined) oldest = Math.min(oldest ?? at, at);
      head = o.Key;
    }
    if (progress.current) oldest ??= Date.now();
    return { seconds: oldest === undefined ? 0 : Math.max(0, (Date.now() - oldest) / 1000), head };
  }

  async close(): Promise<void> {
    this.closeObject();
    this.client.destroy();
  }
}
