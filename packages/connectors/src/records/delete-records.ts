import { batchSteps, type Batch, type Change, type Column, type Row } from '@idra/core';
import { recordRow, rowToJson, toJsonValue, type DecodedRecord } from './json-records.ts';

/**
 * Deletes as records, for the connectors that carry records rather than tables (S3 objects, HTTP
 * bodies): a delete is written as the values of the sync's key columns plus a marker field (the
 * `deleteField` option, `_deleted` by default) set to true, in its place among the rows; a source
 * of the same kind reads such a record back as a delete, so that S3 → S3 or HTTP → HTTP stay
 * faithful. The marker is never a column of the rows.
 */

/** One record of a batch, in order: a row, or the key of a deleted row. */
export type BatchRecord = { row: Row } | { deleted: Row };

/** The rows and deletes of a batch in their order; a batch that empties its table (a truncate) cannot be written as records. */
export function batchRecords(batch: Batch, what: string): BatchRecord[] {
  const records: BatchRecord[] = [];
  for (const step of batchSteps(batch)) {
    if (step.kind === 'rows') for (const row of step.rows) records.push({ row });
    else if (step.kind === 'deletes') for (const key of step.keys) records.push({ deleted: key });
    // A schema change needs nothing: each object or request names the columns its records have.
    else if (step.kind === 'truncate') throw new Error(`${what} cannot empty what it wrote: a truncate at the source cannot be applied`);
  }
  return records;
}

/** The JSON object of a record: a row's fields, or a delete's key fields with the marker. */
export function recordJson(record: BatchRecord, columns: readonly Column[], keyColumns: readonly string[], marker: string): Record<string, unknown> {
  if ('row' in record) return rowToJson(record.row, columns);
  return { ...Object.fromEntries(keyColumns.map((k) => [k, toJsonValue(record.deleted[k])])), [marker]: true };
}

/** Whether a batch's columns hold the marker: then a row could not be told from a delete. */
export function markerClash(columns: readonly Column[], marker: string): string | undefined {
  return columns.some((c) => c.name === marker)
    ? `a column of the rows is named ${marker}, the field that marks a delete: set options.deleteField to another name`
    : undefined;
}

/** Whether a record read marks a delete: its marker field is true (JSON) or "true" (CSV). */
function isDelete(record: DecodedRecord, marker: string): boolean {
  const v = record.row[marker];
  return v === true || v === 'true';
}

/**
 * Records read (and placeholders of records that could not be) as a batch's rows and deletes, in
 * order. A record marked deleted becomes a delete of the row its key columns name; one without the
 * sync's key columns becomes a placeholder from `refuse` (the error policy decides). The marker
 * field is taken out of every record.
 */
export function recordsAsChanges<T>(
  taken: readonly T[],
  opts: {
    recordOf: (t: T) => DecodedRecord | undefined;
    /** The row standing for an entry that is not a record (its placeholder), or for a delete that cannot be applied. */
    placeholder: (t: T, error?: Error) => Row;
    columnsOf: (records: DecodedRecord[]) => Column[];
    keyColumns: readonly string[];
    marker: string;
  },
): { columns: Column[]; rows: Row[]; changes: Change[] } {
  const { keyColumns, marker } = opts;
  const entries: Array<{ record: DecodedRecord; deleted: boolean } | { placeholder: Row }> = taken.map((t) => {
    const record = opts.recordOf(t);
    if (!record) return { placeholder: opts.placeholder(t) };
    const deleted = isDelete(record, marker);
    if (deleted && (keyColumns.length === 0 || keyColumns.some((k) => record.row[k] === null || record.row[k] === undefined))) {
      const why = keyColumns.length === 0 ? 'set keyColumns to delete the row its key names' : `it lacks a key column (${keyColumns.join(', ')})`;
      return { placeholder: opts.placeholder(t, new Error(`a record marked deleted (${marker}) cannot be applied: ${why}`)) };
    }
    delete record.row[marker];
    record.types.delete(marker);
    return { record, deleted };
  });
  const columns = opts.columnsOf(entries.flatMap((e) => ('record' in e && !e.deleted ? [e.record] : [])));
  const rows: Row[] = [];
  const changes: Change[] = [];
  for (const e of entries) {
    if ('placeholder' in e) rows.push(e.placeholder);
    else if (!e.deleted) rows.push(recordRow(e.record, columns));
    else {
      const record = e.record;
      const keyTypes = keyColumns.map((k): Column => columns.find((c) => c.name === k) ?? { name: k, type: record.types.get(k) ?? 'text' });
      changes.push({ kind: 'delete', at: rows.length, key: recordRow(record, keyTypes) });
    }
  }
  return { columns, rows, changes };
}
