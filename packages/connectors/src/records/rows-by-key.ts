import { ENCODED_ROW, type Row } from '@idra/core';

/**
 * What a row's missing field means, the same for every destination and whatever the batching: a
 * record without a field (a JSON message or document that does not have it) is written without it —
 * on upsert the stored value stays, a new row gets NULL; a field given as null overwrites. In a row
 * a missing field is an absent key (or `undefined`).
 */

/** The text identifying a row's key. */
function keyOf(row: Row, keys: readonly string[]): string {
  return keys.length === 1 ? String(row[keys[0]!]) : JSON.stringify(keys.map((k) => row[k] ?? null));
}

/** `later` over `earlier`: the fields `later` has win, the ones it lacks keep `earlier`'s. An encoded row has every field. */
function mergeRows(earlier: Row, later: Row): Row {
  if (ENCODED_ROW in later) return later;
  const out: Row = { ...earlier };
  for (const [k, v] of Object.entries(later)) if (v !== undefined) out[k] = v;
  return out;
}

/**
 * One row per key, as writing the rows one after another would leave it: upsert merges the rows of
 * a key in order ({@link mergeRows}), insert keeps the first (an existing key is left as it is).
 * One statement cannot write a key twice (ON CONFLICT / MERGE refuse it).
 */
export function onePerKey(rows: readonly Row[], keys: readonly string[], writeMode: 'insert' | 'upsert'): Row[] {
  const byKey = new Map<string, Row>();
  for (const row of rows) {
    const key = keyOf(row, keys);
    const prior = byKey.get(key);
    if (prior === undefined) byKey.set(key, row);
    else if (writeMode === 'upsert') byKey.set(key, mergeRows(prior, row));
  }
  return byKey.size === rows.length ? [...rows] : [...byKey.values()];
}

/** The rows in groups of the same present columns (in order of first appearance): each group is written with its own column list. */
export function byPresentColumns(rows: readonly Row[], columns: readonly string[]): Array<{ columns: string[]; rows: Row[] }> {
  const groups = new Map<string, { columns: string[]; rows: Row[] }>();
  for (const row of rows) {
    const present = columns.filter((c) => row[c] !== undefined);
    const id = present.length === columns.length ? '' : present.join('\u0000');
    const group = groups.get(id);
    if (group) group.rows.push(row);
    else groups.set(id, { columns: present, rows: [row] });
  }
  return [...groups.values()];
}
