import { useState } from 'react';
import { useMutation, useQueryClient } from '@tanstack/react-query';
import type { OffsetDocument, Position, SyncConfig } from '@idra/api-client';
import { useClient } from '../api/client-context.tsx';
import { keys } from '../api/queries.ts';
import { issuesOf } from '../api/errors.ts';
import { Dialog } from '../components/Dialog.tsx';
import { Field } from '../components/Field.tsx';
import { BusyButton, ErrorNote } from '../components/Status.tsx';
import { useNotify } from '../components/Notify.tsx';
import { describePosition, storedKind } from '@idra/core/model';

interface PositionDraft {
  value: string;
  tiebreaker: string;
  run: string;
  after: string;
  stream: string;
}

function toDraft(p: OffsetDocument | null): PositionDraft {
  const d: PositionDraft = { value: '', tiebreaker: '', run: '0', after: '', stream: 'null' };
  if (!p) return d;
  if (p.kind === 'id') d.value = p.value ?? '';
  if (p.kind === 'timestamp') Object.assign(d, { value: p.value ?? '', tiebreaker: p.tiebreaker ?? '' });
  if (p.kind === 'full') Object.assign(d, { run: String(p.value.run), after: (p.value.after ?? []).join(', ') });
  if (p.kind === 'stream') d.stream = JSON.stringify(p.value, null, 2);
  return d;
}

/** The position typed, or a message saying why it is not one. */
function toPosition(kind: Position['kind'], d: PositionDraft): Position | string {
  const orNull = (s: string) => (s.trim() === '' ? null : s.trim());
  switch (kind) {
    case 'id':
      return d.value.trim() === '' || /^-?\d{1,40}$/.test(d.value.trim())
        ? { kind, value: orNull(d.value) }
        : 'The id must be an integer (or empty for the start).';
    case 'timestamp':
      return { kind, value: orNull(d.value), tiebreaker: orNull(d.tiebreaker) };
    case 'full': {
      if (!/^\d+$/.test(d.run.trim())) return 'The pass number must be a whole number.';
      const after = d.after
        .split(',')
        .map((s) => s.trim())
        .filter(Boolean);
      return { kind, value: { run: Number(d.run.trim()), after: after.length > 0 ? after : null } };
    }
    case 'stream':
      try {
        return { kind, value: JSON.parse(d.stream) as unknown };
      } catch {
        return 'The stream position must be JSON.';
      }
  }
}

/** The stored part of an offset document: what a manual change compares and replaces. */
function positionOf(doc: OffsetDocument | null): Position | null {
  if (!doc) return null;
  const { v: _v, committedAt: _c, agentId: _a, epoch: _e, scope: _s, ...position } = doc;
  return position as Position;
}

/**
 * Changes the offset of a paused sync (admin): the new position, a reason for the history, old → new
 * shown before saving, and the sync id typed as confirmation.
 */
export function OffsetDialog({ sync, current, onClose }: { sync: SyncConfig; current: OffsetDocument | null; onClose: () => void }) {
  const client = useClient();
  const queryClient = useQueryClient();
  const notify = useNotify();
  const kind = storedKind(sync.mode)!;
  const [startOver, setStartOver] = useState(false);
  const [draft, setDraft] = useState<PositionDraft>(() => toDraft(current));
  const [reason, setReason] = useState('');
  const [typed, setTyped] = useState('');
  const typedPosition = startOver ? null : toPosition(kind, draft);
  const problem = typeof typedPosition === 'string' ? typedPosition : undefined;
  const next = typeof typedPosition === 'string' ? undefined : typedPosition;
  const save = useMutation({
    mutationFn: () => client.offsets.set(sync.id, { position: next ?? null, reason: reason.trim() }),
    onSuccess: (view) => {
      queryClient.setQueryData(keys.offset(sync.id), view);
      void queryClient.invalidateQueries({ queryKey: keys.offsetHistory(sync.id) });
      notify('ok', `Offset of ${sync.id} changed. Resume the sync to continue from it.`);
      onClose();
    },
  });
  const set = (patch: Partial<PositionDraft>) => setDraft((d) => ({ ...d, ...patch }));
  const reasonShort = reason.trim().length < 3;
  const ready = !problem && next !== undefined && !reasonShort && typed === sync.id;
  const serverIssue = (path: string) => issuesOf(save.error).find((i) => i.path === path)?.message;
  return (
    <Dialog
      title={`Change the offset of ${sync.id}`}
      wide
      onClose={onClose}
      busy={save.isPending}
      onSubmit={() => ready && save.mutate()}
      actions={
        <>
          <button type="button" onClick={onClose} disabled={save.isPending}>
            Cancel
          </button>
          <BusyButton type="submit" className="danger" busy={save.isPending} busyLabel="Saving…" disabled={!ready}>
            Change offset
          </BusyButton>
        </>
      }
    >
      <p>
        When resumed, the sync reads the rows after the new position. Rows before it are not copied again (moving forward skips rows; moving back copies rows
        again). The change is recorded with your name and reason.
      </p>
      <div className="segmented" role="radiogroup" aria-label="New offset">
        <label>
          <input type="radio" checked={!startOver} onChange={() => setStartOver(false)} /> Set a position
        </label>
        <label>
          <input type="radio" checked={startOver} onChange={() => setStartOver(true)} /> Start over (remove the offset)
        </label>
      </div>
      {!startOver && kind === 'id' && (
        <Field
          label={`Last copied value of ${sync.cursorColumn ?? 'the cursor'}`}
          hint="Rows with a greater value are copied next. Empty: from the start."
          error={problem ?? serverIssue('position.value')}
        >
          {(p) => <input {...p} inputMode="numeric" value={draft.value} onChange={(e) => set({ value: e.target.value })} spellCheck={false} />}
        </Field>
      )}
      {!startOver && kind === 'timestamp' && (
        <div className="grid-2">
          <Field
            label={`Last copied ${sync.cursorColumn ?? 'timestamp'}`}
            hint="As the database writes it, e.g. 2025-01-31 23:59:59.123456"
            error={serverIssue('position.value')}
          >
            {(p) => <input {...p} value={draft.value} onChange={(e) => set({ value: e.target.value })} spellCheck={false} />}
          </Field>
          <Field
            label={`Last copied ${sync.tiebreakerColumn ?? 'tiebreaker'}`}
            hint="Among rows with that timestamp. Empty: all of them are copied."
            error={serverIssue('position.tiebreaker')}
          >
            {(p) => <input {...p} value={draft.tiebreaker} onChange={(e) => set({ tiebreaker: e.target.value })} spellCheck={false} />}
          </Field>
        </div>
      )}
      {!startOver && kind === 'full' && (
        <div className="grid-2">
          <Field label="Pass number" error={problem}>
            {(p) => <input {...p} inputMode="numeric" value={draft.run} onChange={(e) => set({ run: e.target.value })} />}
          </Field>
          <Field label="After key" hint="Key values, comma-separated; empty: from the start of the pass.">
            {(p) => <input {...p} value={draft.after} onChange={(e) => set({ after: e.target.value })} spellCheck={false} />}
          </Field>
        </div>
      )}
      {!startOver && kind === 'stream' && (
        <Field label="Stream position (JSON)" error={problem}>
          {(p) => <textarea {...p} rows={5} className="mono" value={draft.stream} onChange={(e) => set({ stream: e.target.value })} spellCheck={false} />}
        </Field>
      )}
      <Field label="Reason" hint="Kept in the offset history (at least 3 characters)." error={serverIssue('reason')}>
        {(p) => <input {...p} value={reason} onChange={(e) => setReason(e.target.value)} />}
      </Field>
      <div className="change-preview" aria-live="polite">
        <h3>Change</h3>
        <p>
          <span className="old">{describePosition(positionOf(current))}</span> <span aria-hidden="true">→</span>
          <span className="sr-only">changes to</span> <strong className="new">{next === undefined ? '…' : describePosition(next)}</strong>
        </p>
      </div>
      <Field
        label={
          <>
            Type the sync id <code>{sync.id}</code> to confirm
          </>
        }
      >
        {(p) => <input {...p} name="confirm-sync-id" value={typed} onChange={(e) => setTyped(e.target.value)} autoComplete="off" spellCheck={false} />}
      </Field>
      <ErrorNote error={save.error} />
    </Dialog>
  );
}
