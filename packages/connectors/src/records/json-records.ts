import { LOGICAL_TYPES, type Column, type LogicalType, type Row } from '@idra/core';
import { isRawJsonNumber, jsonNumberType, parseJsonExact } from './exact-json.ts';

/**
 * Rows as JSON records, shared by the connectors that carry JSON (Kafka messages, S3 JSON Lines,
 * HTTP bodies). Values keep their precision both ways: 64-bit integers, decimals and timestamps
 * travel as strings, bytes as base64, JSON columns as nested JSON; a JSON number that a double
 * cannot hold exactly is read as its decimal text (a top-level field) or a raw JSON number (nested).
 */

/** The JSON form of one row value. */
export function toJsonValue(value: unknown): unknown {
  if (value === undefined) return null;
  if (typeof value === 'bigint') return value.toString();
  if (value instanceof Uint8Array) return Buffer.from(value).toString('base64');
  if (value instanceof Date) return canonicalTimestamp(value);
  return value;
}

/** A row as a JSON object, columns in order, without the fields it lacks. */
export function rowToJson(row: Row, columns: readonly Column[]): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  // A field the row lacks stays out of the JSON (see rows-by-key.ts): a downstream upsert keeps its value.
  for (const c of columns) if (row[c.name] !== undefined) out[c.name] = toJsonValue(row[c.name]);
  return out;
}

/** `JSON.stringify` that also writes bigints (as decimal strings). */
export function stringifyJson(value: unknown): string {
  return JSON.stringify(value, (_k, v: unknown) => (typeof v === 'bigint' ? v.toString() : v));
}

/** `YYYY-MM-DD HH:MM:SS.fff` in UTC, Idra's canonical text of a millisecond instant. */
export function canonicalTimestamp(date: Date): string {
  return date.toISOString().replace('T', ' ').replace('Z', '');
}

/** A parsed JSON object and the logical type each top-level field's JSON value suggests. */
export interface DecodedRecord {
  row: Row;
  types: Map<string, LogicalType | undefined>;
}

function jsonType(value: unknown, numberType: LogicalType | undefined): LogicalType | undefined {
  if (value === null) return undefined;
  if (numberType) return numberType;
  if (typeof value === 'boolean') return 'boolean';
  if (typeof value === 'string') return 'text';
  return 'json';
}

/**
 * Parses a JSON object without losing precision ({@link parseJsonExact}): a top-level number a
 * double cannot hold is typed `int64` or `decimal` and becomes its decimal text in the row; nested
 * ones stay raw JSON numbers. Throws SyntaxError for invalid JSON or when it is not an object.
 */
export function decodeJsonRecord(text: string): DecodedRecord {
  const numberTypes = new WeakMap<object, Map<string, LogicalType>>();
  const parsed = parseJsonExact(text, numberTypes);
  if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed)) {
    throw new SyntaxError(`expected a JSON object, got ${Array.isArray(parsed) ? 'an array' : parsed === null ? 'null' : typeof parsed}`);
  }
  return objectRecord(parsed as Row, numberTypes.get(parsed));
}

/** A record from a JSON object parsed by {@link parseJsonExact} (e.g. an item of an HTTP response), with the number types it recorded. */
export function objectRecord(row: Row, numberTypes?: Map<string, LogicalType>): DecodedRecord {
  const types = new Map<string, LogicalType | undefined>();
  for (const [k, v] of Object.entries(row)) {
    let numberType = numberTypes?.get(k);
    if (numberType === undefined && typeof v === 'number') numberType = Number.isInteger(v) ? 'int64' : 'float';
    if (numberType === undefined && isRawJsonNumber(v)) numberType = jsonNumberType(v.rawJSON, Number(v.rawJSON));
    types.set(k, jsonType(v, numberType));
  }
  return { row, types };
}

// Numeric types from the narrowest; the widest of two observations holds both exactly, except that
// a double cannot hold every int64 (then decimal).
const NUMERIC: readonly LogicalType[] = ['int32', 'int64', 'float', 'decimal'];

/** The type two observations of one field agree on. */
function widen(a: LogicalType | undefined, b: LogicalType | undefined): LogicalType | undefined {
  if (a === undefined || a === b) return b ?? a;
  if (b === undefined) return a;
  if (NUMERIC.includes(a) && NUMERIC.includes(b)) {
    const wide = NUMERIC[Math.max(NUMERIC.indexOf(a), NUMERIC.indexOf(b))]!;
    return wide === 'float' && (a === 'int64' || b === 'int64') ? 'decimal' : wide;
  }
  return a === 'json' || b === 'json' ? 'json' : 'text';
}

/**
 * The columns of a batch of records: the `declared` ones (carried with the records, or given as
 * an option) in their order with their types, then every other field in order of appearance with
 * the type its JSON values suggest (text when only nulls were seen), marked `inferred`.
 */
export function recordColumns(records: readonly DecodedRecord[], declared: readonly Column[] = []): Column[] {
  const byName = new Map<string, Column>(declared.map((c) => [c.name, c]));
  const inferred = new Map<string, LogicalType | undefined>();
  for (const record of records) {
    for (const [name, type] of record.types) {
      if (byName.has(name)) continue;
      inferred.set(name, inferred.has(name) ? widen(inferred.get(name), type) : type);
    }
  }
  return [...declared, ...[...inferred].map(([name, type]): Column => ({ name, type: type ?? 'text', inferred: true }))];
}

/** The columns an endpoint asks for (`endpoint.columns`, in the batch's order), or all of them. */
export function selectColumns(columns: Column[], wanted: readonly string[] | undefined): Column[] {
  return wanted ? columns.filter((c) => wanted.includes(c.name)) : columns;
}

/** A JSON (or CSV text) value converted to the canonical form of its column's type. */
function fromJsonValue(value: unknown, type: LogicalType): unknown {
  if (value === null || value === undefined) return null;
  // A number a double cannot hold: its exact text, except in a JSON column, which writes it back as a number.
  if (isRawJsonNumber(value) && type !== 'json') value = value.rawJSON;
  switch (type) {
    case 'int32':
    case 'float':
      return typeof value === 'string' && value.trim() !== '' && Number.isFinite(Number(value)) ? Number(value) : value;
    case 'int64':
    case 'decimal':
      return typeof value === 'number' ? String(value) : value;
    case 'boolean':
      if (value === 'true' || value === '1') return true;
      if (value === 'false' || value === '0') return false;
      return value;
    case 'bytes':
      return typeof value === 'string' ? Buffer.from(value, 'base64') : value;
    case 'json':
      return value;
    default:
      return typeof value === 'number' || typeof value === 'boolean' ? String(value) : value;
  }
}

/** A record's values in the canonical form of the batch's columns; fields the record lacks stay absent. */
export function recordRow(record: DecodedRecord, columns: readonly Column[]): Row {
  return presentFields(record.row, columns, (value, c) => fromJsonValue(value, c.type));
}

/** The fields of `source` that are columns of the batch, converted; those it lacks stay absent (see rows-by-key.ts), not null. */
export function presentFields(source: Row, columns: readonly Column[], convert: (value: unknown, column: Column) => unknown = (v) => v): Row {
  const row: Row = {};
  for (const c of columns) if (Object.hasOwn(source, c.name)) row[c.name] = convert(source[c.name], c);
  return row;
}

/** Columns as carried with records (Kafka header, S3 object metadata): `[["id","int64"],["amount","decimal",28,6],["n","int64",null,null,"inferred"]]`. */
export function encodeColumns(columns: readonly Column[]): string {
  return JSON.stringify(
    columns.map((c) => {
      const entry: unknown[] = c.precision === undefined ? [c.name, c.type] : [c.name, c.type, c.precision, c.scale ?? 0];
      // An inferred type stays one downstream: a table made from it must still take wider values.
      if (c.inferred) entry.push(...(c.precision === undefined ? [null, null] : []), 'inferred');
      return entry;
    }),
  );
}

/** The columns of {@link encodeColumns}; undefined when the text is not such a list. */
export function decodeColumns(text: string | undefined): Column[] | undefined {
  if (!text) return undefined;
  try {
    const list: unknown = JSON.parse(text);
    if (!Array.isArray(list)) return undefined;
    const columns: Column[] = [];
    for (const entry of list) {
      if (!Array.isArray(entry) || typeof entry[0] !== 'string' || typeof entry[1] !== 'string' || !(LOGICAL_TYPES as readonly string[]).includes(entry[1]))
        return undefined;
      const column: Column = { name: entry[0], type: entry[1] as LogicalType };
      if (typeof entry[2] === 'number') {
        column.precision = entry[2];
        column.scale = typeof entry[3] === 'number' ? entry[3] : 0;
      }
      if (entry[4] === 'inferred') column.inferred = true;
      columns.push(column);
    }
    return columns;
  } catch {
    return undefined;
  }
}
