import { useState } from 'react';
import { useMutation } from '@tanstack/react-query';
import type { ChangeOptions, OffsetScopeConflict } from '@idra/api-client';
import { useClient } from '../api/client-context.tsx';
import { useCan } from '../api/session.tsx';
import { Dialog } from '../components/Dialog.tsx';
import { Field } from '../components/Field.tsx';
import { BusyButton, ErrorNote } from '../components/Status.tsx';
import { describePosition } from '@idra/core/model';

/**
 * A change that moves what a sync's stored offset points into (another table or query, cursor,
 * tiebreaker, key or mode): shows the changes and asks for the choice — start over, or keep the
 * position with the sync id typed — before the change is saved again with it. Admins only, on a
 * paused sync; both are said here rather than discovered.
 */
export function OffsetScopeDialog({
  syncId,
  conflict,
  enabled,
  onDecide,
  onClose,
}: {
  syncId: string;
  conflict: OffsetScopeConflict;
  /** The stored sync is enabled: it must be paused first. */
  enabled: boolean;
  onDecide: (opts: ChangeOptions) => void;
  onClose: () => void;
}) {
  const client = useClient();
  const isAdmin = useCan('admin');
  const [choice, setChoice] = useState<'reset' | 'keep'>();
  const [typed, setTyped] = useState('');
  const [reason, setReason] = useState('');
  const [paused, setPaused] = useState(!enabled);
  const pause = useMutation({
    mutationFn: () => client.syncs.pause(syncId, { wait: true, reason: 'to decide about its offset' }),
    onSuccess: () => setPaused(true),
  });
  const ready = isAdmin && paused && choice !== undefined && (choice === 'reset' || typed === syncId);
  const decide = () =>
    ready && onDecide({ offset: choice, ...(choice === 'keep' ? { confirm: typed } : {}), ...(reason.trim() ? { reason: reason.trim() } : {}) });
  return (
    <Dialog
      title={`The offset of ${syncId} would point elsewhere`}
      wide
      onClose={onClose}
      busy={pause.isPending}
      onSubmit={decide}
      actions={
        <>
          <button type="button" onClick={onClose}>
            Cancel
          </button>
          <BusyButton type="submit" className="danger" busy={false} disabled={!ready}>
            Save with this choice
          </BusyButton>
        </>
      }
    >
      <p>
        The sync has a stored offset, <strong>{describePosition(conflict.offset)}</strong>, and this change would make that position mean another place:
      </p>
      <ul className="history-changes" aria-label="What changes">
        {conflict.changes.map((c) => (
          <li key={c.field}>
            <code>{c.field}</code>: <span className="old">{c.old}</span> → <strong className="new">{c.new}</strong>
          </li>
        ))}
      </ul>
      {!isAdmin ? (
        <p className="warning-note">Only an admin can decide what becomes of the offset. Ask one to save this change.</p>
      ) : (
        <>
          {!paused && (
            <div className="warning-note">
              The sync must be paused (and its agent stopped) first.{' '}
              <BusyButton type="button" busy={pause.isPending} busyLabel="Pausing…" onClick={() => pause.mutate()}>
                Pause it now
              </BusyButton>
              <ErrorNote error={pause.error} />
            </div>
          )}
          <div className="segmented" role="radiogroup" aria-label="What becomes of the offset">
            <label>
              <input type="radio" name="offset-choice" checked={choice === 'reset'} onChange={() => setChoice('reset')} /> Start over: reset the offset (copy
              from the beginning)
            </label>
            <label>
              <input type="radio" name="offset-choice" checked={choice === 'keep'} onChange={() => setChoice('keep')} /> Keep the offset (the position still
              means the same, e.g. a renamed column)
            </label>
          </div>
          {choice === 'keep' && (
            <Field
              label={
                <>
                  Type the sync id <code>{syncId}</code> to keep its offset
                </>
              }
            >
              {(p) => <input {...p} name="confirm-keep" value={typed} onChange={(e) => setTyped(e.target.value)} autoComplete="off" spellCheck={false} />}
            </Field>
          )}
          <Field label="Reason" hint="Kept in the sync's history and the offset's.">
            {(p) => <input {...p} value={reason} onChange={(e) => setReason(e.target.value)} />}
          </Field>
        </>
      )}
    </Dialog>
  );
}
