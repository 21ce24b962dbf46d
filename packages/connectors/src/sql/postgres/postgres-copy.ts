import { pipeline } from 'node:stream/promises';
import { Readable } from 'node:stream';
import { from as copyFrom, to as copyTo } from 'pg-copy-streams';
import type pg from 'pg';
import { ENCODED_ROW, type EncodedRow, type LogicalType, type Row, type RowEncoding } from '@idra/core';
import { escapeTabSeparated, jsonValueText, tabSeparatedChunks } from '../tab-separated.ts';

/** One non-NULL value in PostgreSQL's COPY text format. */
function copyText(value: unknown, type: LogicalType | undefined): string {
  let text: string;
  if (typeof value === 'string') text = value;
  else if (typeof value === 'number' || typeof value === 'bigint') return String(value);
  else if (typeof value === 'boolean') return value ? 't' : 'f';
  else if (value instanceof Uint8Array) return '\\\\x' + Buffer.from(value).toString('hex');
  else if (value instanceof Date) text = value.toISOString();
  else text = jsonValueText(value);
  if (type === 'bytes' && !text.startsWith('\\x')) text = '\\x' + Buffer.from(text).toString('hex');
  return escapeTabSeparated(text);
}

/** The binary COPY format's signature, then its flags and header extension length (both 0). */
const SIGNATURE = Buffer.from('PGCOPY\n\xff\r\n\0', 'latin1');
const HEADER = Buffer.concat([SIGNATURE, Buffer.alloc(8)]);
const CHUNK_BYTES = 1 << 20;

/** Encoded rows as binary COPY input, in chunks of about 1 MiB: each row is its field count, then its fields as they were read. */
function* binaryChunks(rows: Iterable<Row>, fieldCount: number): Generator<Buffer> {
  let chunk = Buffer.allocUnsafe(CHUNK_BYTES);
  HEADER.copy(chunk);
  let at = HEADER.length;
  for (const row of rows) {
    const fields = (row as EncodedRow)[ENCODED_ROW];
    if (at + 2 + fields.length > chunk.length) {
      yield chunk.subarray(0, at);
      chunk = Buffer.allocUnsafe(Math.max(CHUNK_BYTES, 4 + fields.length));
      at = 0;
    }
    at = chunk.writeInt16BE(fieldCount, at);
    chunk.set(fields, at);
    at += fields.length;
  }
  if (at + 2 > chunk.length) {
    yield chunk.subarray(0, at);
    chunk = Buffer.allocUnsafe(2);
    at = 0;
  }
  at = chunk.writeInt16BE(-1, at);
  yield chunk.subarray(0, at);
}

/**
 * Streams rows into `copy <target> (<columns>) from stdin` on a client (inside the caller's
 * transaction); rows read encoded go in binary format (the statement must say `(format binary)`).
 */
export async function copyInto(
  client: pg.PoolClient,
  copySql: string,
  rows: Iterable<Row>,
  columns: string[],
  types: Array<LogicalType | undefined>,
  encoding?: RowEncoding,
): Promise<void> {
  const stream = client.query(copyFrom(copySql));
  const chunks = encoding ? binaryChunks(rows, encoding.columns.length) : tabSeparatedChunks(rows, columns, types, copyText);
  await pipeline(Readable.from(chunks), stream);
}

/**
 * Rows of `copy (<select>) to stdout (format binary)`: the fields of the first `stored` columns kept
 * encoded under ENCODED_ROW (as binary COPY input takes them), the columns after them (text) decoded
 * by `decoded[i].parse` into `decoded[i].name`.
 */
export async function copyOutRows(
  client: pg.PoolClient,
  copySql: string,
  stored: number,
  decoded: Array<{ name: string; parse: (text: string) => unknown }>,
): Promise<Row[]> {
  const chunks: Buffer[] = [];
  const stream = client.query(copyTo(copySql));
  for await (const chunk of stream) chunks.push(chunk as Buffer);
  return binaryRows(Buffer.concat(chunks), stored, decoded);
}

/** Splits binary COPY output into rows ({@link copyOutRows}). */
export function binaryRows(data: Buffer, stored: number, decoded: Array<{ name: string; parse: (text: string) => unknown }>): Row[] {
  if (data.length < HEADER.length || !data.subarray(0, SIGNATURE.length).equals(SIGNATURE)) throw new Error('the server sent no binary COPY data');
  let at = HEADER.length + data.readUInt32BE(SIGNATURE.length + 4);
  const rows: Row[] = [];
  while (data.readInt16BE(at) !== -1) {
    at += 2;
    const start = at;
    for (let i = 0; i < stored; i++) at += 4 + Math.max(0, data.readInt32BE(at));
    const row: EncodedRow = { [ENCODED_ROW]: data.subarray(start, at) };
    for (const { name, parse } of decoded) {
      const length = data.readInt32BE(at);
      at += 4;
      row[name] = length < 0 ? null : parse(data.toString('utf8', at, (at += length)));
    }
    rows.push(row);
  }
  return rows;
}
