import { Readable } from 'node:stream';
import { TextDecoder } from 'node:util';
import { pipeline } from 'node:stream/promises';
import { createGunzip, createZstdDecompress } from 'node:zlib';
import { undecodableRow, type Column, type LogicalType, type Row } from '@idra/core';
import { CsvParser, CsvSyntaxError, type CsvRecord } from '../records/csv.ts';
import { parseJsonExact } from '../records/exact-json.ts';
import { decodeJsonRecord, type DecodedRecord } from '../records/json-records.ts';
import type { S3Config } from './s3-options.ts';

/**
 * An object's records as its body streams in — decompressed (gzip, zstd: known by their first
 * bytes), decoded (the encoding option, unless a byte order mark says otherwise), split into JSON
 * Lines or CSV records — so that an object of any size is read with the memory of one batch.
 */

/** One line (JSON Lines) or record (CSV) of an object: a decoded record, or a placeholder for the error policy. */
export interface Entry {
  line: number;
  record?: DecodedRecord;
  placeholder?: Row;
}

/** How one object is read. */
export interface ObjectFormat {
  format: 'jsonl' | 'csv';
  delimiter: string;
}

const COMPRESSION_SUFFIX = /\.(gz|gzip|zst|zstd)$/i;

/** The format of the object at `key`: the option, or its suffix when the option is `auto`; a .tsv is tab-separated. */
export function objectFormat(key: string, config: Pick<S3Config, 'format' | 'delimiter'>): ObjectFormat {
  const suffix = /\.[^./]+$/.exec(key.replace(COMPRESSION_SUFFIX, ''))?.[0].toLowerCase();
  const format = config.format !== 'auto' ? config.format : suffix === '.csv' || suffix === '.tsv' ? 'csv' : 'jsonl';
  // A .tsv says what separates its fields, whatever the option (which is for the other CSV objects).
  return { format, delimiter: suffix === '.tsv' ? '\t' : (config.delimiter ?? ',') };
}

/** The body's bytes, decompressed when they start like gzip (1f 8b) or zstd (28 b5 2f fd). */
async function* decompressed(body: AsyncIterable<Uint8Array>): AsyncGenerator<Uint8Array> {
  const chunks = body[Symbol.asyncIterator]();
  let head = Buffer.alloc(0);
  // Enough bytes to recognize the format (chunks are usually far bigger).
  while (head.length < 4) {
    const next = await chunks.next();
    if (next.done) break;
    head = Buffer.concat([head, next.value]);
  }
  const rest = async function* () {
    if (head.length > 0) yield head;
    for (let next = await chunks.next(); !next.done; next = await chunks.next()) yield next.value;
  };
  const decompressor =
    head[0] === 0x1f && head[1] === 0x8b ? createGunzip() : head.length >= 4 && head.readUInt32BE(0) === 0x28b52ffd ? createZstdDecompress() : undefined;
  if (!decompressor) {
    yield* rest();
    return;
  }
  const done = pipeline(Readable.from(rest()), decompressor);
  done.catch(() => {}); // its error also ends the iteration below
  yield* decompressor;
  await done;
}

/** The text of the bytes: UTF-8/UTF-16 when a byte order mark says so, else `encoding`; the mark itself is not text. */
async function* decoded(bytes: AsyncIterable<Uint8Array>, encoding: string): AsyncGenerator<string> {
  let decoder: TextDecoder | undefined;
  for await (const chunk of bytes) {
    if (!decoder) {
      const b = Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength);
      const bom =
        b[0] === 0xef && b[1] === 0xbb && b[2] === 0xbf
          ? 'utf-8'
          : b[0] === 0xff && b[1] === 0xfe
            ? 'utf-16le'
            : b[0] === 0xfe && b[1] === 0xff
              ? 'utf-16be'
              : undefined;
      // The decoder of a BOM's encoding drops the mark; another encoding would read it as text.
      decoder = new TextDecoder(bom ?? encoding);
    }
    const text = decoder.decode(chunk, { stream: true });
    if (text) yield text;
  }
  const tail = decoder?.decode();
  if (tail) yield tail;
}

/** What a placeholder row says about where a broken record is. */
export type Origin = (line: number, text: string | null) => Row;

/** The lines of the text with their numbers (1-based), a trailing `\r` removed; returns the number of the last line. */
async function* numberedLines(text: AsyncIterable<string>): AsyncGenerator<{ line: number; text: string }, number> {
  let pending = '';
  let line = 1;
  for await (const chunk of text) {
    pending += chunk;
    let start = 0;
    for (let nl = pending.indexOf('\n'); nl >= 0; nl = pending.indexOf('\n', start)) {
      yield { line, text: pending.slice(start, nl).replace(/\r$/, '') };
      start = nl + 1;
      line++;
    }
    pending = pending.slice(start);
  }
  if (pending !== '') yield { line, text: pending.replace(/\r$/, '') };
  return line;
}

async function* jsonlEntries(text: AsyncIterable<string>, after: number, origin: Origin, key: string): AsyncGenerator<Entry, number> {
  const lines = numberedLines(text);
  for (let next = await lines.next(); ; next = await lines.next()) {
    if (next.done) return next.value;
    const { line, text: raw } = next.value;
    if (line <= after || raw.trim() === '') continue;
    try {
      yield { line, record: decodeJsonRecord(raw) };
    } catch (err) {
      yield {
        line,
        placeholder: undecodableRow(origin(line, raw), new Error(`s3 source: line ${line} of ${key} is not a JSON object: ${(err as Error).message}`)),
      };
    }
  }
}

/** How CSV records become rows: the names (from the header line, the option, or column1 …) and the declared types. */
interface CsvShape {
  header: boolean;
  columnNames: string[] | undefined;
  declared: readonly Column[];
}

async function* csvEntries(
  text: AsyncIterable<string>,
  after: number,
  origin: Origin,
  key: string,
  delimiter: string,
  shape: CsvShape,
): AsyncGenerator<Entry, number> {
  const parser = new CsvParser(delimiter);
  const types = new Map<string, LogicalType>(shape.declared.map((c) => [c.name, c.type]));
  let names: string[] | undefined = shape.header ? undefined : shape.columnNames;
  let lastLine = 1;
  const entry = (r: CsvRecord | CsvSyntaxError): Entry | undefined => {
    if (r instanceof CsvSyntaxError) {
      return {
        line: r.line,
        placeholder: undecodableRow(origin(r.line, null), new Error(`s3 source: record at line ${r.line} of ${key} is not CSV: ${r.message}`)),
      };
    }
    if (!names) {
      if (shape.header) {
        names = r.values.map((v) => v ?? '');
        return undefined;
      }
      names = r.values.map((_, i) => `column${i + 1}`);
    }
    if (r.line <= after) return undefined;
    try {
      if (r.values.length !== names.length) throw new Error(`${r.values.length} fields, ${shape.header ? 'the header has' : 'expected'} ${names.length}`);
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
      return {
        line: r.line,
        placeholder: undecodableRow(
          origin(r.line, r.values.join(delimiter)),
          new Error(`s3 source: record at line ${r.line} of ${key} is not valid: ${(err as Error).message}`),
        ),
      };
    }
  };
  for await (const chunk of text) {
    for (let i = chunk.indexOf('\n'); i >= 0; i = chunk.indexOf('\n', i + 1)) lastLine++;
    for (const r of parser.push(chunk)) {
      const e = entry(r);
      if (e) yield e;
    }
  }
  for (const r of parser.end()) {
    const e = entry(r);
    if (e) yield e;
  }
  return lastLine;
}

/**
 * The entries of an object after line `after` (earlier ones are read past, not decoded), as its
 * body streams in; returns the number of its last line. Entries that cannot be read are placeholders.
 */
export function objectEntries(
  body: AsyncIterable<Uint8Array>,
  opts: { key: string; after: number; origin: Origin; format: ObjectFormat; encoding: string } & CsvShape,
): AsyncGenerator<Entry, number> {
  const text = decoded(decompressed(body), opts.encoding);
  return opts.format.format === 'csv'
    ? csvEntries(text, opts.after, opts.origin, opts.key, opts.format.delimiter, opts)
    : jsonlEntries(text, opts.after, opts.origin, opts.key);
}
