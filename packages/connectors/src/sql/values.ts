import type { DiscoveredObject, LogicalType } from '@idra/core';
import { jsonValueText } from './tab-separated.ts';

/** `2024-01-02 03:04:05.123456+00` (PostgreSQL, UTC session) → `2024-01-02 03:04:05.123456`. */
export function stripUtcOffset(text: string): string {
  if (text.endsWith('+00')) return text.slice(0, -3);
  if (text.endsWith('+00:00')) return text.slice(0, -6);
  return text.endsWith('Z') ? text.slice(0, -1) : text;
}

/** A cursor or key value as the string kept in an offset (no precision lost). */
export function cursorText(value: unknown): string | null {
  if (value === null || value === undefined) return null;
  if (typeof value === 'string') return value;
  if (typeof value === 'number' || typeof value === 'bigint' || typeof value === 'boolean') return String(value);
  if (value instanceof Date) return value.toISOString().replace('T', ' ').replace('Z', '');
  if (value instanceof Uint8Array) return Buffer.from(value).toString('hex');
  return JSON.stringify(value);
}

/** A JSON column value ready to bind as text (objects and arrays serialized, JSON text kept). */
export function jsonText(value: unknown): unknown {
  if (value === null || value === undefined) return null;
  if (typeof value === 'string') return value;
  return jsonValueText(value);
}

/** Types whose values are numbers or decimal strings. */
export const INTEGER_TYPES: ReadonlySet<LogicalType> = new Set(['int32', 'int64']);

/** Bytes of any binary value (Buffer, Uint8Array, JSON-serialized Buffer). */
export function toBuffer(value: unknown): Buffer | unknown {
  if (Buffer.isBuffer(value)) return value;
  if (value instanceof Uint8Array) return Buffer.from(value);
  return value;
}

/** Microseconds since the epoch of a UTC timestamp text `YYYY-MM-DD HH:MM:SS[.f…]` (digits past the sixth are dropped). */
export function microsOf(text: string): bigint {
  const m = /^(\d{4})-(\d\d)-(\d\d)[ T](\d\d):(\d\d):(\d\d)(?:\.(\d+))?/.exec(text);
  if (!m) throw new TypeError(`not a timestamp: ${JSON.stringify(text)}`);
  const seconds = Date.UTC(Number(m[1]), Number(m[2]) - 1, Number(m[3]), Number(m[4]), Number(m[5]), Number(m[6])) / 1000;
  return BigInt(seconds) * 1_000_000n + BigInt((m[7] ?? '').padEnd(6, '0').slice(0, 6));
}

/** The UTC timestamp text `YYYY-MM-DD HH:MM:SS.ffffff` of microseconds since the epoch ({@link microsOf}'s inverse). */
export function microsText(micros: bigint): string {
  const fraction = ((micros % 1_000_000n) + 1_000_000n) % 1_000_000n;
  const seconds = (micros - fraction) / 1_000_000n;
  return `${new Date(Number(seconds) * 1000).toISOString().slice(0, 19).replace('T', ' ')}.${fraction.toString().padStart(6, '0')}`;
}

/** The logical type of a SQL type name as information_schema spells it (`character varying`, `bigint` …). */
function logicalTypeOfName(name: string): LogicalType {
  const t = name.toLowerCase();
  if (t.includes('bool') || t === 'bit') return 'boolean';
  if (t.startsWith('bigint') || t === 'int8') return 'int64';
  if (/^(int|integer|smallint|mediumint|tinyint|int2|int4|serial)/.test(t)) return 'int32';
  if (/^(numeric|decimal|money|smallmoney)/.test(t)) return 'decimal';
  if (/^(real|double|float)/.test(t)) return 'float';
  if (t === 'uuid' || t === 'uniqueidentifier') return 'uuid';
  if (t.startsWith('timestamp with time zone') || t === 'timestamptz' || t === 'datetimeoffset') return 'timestamptz';
  if (t.startsWith('timestamp') || t.startsWith('datetime') || t === 'smalldatetime') return 'timestamp';
  if (t === 'date') return 'date';
  if (t.startsWith('time')) return 'time';
  if (t.startsWith('json')) return 'json';
  if (/^(bytea|blob|longblob|mediumblob|tinyblob|binary|varbinary|image)/.test(t)) return 'bytes';
  return 'text';
}

/** Groups `(schema, table, column, type, pk)` rows, in order, into tables. */
export function groupColumns(rows: Array<Record<string, unknown>>): DiscoveredObject[] {
  const tables = new Map<string, DiscoveredObject>();
  for (const r of rows) {
    const schema = r.table_schema === null || r.table_schema === undefined ? undefined : String(r.table_schema);
    const name = String(r.table_name);
    const key = `${schema ?? ''}.${name}`;
    let table = tables.get(key);
    if (!table) tables.set(key, (table = { schema, name, columns: [] }));
    const pk = r.pk;
    table.columns.push({
      name: String(r.column_name),
      type: logicalTypeOfName(String(r.data_type ?? '')),
      primaryKey: pk === true || pk === 1 || pk === '1' || pk === 't',
    });
  }
  return [...tables.values()];
}
