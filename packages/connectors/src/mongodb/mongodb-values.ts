import { Binary, BSONType, Decimal128, Double, Int32, Long, ObjectId, Timestamp, UUID, type Document } from 'mongodb';
import type { Column, LogicalType, Row } from '@idra/core';
import { canonicalTimestamp } from '../records/json-records.ts';
import { JSON_NULL, JsonText, isExactDouble, isInt64Text, isRawJsonNumber, rawJsonNumber } from '../records/exact-json.ts';
import type { MongoConfig } from './mongodb-options.ts';

/**
 * BSON ↔ rows, predictably: ObjectId → hex string, Decimal128 and Long → decimal strings, Int32 and
 * Double → numbers, Date → `YYYY-MM-DD HH:MM:SS.fff` (UTC), UUID → its text, other binary → bytes,
 * nested documents and arrays → JSON values (converted the same way inside, except that numbers
 * stay JSON numbers: a Long or Decimal128 a double cannot hold becomes a raw JSON number). Reads use
 * `promoteValues: false` so that Int32, Long and Double stay distinguishable.
 */

/** Driver options that keep every BSON number type visible. */
export const RAW_BSON = { promoteValues: false, promoteLongs: false, promoteBuffers: false } as const;

const UUID_SUBTYPE = 4;

const JSON_NUMBER = /^-?(0|[1-9]\d*)(\.\d+)?([eE][+-]?\d+)?$/;

/** A Long or Decimal128 inside a document as a JSON number: a plain number when a double holds it, else a raw JSON number. */
function jsonNumber(text: string): unknown {
  if (!JSON_NUMBER.test(text)) return text; // NaN, Infinity
  const n = Number(text);
  return String(n) === text ? n : rawJsonNumber(text);
}

/** A BSON value as a JSON value, for nested documents and arrays. */
function bsonToJson(value: unknown): unknown {
  if (value === null || value === undefined) return null;
  if (value instanceof ObjectId) return value.toHexString();
  if (value instanceof Decimal128 || value instanceof Long) return jsonNumber(value.toString());
  if (value instanceof Timestamp) return value.toString();
  if (value instanceof Int32 || value instanceof Double) return value.valueOf();
  if (value instanceof Date) return canonicalTimestamp(value);
  if (value instanceof Binary) return value.sub_type === UUID_SUBTYPE ? value.toUUID().toHexString(true) : Buffer.from(value.buffer).toString('base64');
  if (Array.isArray(value)) return value.map(bsonToJson);
  if (typeof value === 'object') {
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(value as Document)) out[k] = bsonToJson(v);
    return out;
  }
  return value;
}

/** A top-level BSON value as a row value, and the logical type it has (undefined for null). */
export function bsonToValue(value: unknown): { value: unknown; type: LogicalType | undefined } {
  if (value === null || value === undefined) return { value: null, type: undefined };
  if (value instanceof ObjectId) return { value: value.toHexString(), type: 'text' };
  if (value instanceof Decimal128) return { value: value.toString(), type: 'decimal' };
  if (value instanceof Long || value instanceof Timestamp) return { value: value.toString(), type: 'int64' };
  if (value instanceof Int32) return { value: value.valueOf(), type: 'int32' };
  if (value instanceof Double) return { value: value.valueOf(), type: 'float' };
  if (typeof value === 'number') return { value, type: Number.isInteger(value) ? 'int64' : 'float' };
  if (typeof value === 'boolean') return { value, type: 'boolean' };
  if (typeof value === 'string') return { value, type: 'text' };
  if (value instanceof Date) return { value: canonicalTimestamp(value), type: 'timestamp' };
  if (value instanceof Binary) {
    return value.sub_type === UUID_SUBTYPE ? { value: value.toUUID().toHexString(true), type: 'uuid' } : { value: Buffer.from(value.buffer), type: 'bytes' };
  }
  return { value: bsonToJson(value), type: 'json' };
}

/** A document as a row (top-level fields) with the type each field's value has. */
export function documentToRecord(doc: Document): { row: Row; types: Map<string, LogicalType | undefined> } {
  const row: Row = {};
  const types = new Map<string, LogicalType | undefined>();
  for (const [k, v] of Object.entries(doc)) {
    const { value, type } = bsonToValue(v);
    row[k] = value;
    types.set(k, type);
  }
  return { row, types };
}

const CANONICAL_TIME = /^(\d{4}-\d\d-\d\d)[ T](\d\d:\d\d:\d\d)(\.\d+)?(Z|[+-]\d\d(:?\d\d)?)?$/;

/** `YYYY-MM-DD HH:MM:SS[.ffffff]` (UTC unless it has an offset) as a Date; sub-millisecond digits are cut. */
export function timestampToDate(text: string): Date | undefined {
  const m = CANONICAL_TIME.exec(text.trim());
  if (!m) return undefined;
  const ms = m[3] ? m[3].slice(0, 4).padEnd(4, '0') : '';
  const zone = m[4] ? (m[4] === 'Z' ? 'Z' : m[4].length === 3 ? `${m[4]}:00` : m[4]) : 'Z';
  const date = new Date(`${m[1]}T${m[2]}${ms}${zone}`);
  return Number.isNaN(date.getTime()) ? undefined : date;
}

/** A row value as the BSON value a destination stores for its column type. */
export function valueToBson(value: unknown, column: Column | undefined, config: Pick<MongoConfig, 'decimalAs' | 'timestampAs' | 'objectIdFields'>): unknown {
  if (value === null || value === undefined) return null;
  if (column && config.objectIdFields.includes(column.name) && typeof value === 'string' && /^[0-9a-fA-F]{24}$/.test(value)) return new ObjectId(value);
  switch (column?.type) {
    case 'int64':
      if (typeof value === 'bigint' || (typeof value === 'string' && /^-?\d+$/.test(value))) return Long.fromString(String(value));
      if (typeof value === 'number' && Number.isInteger(value)) return Long.fromNumber(value);
      return value;
    case 'decimal':
      return config.decimalAs === 'decimal128' && (typeof value === 'string' || typeof value === 'number')
        ? Decimal128.fromString(String(value))
        : String(value);
    case 'float':
      return typeof value === 'string' && value.trim() !== '' ? new Double(Number(value)) : typeof value === 'number' ? new Double(value) : value;
    case 'timestamp':
    case 'timestamptz':
      if (config.timestampAs === 'date' && typeof value === 'string') return timestampToDate(value) ?? value;
      return value instanceof Date && config.timestampAs === 'string' ? canonicalTimestamp(value) : value;
    case 'bytes':
      return value instanceof Uint8Array ? new Binary(Buffer.from(value)) : value;
    case 'uuid':
      return typeof value === 'string' && UUID.isValid(value) ? new UUID(value) : value;
    case 'json':
      return jsonToBson(value, config);
    default:
      return typeof value === 'bigint' ? Long.fromBigInt(value) : value;
  }
}

/** A JSON value as BSON: numbers a double cannot hold become Longs (integers) or Decimal128s (or decimal strings with `decimalAs: 'string'`). */
function jsonToBson(value: unknown, config: Pick<MongoConfig, 'decimalAs'>): unknown {
  if (value instanceof JsonText) return jsonToBson(value.value(), config);
  // BSON has one null: a JSON null read from a JSON column becomes it.
  if (value === JSON_NULL) return null;
  if (isRawJsonNumber(value)) {
    const text = value.rawJSON;
    if (isInt64Text(text)) return Long.fromString(text);
    // Kept for its spelling alone (1.10, 1e3): the double it is.
    if (isExactDouble(text)) return Number(text);
    if (config.decimalAs === 'string') return text;
    try {
      return Decimal128.fromString(text);
    } catch {
      return text; // more digits than a Decimal128 holds: kept as text rather than rounded
    }
  }
  if (typeof value === 'bigint') return Long.fromBigInt(value);
  if (Array.isArray(value)) return value.map((v) => jsonToBson(v, config));
  if (value !== null && typeof value === 'object' && !(value instanceof Uint8Array)) {
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, jsonToBson(v, config)]));
  }
  return value;
}

/** A row as a document: every column of the batch the row has, in order (a field it lacks stays out). */
export function rowToDocument(row: Row, columns: readonly Column[], config: Pick<MongoConfig, 'decimalAs' | 'timestampAs' | 'objectIdFields'>): Document {
  const doc: Document = {};
  for (const c of columns) if (row[c.name] !== undefined) doc[c.name] = valueToBson(row[c.name], c, config);
  return doc;
}

/** The BSON type name of a value, as `$type` takes it. */
export function bsonTypeOf(value: unknown): keyof typeof BSONType | undefined {
  if (value instanceof ObjectId) return 'objectId';
  if (value instanceof Date) return 'date';
  if (value instanceof Decimal128) return 'decimal';
  if (value instanceof Long) return 'long';
  if (value instanceof Int32) return 'int';
  if (value instanceof Double || typeof value === 'number') return 'double';
  if (typeof value === 'string') return 'string';
  return undefined;
}

/** A cursor value kept as text in an offset, back as the BSON type the collection uses for that field. */
export function cursorToBson(text: string, type: keyof typeof BSONType | undefined): unknown {
  switch (type) {
    case 'objectId':
      return /^[0-9a-fA-F]{24}$/.test(text) ? new ObjectId(text) : text;
    case 'date':
      return timestampToDate(text) ?? text;
    case 'decimal':
      return Decimal128.fromString(text);
    case 'long':
    case 'int':
    case 'double':
      return /^-?\d+$/.test(text) ? Long.fromString(text) : new Double(Number(text));
    case 'string':
      return text;
    default:
      // The collection holds no such field yet: guess from the text's shape.
      if (/^[0-9a-f]{24}$/.test(text)) return new ObjectId(text);
      if (/^-?\d+$/.test(text)) return Long.fromString(text);
      return timestampToDate(text) ?? text;
  }
}
