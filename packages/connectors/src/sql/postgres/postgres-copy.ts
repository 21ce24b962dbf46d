import { pipeline } from 'node:stream/promises';
import { Readable } from 'node:stream';
import { from as copyFrom } from 'pg-copy-streams';
import type pg from 'pg';
import type { LogicalType, Row } from '@idra/core';
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

/** Streams rows into `copy <target> (<columns>) from stdin` on a client (inside the caller's transaction). */
export async function copyInto(client: pg.PoolClient, copySql: string, rows: Iterable<Row>, columns: string[], types: Array<LogicalType | undefined>): Promise<void> {
  const stream = client.query(copyFrom(copySql));
  await pipeline(Readable.from(tabSeparatedChunks(rows, columns, types, copyText)), stream);
}
