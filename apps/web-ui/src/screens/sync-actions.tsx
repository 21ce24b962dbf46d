import { useState } from 'react';
import { useNavigate } from 'react-router';
import { useMutation, useQueryClient } from '@tanstack/react-query';
import { useClient } from '../api/client-context.tsx';
import { keys } from '../api/queries.ts';
import { issuesOf } from '../api/errors.ts';
import { ConfirmDialog } from '../components/ConfirmDialog.tsx';
import { Dialog } from '../components/Dialog.tsx';
import { Field } from '../components/Field.tsx';
import { BusyButton, ErrorNote } from '../components/Status.tsx';
import { useNotify } from '../components/Notify.tsx';

/** Refreshes everything that shows a sync after it changed. */
function useSyncChanged() {
  const queryClient = useQueryClient();
  return (id: string) => {
    void queryClient.invalidateQueries({ queryKey: keys.overview });
    void queryClient.invalidateQueries({ queryKey: keys.syncs });
    void queryClient.invalidateQueries({ queryKey: ['sync', id] });
  };
}

/**
 * Pause or resume. Pausing waits (up to 30 s) until the agent has finished its batch and released
 * the sync, so that the offset can be changed right after.
 */
export function usePauseResume(id: string, enabled: boolean) {
  const client = useClient();
  const notify = useNotify();
  const changed = useSyncChanged();
  return useMutation({
    mutationFn: () => (enabled ? client.syncs.pause(id, { wait: true }) : client.syncs.resume(id)),
    onSuccess: () => notify('ok', enabled ? `Sync ${id} paused: its agent has stopped it.` : `Sync ${id} resumed.`),
    onError: (err) => notify('error', `${enabled ? 'Pause' : 'Resume'} of ${id} failed: ${(err as Error).message}`),
    onSettled: () => changed(id),
  });
}

/** Retry now: the sync's agent attempts again at once (skipping the backoff, or after a fix). */
export function useRetryNow(id: string) {
  const client = useClient();
  const notify = useNotify();
  const changed = useSyncChanged();
  return useMutation({
    mutationFn: () => client.syncs.retry(id),
    onSuccess: (r) =>
      notify('ok', r.runningOn ? `Sync ${id}: agent ${r.runningOn} attempts again now.` : `Sync ${id}: it runs again as soon as an agent takes it.`),
    onError: (err) => notify('error', `Retry of ${id} failed: ${(err as Error).message}`),
    onSettled: () => changed(id),
  });
}

export function RetryNowButton({ id }: { id: string }) {
  const retry = useRetryNow(id);
  return (
    <BusyButton type="button" busy={retry.isPending} busyLabel="Asking…" onClick={() => retry.mutate()} aria-label={`Retry ${id} now`}>
      Retry now
    </BusyButton>
  );
}

export function PauseResumeButton({ id, enabled }: { id: string; enabled: boolean }) {
  const toggle = usePauseResume(id, enabled);
  return (
    <BusyButton
      type="button"
      busy={toggle.isPending}
      busyLabel={enabled ? 'Pausing…' : 'Resuming…'}
      onClick={() => toggle.mutate()}
      aria-label={`${enabled ? 'Pause' : 'Resume'} ${id}`}
    >
      {enabled ? 'Pause' : 'Resume'}
    </BusyButton>
  );
}

/** Copies a sync under a new id; the copy starts paused. */
export function DuplicateDialog({ id, name, onClose }: { id: string; name: string; onClose: () => void }) {
  const client = useClient();
  const navigate = useNavigate();
  const changed = useSyncChanged();
  const notify = useNotify();
  const [newId, setNewId] = useState(`${id}-copy`);
  const [newName, setNewName] = useState(`${name} (copy)`);
  const duplicate = useMutation({
    mutationFn: () => client.syncs.duplicate(id, { id: newId, name: newName }),
    onSuccess: (s) => {
      changed(s.id);
      notify('ok', `Sync ${s.id} created, paused.`);
      onClose();
      void navigate(`/syncs/${encodeURIComponent(s.id)}`);
    },
  });
  const idIssue = issuesOf(duplicate.error).find((i) => i.path === 'id' || i.path === 'body')?.message;
  return (
    <Dialog
      title={`Duplicate ${id}`}
      onClose={onClose}
      busy={duplicate.isPending}
      onSubmit={() => duplicate.mutate()}
      actions={
        <>
          <button type="button" onClick={onClose} disabled={duplicate.isPending}>
            Cancel
          </button>
          <BusyButton type="submit" className="primary" busy={duplicate.isPending} disabled={!newId}>
            Duplicate
          </BusyButton>
        </>
      }
    >
      <p>The copy has the same settings and starts paused.</p>
      <Field label="New sync id" hint="Letters, digits, _ . -" error={idIssue}>
        {(p) => <input {...p} value={newId} onChange={(e) => setNewId(e.target.value)} required spellCheck={false} />}
      </Field>
      <Field label="Name">{(p) => <input {...p} value={newName} onChange={(e) => setNewName(e.target.value)} />}</Field>
      {!idIssue && <ErrorNote error={duplicate.error} />}
    </Dialog>
  );
}

export function DeleteSyncDialog({ id, onClose, onDeleted }: { id: string; onClose: () => void; onDeleted?: () => void }) {
  const client = useClient();
  const changed = useSyncChanged();
  const notify = useNotify();
  const remove = useMutation({
    mutationFn: () => client.syncs.delete(id),
    onSuccess: () => {
      changed(id);
      notify('ok', `Sync ${id} deleted.`);
      onClose();
      onDeleted?.();
    },
  });
  return (
    <ConfirmDialog
      title={`Delete sync ${id}?`}
      confirmLabel="Delete"
      danger
      busy={remove.isPending}
      error={remove.error}
      onConfirm={() => remove.mutate()}
      onClose={onClose}
    >
      <p>
        Its agent stops it after the batch in flight. The destination's rows, the stored offset and its history are kept: a sync created again with the same id
        resumes from there.
      </p>
    </ConfirmDialog>
  );
}
