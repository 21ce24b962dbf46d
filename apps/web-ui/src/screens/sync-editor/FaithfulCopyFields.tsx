import { modeInfo } from '@idra/core/model';
import type { SyncDraft } from '../../lib/sync-draft.ts';
import { PlacedField } from './issues.tsx';

interface Props {
  draft: SyncDraft;
  change: (patch: Partial<SyncDraft>, ...paths: string[]) => void;
}

/** Schema changes and deletes: how the destination stays a faithful copy when the source changes shape or loses rows. */
export function FaithfulCopyFields({ draft: d, change }: Props) {
  const { cursor, fromDestination, log } = modeInfo(d.mode);
  const ownCursor = cursor && !fromDestination;
  const soft = d.deletes === 'delete' || d.deletes === 'mark';
  return (
    <div className="grid-3">
      <PlacedField
        path="schemaChanges"
        label="When the source's columns change"
        hint="evolve adds new columns and widens types in the destination; ignore copies only the destination's columns; fail stops the sync."
      >
        {(p) => (
          <select {...p} value={d.schemaChanges} onChange={(e) => change({ schemaChanges: e.target.value as SyncDraft['schemaChanges'] })}>
            <option value="evolve">evolve the destination (default)</option>
            <option value="ignore">ignore new columns</option>
            <option value="fail">stop the sync</option>
          </select>
        )}
      </PlacedField>
      <PlacedField
        path="deletes"
        label="Rows deleted at the source"
        hint="Needs key columns. Mirror: full mode, after each complete pass. Soft delete: id/timestamp modes, a column marks deleted rows."
      >
        {(p) => (
          <select {...p} value={d.deletes} onChange={(e) => change({ deletes: e.target.value as SyncDraft['deletes'] })}>
            <option value="">{log ? 'are deleted, as the change log says' : 'stay in the destination'}</option>
            {d.mode === 'full' && <option value="mirror">are deleted after each complete pass (mirror)</option>}
            {ownCursor && <option value="delete">marked by a column: delete them</option>}
            {ownCursor && <option value="mark">marked by a column: copy the mark</option>}
          </select>
        )}
      </PlacedField>
      {soft && ownCursor && (
        <PlacedField path="softDeleteColumn" label="Soft-delete column" hint="e.g. deleted_at or is_deleted: a time, true or non-zero means deleted.">
          {(p) => <input {...p} placeholder="deleted_at" value={d.softDeleteColumn} onChange={(e) => change({ softDeleteColumn: e.target.value })} />}
        </PlacedField>
      )}
      {ownCursor && (
        <PlacedField
          path="reconcileEvery"
          label="Compare keys every"
          hint='Deletes keys gone from the source and counts rows the destination lacks, e.g. "1h" (SQL at both ends).'
        >
          {(p) => <input {...p} placeholder="never" value={d.reconcileEvery} onChange={(e) => change({ reconcileEvery: e.target.value })} />}
        </PlacedField>
      )}
      {(d.deletes === 'mirror' || (ownCursor && d.reconcileEvery.trim() !== '')) && (
        <PlacedField
          path="maxDeleteFraction"
          label="Largest share deleted at once"
          hint="A comparison that would delete more of the destination's rows deletes nothing and stops the sync (default 0.5)."
        >
          {(p) => (
            <input {...p} inputMode="decimal" placeholder="0.5" value={d.maxDeleteFraction} onChange={(e) => change({ maxDeleteFraction: e.target.value })} />
          )}
        </PlacedField>
      )}
    </div>
  );
}
