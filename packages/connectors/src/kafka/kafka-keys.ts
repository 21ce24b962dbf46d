import type { Row } from '@idra/core';
import { isRawJsonNumber, parseJsonExact } from '../records/exact-json.ts';
import { stringifyJson, toJsonValue } from '../records/json-records.ts';

/** The message key of a row: its key column's text, or a JSON array of several; none without key columns. */
export function messageKey(row: Row, keyColumns: readonly string[]): string | null {
  if (keyColumns.length === 0) return null;
  const values = keyColumns.map((k) => toJsonValue(row[k]));
  if (values.length === 1) {
    const v = values[0];
    return v === null ? null : typeof v === 'string' ? v : stringifyJson(v);
  }
  return stringifyJson(values);
}

/**
 * The key columns' values a message key names (a tombstone's row to delete): what {@link messageKey}
 * wrote — one column's text, a JSON array of several —, or a JSON object holding every key column, as
 * other producers write keys. Undefined when the key names no row of these columns.
 */
export function keyOfMessage(key: string, keyColumns: readonly string[]): Row | undefined {
  if (keyColumns.length === 0) return undefined;
  let parsed: unknown;
  try {
    parsed = parseJsonExact(key);
  } catch {
    parsed = undefined;
  }
  // Numbers a double cannot hold stay as their digits.
  const plain = (v: unknown) => (isRawJsonNumber(v) ? v.rawJSON : v);
  if (parsed !== null && typeof parsed === 'object' && !Array.isArray(parsed) && keyColumns.every((k) => Object.hasOwn(parsed as object, k))) {
    return Object.fromEntries(keyColumns.map((k) => [k, plain((parsed as Row)[k])]));
  }
  if (keyColumns.length === 1) return { [keyColumns[0]!]: key };
  if (Array.isArray(parsed) && parsed.length === keyColumns.length) return Object.fromEntries(keyColumns.map((k, i) => [k, plain(parsed[i])]));
  return undefined;
}
