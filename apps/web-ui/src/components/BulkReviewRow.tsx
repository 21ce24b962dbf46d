import type { BulkRowEdit, BulkSettings, PlannedSync } from '@idra/core/bulk';

const MODES: Array<[BulkSettings['mode'], string]> = [
  ['id', 'increasing id'],
  ['timestamp', 'timestamp'],
  ['full', 'full copy'],
];

/** Comma-separated names as a list (empty entries dropped). */
const names = (text: string) =>
  text
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean);

/**
 * One table's sync under review, each setting editable before anything is created: mode, key and
 * cursor columns (the table's columns offered), destination table. `problem` is the server's, if it refused it.
 */
export function BulkReviewRow({
  planned,
  columns,
  edit,
  onEdit,
  problem,
}: {
  planned: PlannedSync;
  columns: string[];
  edit: BulkRowEdit;
  onEdit: (edit: BulkRowEdit) => void;
  problem: string | undefined;
}) {
  const { table, config, detected } = planned;
  const listId = `bulk-columns-${config.id}`;
  const toReview = problem ?? detected.problem;
  return (
    <tr data-table={table}>
      <th scope="row">{table}</th>
      <td data-label="Sync id">
        <code>{config.id}</code>
      </td>
      <td data-label="Mode">
        <select aria-label={`Mode of ${table}`} value={config.mode} onChange={(e) => onEdit({ ...edit, mode: e.target.value as BulkSettings['mode'] })}>
          {MODES.map(([mode, label]) => (
            <option key={mode} value={mode}>
              {label}
            </option>
          ))}
        </select>
      </td>
      <td data-label="Key columns">
        {/* Typed freely (commas and all), taken when left; a new detection (another mode) starts it over. */}
        <input
          key={detected.keyColumns.join()}
          aria-label={`Key columns of ${table}`}
          list={listId}
          defaultValue={detected.keyColumns.join(', ')}
          onBlur={(e) => onEdit({ ...edit, keyColumns: names(e.target.value) })}
          spellCheck={false}
        />
      </td>
      <td data-label="Cursor">
        {config.mode === 'full' ? (
          <span className="muted">none (full copy)</span>
        ) : (
          <input
            aria-label={`Cursor column of ${table}`}
            list={listId}
            value={edit.cursorColumn ?? detected.cursorColumn ?? ''}
            onChange={(e) => onEdit({ ...edit, cursorColumn: e.target.value.trim() })}
            spellCheck={false}
          />
        )}
        <datalist id={listId}>
          {columns.map((c) => (
            <option key={c} value={c} />
          ))}
        </datalist>
      </td>
      <td data-label="Destination table">
        <input
          aria-label={`Destination table of ${table}`}
          value={config.destination.table ?? ''}
          onChange={(e) => onEdit({ ...edit, destinationTable: e.target.value.trim() })}
          spellCheck={false}
        />
      </td>
      <td data-label="To review" className={toReview ? 'error-text' : undefined}>
        {toReview ?? 'ready'}
      </td>
    </tr>
  );
}
