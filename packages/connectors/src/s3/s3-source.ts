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

/** The stored offset of an S3 source: the last object read from, and its last line read. */
export interface S3Offset {
  key: string;
  line: number;
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

function storedOffset(ctx: EndpointContext, position: Position): S3Offset | undefined {
  if (position.kind !== 'stream' || position.value === null || position.value === undefined) return undefined;
  const v = position.value as Partial<S3Offset>;
  if (typeof v !== 'object' || typeof v.key !== 'string' || typeof v.line !== 'number') {
    throw new ConnectorError({ connector: 's3', role: 'source', syncId: ctx.sync.id, transient: false, message: `stored offset ${JSON.stringify(position.value)} is not {key, line}` });
  }
  return { key: v.key, line: v.line };
}

/**
 * Reads the objects under a prefix in key order (ListObjectsV2 with StartAfter), line by line:
 * JSON Lines or CSV with a header line, gzipped or not (recognized by content). The offset is the
 * last object read from and its last line read, so a restart goes on in the middle of an object.
 * Objects added later with a key before the offset's are not read. Lines that are not JSON objects
 * (or CSV records of the wrong width) follow the sync's error policy.
 */
export class S3Source implements Source {
  private readonly ctx: EndpointContext;
  private readonly config: S3Config;
  private readonly client: S3Client;
  private current: LoadedObject | undefined;
  /** The keys of the last listing (after `after`), in order. */
  private listed: { after: string | undefined; keys: string[] } | undefined;

  private constructor(ctx: EndpointContext, config: S3Config, client: S3Client) {
    this.ctx = ctx;
    this.config = config;
    this.client = client;
  }

  static async open(ctx: EndpointContext): Promise<S3Source> {
    const config = resolveS3Config(ctx);
    return new S3Source(ctx, config, createS3Client(config));
  }

  /** The first object key after `after` (in the prefix): from the page listed last when it has one, else from a new listing. */
  private async nextKey(after: string | undefined): Promise<string | undefined> {
    const page = this.listed;
    if (page && (page.after === undefined || (after !== undefined && page.after <= after))) {
      const next = page.keys.find((k) => after === undefined || k > after);
      if (next !== undefined) return next;
    }
    const listing = await this.client.send(
      new ListObjectsV2Command({ Bucket: this.config.bucket, Prefix: this.config.prefix || undefined, ...(after !== undefined ? { StartAfter: after } : {}), MaxKeys: 1000 }),
    );
    const keys = (listing.Contents ?? []).map((o) => o.Key!).filter((k) => !k.endsWith('/'));
    this.listed = { after, keys };
    return keys[0];
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
      const start = storedOffset(this.ctx, position);
      const taken: Entry[] = [];
      let declared: Column[] | undefined;
      let at: S3Offset | undefined = start;
      let key = start?.key;
      let after = start?.line ?? 0;
      if (key === undefined) {
        key = await this.nextKey(undefined);
        after = 0;
      }
      while (key !== undefined && taken.length < limit && !signal.aborted) {
        const object = await this.load(key);
        const remaining = object.entries.filter((e) => e.line > after);
        const take = remaining.slice(0, limit - taken.length);
        taken.push(...take);
        if (take.some((e) => e.record)) declared ??= object.columns;
        if (take.length < remaining.length) {
          at = { key, line: take[take.length - 1]!.line };
          break;
        }
        at = { key, line: object.lastLine };
        key = await this.nextKey(key);
        after = 0;
      }
      if (taken.length === 0) return { columns: [], rows: [], position };
      const records = taken.flatMap((e) => (e.record ? [e.record] : []));
      const columns = selectColumns(recordColumns(records, declared ?? this.config.columnTypes), this.ctx.endpoint.columns);
      const rows = taken.map((e) => (e.record ? recordRow(e.record, columns) : e.placeholder!));
      return { columns, rows, position: { kind: 'stream', value: at } };
    } catch (err) {
      throw s3Failure(this.ctx, err);
    }
  }

  async close(): Promise<void> {
    this.client.destroy();
  }
}
