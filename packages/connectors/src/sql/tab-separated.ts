import type { LogicalType, Row } from '@idra/core';
import { JsonText } from '../records/exact-json.ts';
import { stringifyJson } from '../records/json-records.ts';

/**
 * Escapes text for the tab-separated formats of PostgreSQL's `COPY … FROM STDIN` and MySQL's
 * `LOAD DATA … FIELDS TERMINATED BY '\t' ESCAPED BY '\\'`: backslash, tab, newline, carriage return.
 */
export function escapeTabSeparated(text: string): string {
  return /[\\\n\r\t]/.test(text) ? text.replace(/[\\\n\r\t]/g, (c) => (c === '\\' ? '\\\\' : c === '\n' ? '\\n' : c === '\r' ? '\\r' : '\\t')) : text;
}

/** Text of a JSON value, with 64-bit integers kept as they are; a json column's text as the source holds it. */
export function jsonValueText(value: unknown): string {
  return value instanceof JsonText ? value.text : stringifyJson(value);
}

/** Bytes of each chunk of tab-separated rows, at least. */
const CHUNK_BYTES = 65_536;

/**
 * Rows as tab-separated lines (`\N` for NULL, as both formats read it), in UTF-8 chunks of about
 * 64 KiB; a chunk may end inside a line. Each value's text is written straight into the chunk: building
 * lines as strings made about as much garbage again as the rows themselves (1M narrow rows into
 * MariaDB: 0.5 GB), and each chunk was then copied once more into bytes.
 */
export function* tabSeparatedChunks(
  rows: Iterable<Row>,
  columns: string[],
  types: Array<LogicalType | undefined>,
  encode: (value: unknown, type: LogicalType | undefined) => string,
): Generator<Buffer> {
  let chunk = Buffer.allocUnsafe(CHUNK_BYTES);
  let at = 0;
  for (const row of rows) {
    for (let i = 0; i < columns.length; i++) {
      const value = row[columns[i]!];
      const text = value === null || value === undefined ? '\\N' : encode(value, types[i]);
      // Room for a tab, the text at its widest in UTF-8 (3 bytes per UTF-16 code unit) and the line's end.
      const room = 3 * text.length + 2;
      if (at + room > chunk.length) {
        if (at > 0) yield chunk.subarray(0, at);
        chunk = Buffer.allocUnsafe(Math.max(CHUNK_BYTES, room));
        at = 0;
      }
      if (i > 0) chunk[at++] = 0x09;
      at += chunk.write(text, at, 'utf8');
    }
    // Only a row without columns can find the chunk full here: its values' room includes the newline.
    if (at === chunk.length) {
      yield chunk;
      chunk = Buffer.allocUnsafe(CHUNK_BYTES);
      at = 0;
    }
    chunk[at++] = 0x0a;
  }
  if (at > 0) yield chunk.subarray(0, at);
}
