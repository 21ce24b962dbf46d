import { pipeline } from 'node:stream/promises';
import { Readable } from 'node:stream';
import { from as copyFrom } from 'pg-copy-streams';
import type pg from 'pg';
import type { LogicalType } from '@idra/core';

/** One value in PostgreSQL's COPY text format (`\N` for NULL, backslash escapes). */
export function copyText(value: unknown, type: LogicalType | undefined): string {
  if (value === null || value === undefined) return '\\N';
  let text: string;
  if (typeof value === 'string') text = value;
  else if (typeof value === 'number' || typeof value === 'bigint') return String(value);
  else if (typeof value === 'boolean') return value ? 't' : 'f';
  else if (value instanceof Uint8Array) return '\\\\x' + Buffer.from(value).toString('hex');
  else if (value instanceof Date) text = value.toISOString();
  else text = JSON.stringify(value, (_k, v: unknown) => (typeof v === 'bigint' ? v.toString() : v));
  if (type === 'bytes' && !text.startsWith('\\x')) text = '\\x' + Buffer.from(text).toString('hex');
  return /[\\\n\r\t]/.test(text) ? text.replace(/[\\\n\r\t]/g, (c) => (c === '\\' ? '\\\\' : c === '\n' ? '\\n' : c === '\r' ? '\\r' : '\\t')) : text;
}

/** Rows as COPY text, in chunks of about 64 KiB. */
export function* copyChunks(rows: Iterable<Record<string, unknown>>, columns: string[], types: Array<LogicalType | undefined>): Generator<string> {
  let chunk = '';
  for (const row of rows) {
    let line = '';
    for (let i = 0; i < columns.length; i++) {
      if (i > 0) line += '\t';
      line += copyText(row[columns[i]!], types[i]);
    }
    chunk += line + '\n';
    if (chunk.length > 65_536) {
      yield chunk;
      chunk = '';
    }
  }
  if (chunk) yield chunk;
}

/** Streams rows into `copy <target> (<columns>) from stdin` on a client (inside the caller's transaction). */
export async function copyInto(client: pg.PoolClient, copySql: string, rows: Iterable<Record<string, unknown>>, columns: string[], types: Array<LogicalType | undefined>): Promise<void> {
  const stream = client.query(copyFrom(copySql));
  await pipeline(Readable.from(copyChunks(rows, columns, types)), stream);
}
