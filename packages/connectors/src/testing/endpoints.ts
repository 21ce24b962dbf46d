import { normalizeSync, validateSyncConfig, type Endpoint, type Row, type Sync, type SyncConfig } from '@idra/core';
import type { TestDb } from './fixtures.ts';
import { isRawJsonNumber, rawJsonNumber } from '../records/exact-json.ts';

/** Fixtures for syncs between any two connectors (the SQL-only `makeSync` takes two test databases). */

/** The endpoint of a table in a test database. */
export function tableEndpoint(db: TestDb, table: string): Endpoint {
  return { connector: db.dialect.name, connection: db.connection, table };
}

/** A sync between two endpoints (defaults: small batches, fast polling). */
export function syncBetween(source: Endpoint, destination: Endpoint, overrides: Partial<SyncConfig> = {}): Sync {
  const config = {
    id: 'test-sync',
    source,
    destination,
    mode: 'stream',
    batchSize: 7,
    pollIntervalMs: 50,
    ...overrides,
  };
  return normalizeSync(validateSyncConfig(config));
}

/** JSON text with object keys sorted (stores reorder them); raw JSON numbers written as they are, so that a rounded number shows. */
function sortedJson(value: unknown): string {
  return JSON.stringify(value, (_k, v: unknown) =>
    v !== null && typeof v === 'object' && !Array.isArray(v) && !isRawJsonNumber(v)
      ? Object.fromEntries(Object.entries(v).sort(([a], [b]) => (a < b ? -1 : 1)))
      : v,
  );
}

/** Values compared across systems: decimals and fractions without trailing zeros, JSON values as key-sorted JSON text. */
export function canonicalRow(row: Row): Row {
  const out: Row = {};
  for (const [k, v] of Object.entries(row)) {
    if (v !== null && typeof v === 'object' && !(v instanceof Uint8Array)) {
      out[k] = sortedJson(v);
      continue;
    }
    if (typeof v === 'string' && /^-?\d+\.\d+$/.test(v)) out[k] = v.replace(/\.?0+$/, '');
    else if (typeof v === 'string' && /^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d+$/.test(v)) out[k] = v.replace(/\.?0+$/, '');
    else if (typeof v === 'number' && !Number.isInteger(v)) out[k] = String(v);
    else if (typeof v === 'number' || typeof v === 'bigint') out[k] = String(v);
    else out[k] = v;
  }
  return out;
}

/** Rows of every type Idra carries, with the values that break naive copies (a JSON integer beyond 2^53 among them). */
export const TYPED_ROWS: Row[] = [
  { id: '1', name: 'plain', amount: '10.500000', ts: '2024-01-01 00:00:00.000001', flag: true, doc: { a: 1, big: rawJsonNumber('9007199254740993') } },
  { id: '2', name: 'ünïcødé ✓ 漢字', amount: '-99999999999.999999', ts: '2024-01-01 00:00:00.000001', flag: false, doc: [1, 'two', null] },
  { id: '9007199254740993', name: 'quotes \' " , ; new\nline', amount: '0.000001', ts: '2026-01-19 03:14:08.999999', flag: null, doc: null },
  { id: '9223372036854775807', name: null, amount: null, ts: '2024-06-30 23:59:59.5', flag: true, doc: { nested: { deep: [true] } } },
];

/** `count` simple rows `{ id, name, amount }` from id `from`. */
export function numberedRows(from: number, count: number): Row[] {
  return Array.from({ length: count }, (_, k) => ({ id: String(from + k), name: `row ${from + k}`, amount: `${from + k}.25` }));
}
