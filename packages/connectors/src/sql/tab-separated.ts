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

/** Rows as tab-separated lines (`\N` for NULL, as both formats read it), in chunks of about 64 KiB. */
export function* tabSeparatedChunks(
  rows: Iterable<Row>,
  columns: string[],
  types: Array<LogicalType | undefined>,
  encode: (value: unknown, type: LogicalType | undefined) => string,
): Generator<string> {
  let chunk = '';
  for (const row of rows) {
    let line = '';
    for (let i = 0; i < columns.length; i++) {
      if (i > 0) line += '\t';
      const value = row[columns[i]!];
      line += value === null || value === undefined ? '\\N' : encode(value, types[i]);
    }
    chunk += line + '\n';
    if (chunk.length > 65_536) {
      yield chunk;
      chunk = '';
    }
  }
  if (chunk) yield chunk;
}
