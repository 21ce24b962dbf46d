import { ENCODED_ROW, type BatchStep, type Row } from '@idra/core';

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

/**
 * {@link onePerKey} for rows in ascending key order (a copy read in key order): the rows of a key sit
 * side by side, so each row is compared with the one before it, with no map of every key.
 */
export function onePerSortedKey(rows: readonly Row[], keys: readonly string[], writeMode: 'insert' | 'upsert'): Row[] {
  let previous = rows.length > 0 ? keyOf(rows[0]!, keys) : '';
  for (let i = 1; i < rows.length; i++) {
    const key = keyOf(rows[i]!, keys);
    if (key === previous) return onePerKey(rows, keys, writeMode);
    previous = key;
  }
  return [...rows];
}

/** The rows in groups of the same present columns (in order of first appearance): each group is written with its own column list. */
export function byPresentColumns(rows: readonly Row[], columns: readonly string[]): Array<{ columns: string[]; rows: Row[] }> {
  const complete = (row: Row) => {
    for (let i = 0; i < columns.length; i++) if (row[columns[i]!] === undefined) return false;
    return true;
  };
  // Rows read from a table have every column: one group, found without making anything per row.
  let r = 0;
  while (r < rows.length && complete(rows[r]!)) r++;
  if (r === rows.length) return rows.length === 0 ? [] : [{ columns: [...columns], rows: rows.slice() }];
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

/**
 * The rows and deletes of a batch, coalesced (upsert) between its schema changes and truncates into
 * one deletes step then one rows step, leaving every key as applying the steps in order would: a key
 * deleted anywhere in the run is deleted first, and its rows after its last delete, merged in order
 * ({@link mergeRows}), are written after — a delete then a reinsert stays a delete and an insert, so
 * the columns a reinserted row lacks get their defaults. A change log's batch of many small source
 * transactions then costs two statements instead of two per transaction. The keys of the deletes and
 * of the rows must be read alike (a change log parses both the same way): they are compared as text.
 */
export function coalesceSteps(steps: readonly BatchStep[], keys: readonly string[]): BatchStep[] {
  const out: BatchStep[] = [];
  let run = new Map<string, { deleted: Row | undefined; row: Row | undefined }>();
  const flush = () => {
    const deletes: Row[] = [];
    const rows: Row[] = [];
    for (const { deleted, row } of run.values()) {
      if (deleted) deletes.push(deleted);
      if (row) rows.push(row);
    }
    if (deletes.length > 0) out.push({ kind: 'deletes', keys: deletes });
    if (rows.length > 0) out.push({ kind: 'rows', rows });
    run = new Map();
  };
  for (const step of steps) {
    if (step.kind === 'rows') {
      for (const row of step.rows) {
        const key = keyOf(row, keys);
        const entry = run.get(key);
        if (!entry) run.set(key, { deleted: undefined, row });
        else entry.row = entry.row ? mergeRows(entry.row, row) : row;
      }
    } else if (step.kind === 'deletes') {
      for (const deleted of step.keys) {
        const key = keyOf(deleted, keys);
        const entry = run.get(key);
        if (!entry) run.set(key, { deleted, row: undefined });
        else {
          entry.deleted ??= deleted;
          entry.row = undefined;
        }
      }
    } else {
      // A schema change or a truncate: what follows it cannot move before it.
      flush();
      out.push(step);
    }
  }
  flush();
  return out;
}
