import { promisify } from 'node:util';
import { gunzip } from 'node:zlib';
import { GetObjectCommand, ListObjectsV2Command, type S3Client } from '@aws-sdk/client-s3';
import { ConnectorError, type Batch, type Column, type EndpointContext, type LogicalType, type Position, type Row, type Source } from '@idra/core';
import { parseCsv } from '../records/csv.ts';
import { parseJsonExact } from '../records/exact-json.ts';
import { decodeColumns, decodeJsonRecord, recordColumns, recordRow, selectColumns, type DecodedRecord } from '../records/json-records.ts';
import { undecodableRow } from '@idra/core';
import { resolveS3Config, type S3Config } from './s3-options.ts';
import { COLUMNS_METADATA, createS3Client, s3Failure } from './s3-objects.ts';

const gunzipAsync = promisify(gunzip);

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

/** One line (JSON Lines) or record (CSV) of an object: a decoded record, or a placeholder for the error policy. */
interface Entry {
  line: number;
  record?: DecodedRecord;
  placeholder?: Row;
}

interface LoadedObject {
  key: string;
  entries: Entry[];
  /** Columns the object carries in its metadata. */
  columns: Column[] | undefined;
  /** The line a position has when the whole object was read. */
  lastLine: number;
}

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
    throw new ConnectorError({ connector: 's3', role: 'source', syncId: ctx.sync.id, transient: false, message: `stored offset ${JSON.stringify(position.value)} is not {key, line, floor, read}` });
  }
  return v;
}

/**
 * Reads the objects under a prefix in key order (ListObjectsV2 with StartAfter), line by line:
 * JSON Lines or CSV with a header line, gzipped or not (recognized by content). The offset is the
 * last object read from and its last line read, so a restart goes on in the middle of an object,
 * plus the keys read last ({@link S3Offset}): an object that arrives later under an earlier key is
 * read too, unless `lookbackObjects` objects were read after it. Lines that are not JSON objects
 * (or CSV records of the wrong width) follow the sync's error policy.
 */
export class S3Source implements Source {
  private readonly ctx: EndpointContext;
  private readonly config: S3Config;
  private readonly client: S3Client;
  private current: LoadedObject | undefined;

  private constructor(ctx: EndpointContext, config: S3Config, client: S3Client) {
    this.ctx = ctx;
    this.config = config;
    this.client = client;
  }

  static async open(ctx: EndpointContext): Promise<S3Source> {
    const config = resolveS3Config(ctx);
    return new S3Source(ctx, config, createS3Client(config));
  }

  /** The keys under the prefix not read yet, in order, listed (page by page) after the floor. */
  private async *unread(progress: Progress): AsyncGenerator<string> {
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
      for (const o of page.Contents ?? []) if (!o.Key!.endsWith('/') && !progress.isDone(o.Key!)) yield o.Key!;
      token = page.NextContinuationToken;
    } while (token);
  }

  private async load(key: string): Promise<LoadedObject> {
    if (this.current?.key === key) return this.current;
    const object = await this.client.send(new GetObjectCommand({ Bucket: this.config.bucket, Key: key }));
    let bytes = Buffer.from(await object.Body!.transformToByteArray());
    const origin = (line: number, text: string | null) => ({ bucket: this.config.bucket, key, line, text });
    let entries: Entry[];
    let lastLine = 1;
    try {
      if (bytes[0] === 0x1f && bytes[1] === 0x8b) bytes = await gunzipAsync(bytes);
      // A byte order mark (Excel writes one) is not part of the first field.
      const text = bytes.toString('utf8').replace(/^\uFEFF/, '');
      lastLine = text.split('\n').length;
      const columns = [...this.config.columnTypes, ...(decodeColumns(object.Metadata?.[COLUMNS_METADATA]) ?? [])];
      entries = this.config.format === 'csv' ? this.csvEntries(text, columns, origin) : this.jsonlEntries(text, origin);
      this.current = { key, entries, columns, lastLine };
    } catch (err) {
      // Not gzip after all, or CSV that does not parse: the whole object goes to the error policy.
      const error = new Error(`s3 source: object ${key} cannot be read as ${this.config.format}: ${(err as Error).message}`);
      this.current = { key, entries: [{ line: lastLine, placeholder: undecodableRow(origin(1, bytes.subarray(0, 1000).toString('utf8')), error) }], columns: undefined, lastLine };
    }
    return this.current;
  }

  private jsonlEntries(text: string, origin: (line: number, text: string) => Row): Entry[] {
    const entries: Entry[] = [];
    text.split('\n').forEach((raw, i) => {
      const line = raw.replace(/\r$/, '');
      if (line.trim() === '') return;
      try {
        entries.push({ line: i + 1, record: decodeJsonRecord(line) });
      } catch (err) {
        entries.push({ line: i + 1, placeholder: undecodableRow(origin(i + 1, line), new Error(`s3 source: line ${i + 1} of ${origin(0, '').key} is not a JSON object: ${(err as Error).message}`)) });
      }
    });
    return entries;
  }

  private csvEntries(text: string, declared: Column[], origin: (line: number, text: string | null) => Row): Entry[] {
    const records = parseCsv(text);
    const header = this.config.header ? records.shift() : undefined;
    const width = header?.values.length ?? records[0]?.values.length ?? 0;
    const names = header ? header.values.map((v) => v ?? '') : (this.config.columnNames ?? Array.from({ length: width }, (_, i) => `column${i + 1}`));
    const types = new Map<string, LogicalType>(declared.map((c) => [c.name, c.type]));
    return records.map((r): Entry => {
      try {
        if (r.values.length !== names.length) throw new Error(`${r.values.length} fields, ${header ? 'the header has' : 'expected'} ${names.length}`);
        const row: Row = {};
        const fieldTypes = new Map<string, LogicalType | undefined>();
        names.forEach((name, i) => {
          const value = r.values[i] ?? null;
          const type = types.get(name);
          row[name] = type === 'json' && value !== null ? parseJsonExact(value) : value;
          fieldTypes.set(name, value === null ? undefined : (type ?? 'text'));
        });
        return { line: r.line, record: { row, types: fieldTypes } };
      } catch (err) {
        return { line: r.line, placeholder: undecodableRow(origin(r.line, r.values.join(',')), new Error(`s3 source: record at line ${r.line} of ${origin(0, '').key} is not valid: ${(err as Error).message}`)) };
      }
    });
  }

  async read(position: Position, limit: number, signal: AbortSignal): Promise<Batch> {
    try {
      const progress = Progress.of(storedOffset(this.ctx, position), this.config.lookbackObjects);
      const taken: Entry[] = [];
      let declared: Column[] | undefined;
      const keys = this.unread(progress);
      while (taken.length < limit && !signal.aborted) {
        const at = progress.current ?? (await keys.next().then((k) => (k.done ? undefined : { key: k.value, line: 0 })));
        if (!at) break;
        const object = await this.load(at.key);
        const remaining = object.entries.filter((e) => e.line > at.line);
        const take = remaining.slice(0, limit - taken.length);
        taken.push(...take);
        if (take.some((e) => e.record)) declared ??= object.columns;
        if (take.length < remaining.length) {
          progress.reading(at.key, take[take.length - 1]!.line);
          break;
        }
        progress.finished(at.key, object.lastLine);
      }
      await keys.return(undefined);
      const offset = progress.offset();
      if (taken.length === 0 || !offset) return { columns: [], rows: [], position };
      const records = taken.flatMap((e) => (e.record ? [e.record] : []));
      const columns = selectColumns(recordColumns(records, declared ?? this.config.columnTypes), this.ctx.endpoint.columns);
      const rows = taken.map((e) => (e.record ? recordRow(e.record, columns) : e.placeholder!));
      return { columns, rows, position: { kind: 'stream', value: offset } };
    } catch (err) {
      throw s3Failure(this.ctx, err);
    }
  }

  async close(): Promise<void> {
    this.client.destroy();
  }
}
