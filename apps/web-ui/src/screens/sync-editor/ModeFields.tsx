import { MODES, modeInfo } from '@idra/core/model';
import type { SyncDraft } from '../../lib/sync-draft.ts';
import { PlacedField, usePlacedIssue } from './issues.tsx';
import type { TableInfo } from './hooks.ts';

interface ModeProps {
  draft: SyncDraft;
  change: (patch: Partial<SyncDraft>, ...paths: string[]) => void;
  /** The columns of the source's table (or collection …), when its data source listed it: offered for the column fields. */
  sourceColumns: TableInfo['columns'];
}

/** How rows are followed: the mode (from the mode table), its cursor and tiebreaker, the key. */
export function ModeFields({ draft: d, change, sourceColumns }: ModeProps) {
  const { cursor, timestamp, needs } = modeInfo(d.mode);
  const modeIssue = usePlacedIssue('mode');
  const primaryKey = sourceColumns.filter((c) => c.primaryKey).map((c) => c.name);
  return (
    <>
      <fieldset className="modes">
        <legend>Mode</legend>
        {MODES.map((m) => (
          <label key={m} className={`mode-option${d.mode === m ? ' selected' : ''}`}>
            <input type="radio" name="mode" value={m} checked={d.mode === m} onChange={() => change({ mode: m })} />
            <span>
              <strong>{modeInfo(m).label}</strong> <code>{m}</code>
              <span className="hint">{modeInfo(m).help}</span>
            </span>
          </label>
        ))}
      </fieldset>
      {modeIssue && <p className="error-text">{modeIssue}</p>}
      {needs && <p className="hint mode-needs">{needs}</p>}
      <div className="grid-3">
        {cursor && (
          <PlacedField
            path="cursorColumn"
            label="Cursor column"
            hint={timestamp ? 'A last-modified timestamp column.' : 'An increasing integer column, e.g. id.'}
          >
            {(p) => <input {...p} list="source-columns" value={d.cursorColumn} onChange={(e) => change({ cursorColumn: e.target.value })} spellCheck={false} />}
          </PlacedField>
        )}
        {timestamp && (
          <PlacedField path="tiebreakerColumn" label="Tiebreaker column" hint="Unique, orders rows with equal timestamps (default: the single key column).">
            {(p) => (
              <input
                {...p}
                list="source-columns"
                value={d.tiebreakerColumn}
                onChange={(e) => change({ tiebreakerColumn: e.target.value })}
                spellCheck={false}
              />
            )}
          </PlacedField>
        )}
        <PlacedField
          path="keyColumns"
          label="Key columns"
          hint={`Comma-separated primary key: upsert target, full-mode paging.${primaryKey.length > 0 ? ` The source table's primary key: ${primaryKey.join(', ')}.` : ''}`}
        >
          {(p) => (
            <input
              {...p}
              value={d.keyColumns}
              placeholder={primaryKey.join(', ')}
              onChange={(e) => change({ keyColumns: e.target.value })}
              spellCheck={false}
            />
          )}
        </PlacedField>
      </div>
      <datalist id="source-columns">
        {sourceColumns.map((c) => (
          <option key={c.name} value={c.name} label={`${c.type}${c.primaryKey ? ', primary key' : ''}`} />
        ))}
      </datalist>
    </>
  );
}
