import type { SyncConfig } from '../model/schema.ts';
import type { SyncMode } from '../model/modes.ts';

/** A table as a data source lists it (`GET /datasources/:id/tables`). */
export interface ListedTable {
  schema?: string | undefined;
  name: string;
  columns: Array<{ name: string; type: string; primaryKey: boolean }>;
}

/** Settings shared by every sync of a bulk creation. */
export interface BulkSettings {
  /** Ids are `<idPrefix><table>` (characters an id cannot hold become `_`). */
  idPrefix: string;
  sourceDataSourceId: string;
  sourceConnector: SyncConfig['source']['connector'];
  destinationDataSourceId: string;
  destinationConnector: SyncConfig['destination']['connector'];
  /** Destination tables are `<tablePrefix><table>`. */
  tablePrefix?: string | undefined;
  mode: Extract<SyncMode, 'id' | 'timestamp' | 'full'>;
  writeMode?: 'insert' | 'upsert' | undefined;
  batchSize?: number | undefined;
  pollIntervalMs?: number | string | undefined;
  enabled: boolean;
}

/** One planned sync, with what was detected for it (shown for review) and why it may need a hand. */
export interface PlannedSync {
  table: string;
  config: SyncConfig;
  detected: { keyColumns: string[]; cursorColumn?: string | undefined; problem?: string | undefined };
}

const INTEGER = /int|serial|number|numeric\(\d+(,\s*0)?\)/i;
const TEMPORAL = /time|date/i;
const UPDATED = /^(updated|modified|last_?modified|last_?updated|changed|mtime)(_?(at|on|time|date|ts))?$/i;

/** The id a table's sync gets: predictable, so that running the same bulk creation twice is refused, not doubled. */
export function bulkSyncId(prefix: string, table: string): string {
  const id = `${prefix}${table}`.replace(/[^A-Za-z0-9_.-]/g, '_').slice(0, 128);
  return /^[A-Za-z0-9]/.test(id) ? id : `t${id}`.slice(0, 128);
}

/** Key and cursor columns for a mode, from the table's primary key and column names and types. */
export function detectColumns(table: ListedTable, mode: BulkSettings['mode']): PlannedSync['detected'] {
  const keyColumns = table.columns.filter((c) => c.primaryKey).map((c) => c.name);
  if (mode === 'full') return { keyColumns, problem: keyColumns.length === 0 ? 'no primary key: give the key columns' : undefined };
  if (mode === 'id') {
    const single = keyColumns.length === 1 ? table.columns.find((c) => c.name === keyColumns[0] && INTEGER.test(c.type)) : undefined;
    const cursor = single ?? table.columns.find((c) => c.name.toLowerCase() === 'id' && INTEGER.test(c.type));
    return { keyColumns, cursorColumn: cursor?.name, problem: cursor ? undefined : 'no integer primary key or id column: give the cursor column' };
  }
  const updated =
    table.columns.find((c) => UPDATED.test(c.name) && TEMPORAL.test(c.type)) ??
    table.columns.find((c) => /updated|modified/i.test(c.name) && TEMPORAL.test(c.type));
  const problems = [
    updated ? undefined : 'no updated_at-like timestamp column: give the cursor column',
    keyColumns.length === 1 ? undefined : 'no single-column primary key to break timestamp ties: give a tiebreaker',
  ];
  return { keyColumns, cursorColumn: updated?.name, problem: problems.filter(Boolean).join('; ') || undefined };
}

/** One sync per table with the shared settings and the detected columns. */
export function planBulkSyncs(tables: readonly ListedTable[], settings: BulkSettings): PlannedSync[] {
  return tables.map((table) => {
    const detected = detectColumns(table, settings.mode);
    const config: SyncConfig = {
      id: bulkSyncId(settings.idPrefix, table.name),
      name: table.schema ? `${table.schema}.${table.name}` : table.name,
      ...(settings.enabled ? {} : { enabled: false }),
      source: {
        connector: settings.sourceConnector,
        dataSourceId: settings.sourceDataSourceId,
        ...(table.schema ? { schema: table.schema } : {}),
        table: table.name,
      },
      destination: {
        connector: settings.destinationConnector,
        dataSourceId: settings.destinationDataSourceId,
        table: `${settings.tablePrefix ?? ''}${table.name}`,
      },
      mode: settings.mode,
      ...(detected.cursorColumn ? { cursorColumn: detected.cursorColumn } : {}),
      ...(detected.keyColumns.length > 0 ? { keyColumns: detected.keyColumns } : {}),
      ...(settings.writeMode ? { writeMode: settings.writeMode } : {}),
      ...(settings.batchSize ? { batchSize: settings.batchSize } : {}),
      ...(settings.pollIntervalMs !== undefined ? { pollIntervalMs: settings.pollIntervalMs } : {}),
    };
    return { table: table.name, config, detected };
  });
}

/** What a person changed in one planned sync while reviewing it; what is left out keeps the plan's. */
export interface BulkRowEdit {
  mode?: BulkSettings['mode'] | undefined;
  cursorColumn?: string | undefined;
  keyColumns?: string[] | undefined;
  destinationTable?: string | undefined;
}

/**
 * A planned sync with a reviewer's changes: another mode has its columns detected again, then the
 * reviewer's columns and destination table go over them. What still needs a hand is said as before,
 * unless the reviewer gave it.
 */
export function reviseSync(planned: PlannedSync, table: ListedTable, edit: BulkRowEdit): PlannedSync {
  const mode = edit.mode ?? planned.config.mode;
  const found = mode === planned.config.mode ? planned.detected : detectColumns(table, mode as BulkSettings['mode']);
  const keyColumns = edit.keyColumns ?? found.keyColumns;
  const cursorColumn = mode === 'full' ? undefined : (edit.cursorColumn ?? found.cursorColumn);
  const given = edit.keyColumns !== undefined || edit.cursorColumn !== undefined;
  const problem = !given
    ? found.problem
    : mode !== 'full' && !cursorColumn
      ? 'give the cursor column'
      : mode !== 'id' && keyColumns.length === 0
        ? 'give the key columns'
        : undefined;
  const { cursorColumn: _cursor, keyColumns: _keys, ...rest } = planned.config;
  const config: SyncConfig = {
    ...rest,
    mode,
    destination: { ...rest.destination, table: edit.destinationTable ?? rest.destination.table },
    ...(cursorColumn ? { cursorColumn } : {}),
    ...(keyColumns.length > 0 ? { keyColumns } : {}),
  };
  return { table: planned.table, config, detected: { keyColumns, cursorColumn, problem } };
}
