import { normalizeSync, validateSyncConfig, type Endpoint, type Row, type Sync, type SyncConfig } from '@idra/core';
import { tempDir } from '@idra/testkit';
import { runOnce, type TestDb } from './fixtures.ts';
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

/**
 * Deletes through a connector that writes records and reads them back (S3, HTTP): PG table `table` → `hop` (timestamp
 * mode, softDeleteColumn) in three passes — rows; an update and a delete; a pass of deletes alone — then `hop` → PG
 * table `${table}_copy`. Returns what the hop's two ends hold, as rows compared by content: the copy, and the source's
 * rows not deleted.
 */
export async function deletesThrough(pg: TestDb, table: string, hop: { to: Endpoint; from: Endpoint }): Promise<{ copy: Row[]; kept: Row[] }> {
  const newState = () => tempDir('idra-state-');
  await pg.exec(`create table ${table} (id bigint primary key, name text, updated_at timestamp(6) not null, deleted_at timestamp(6))`);
  await pg.exec(`insert into ${table} select i, 'row ' || i, '2026-01-01'::timestamp + i * interval '1 second', null from generate_series(1, 5) i`);
  const toHop = syncBetween(tableEndpoint(pg, table), hop.to, {
    mode: 'timestamp',
    cursorColumn: 'updated_at',
    keyColumns: ['id'],
    softDeleteColumn: 'deleted_at',
  });
  const state = await newState();
  await runOnce(toHop, state);
  await pg.exec(`update ${table} set name = 'renamed', updated_at = '2026-01-02' where id = 3`);
  await pg.exec(`update ${table} set deleted_at = '2026-01-03', updated_at = '2026-01-03' where id = 2`);
  await runOnce(toHop, state);
  await pg.exec(`update ${table} set deleted_at = '2026-01-04', updated_at = '2026-01-04' where id in (4, 5)`);
  await runOnce(toHop, state);
  await runOnce(syncBetween(hop.from, tableEndpoint(pg, `${table}_copy`), { keyColumns: ['id'], writeMode: 'upsert' }), await newState());
  const copy = (await pg.rows(`${table}_copy`, ['id'])).map(canonicalRow);
  const kept = (await pg.rows(table, ['id'])).filter((r) => r['deleted_at'] === null).map(canonicalRow);
  return { copy, kept };
}
