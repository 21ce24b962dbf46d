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

/**
 * Encoded rows as binary COPY input: each row is its field count, then its fields as they were read.
 * One buffer of the exact size per batch: fewer, smaller allocations outside the heap than chunks.
 */
function binaryCopyData(rows: readonly Row[], fieldCount: number): Buffer {
  let size = HEADER.length + 2;
  for (const row of rows) size += 2 + (row as EncodedRow)[ENCODED_ROW].length;
  const data = Buffer.allocUnsafe(size);
  HEADER.copy(data);
  let at = HEADER.length;
  for (const row of rows) {
    const fields = (row as EncodedRow)[ENCODED_ROW];
    at = data.writeInt16BE(fieldCount, at);
    data.set(fields, at);
    at += fields.length;
  }
  data.writeInt16BE(-1, at);
  return data;
}

/**
 * Streams rows into `copy <target> (<columns>) from stdin` on a client (inside the caller's
 * transaction); rows read encoded go in binary format (the statement must say `(format binary)`).
 */
export async function copyInto(
  client: pg.PoolClient,
  copySql: string,
  rows: readonly Row[],
  columns: string[],
  types: Array<LogicalType | undefined>,
  encoding?: RowEncoding,
): Promise<void> {
  const stream = client.query(copyFrom(copySql));
  const chunks = encoding ? [binaryCopyData(rows, encoding.columns.length)] : tabSeparatedChunks(rows, columns, types, copyText);
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
