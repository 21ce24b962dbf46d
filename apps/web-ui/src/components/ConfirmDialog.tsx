import { useState, type ReactNode } from 'react';
import { Dialog } from './Dialog.tsx';
import { Field } from './Field.tsx';
import { BusyButton, ErrorNote } from './Status.tsx';

export interface ConfirmDialogProps {
  title: string;
  children: ReactNode;
  confirmLabel: string;
  /** The user must type this exact text before confirming. */
  typeToConfirm?: string;
  danger?: boolean;
  busy: boolean;
  error?: unknown;
  onConfirm: () => void;
  onClose: () => void;
}

/** Asks before an action that cannot be undone. */
export function ConfirmDialog({ title, children, confirmLabel, typeToConfirm, danger = false, busy, error, onConfirm, onClose }: ConfirmDialogProps) {
  const [typed, setTyped] = useState('');
  const ready = typeToConfirm === undefined || typed === typeToConfirm;
  return (
    <Dialog
      title={title}
      onClose={onClose}
      busy={busy}
      onSubmit={() => ready && onConfirm()}
      actions={
        <>
          <button type="button" onClick={onClose} disabled={busy}>
            Cancel
          </button>
          <BusyButton type="submit" className={danger ? 'danger' : 'primary'} busy={busy} disabled={!ready}>
            {confirmLabel}
          </BusyButton>
        </>
      }
    >
      {children}
      {typeToConfirm !== undefined && (
        <Field
          label={
            <>
              Type <code>{typeToConfirm}</code> to confirm
            </>
          }
        >
          {(p) => <input {...p} value={typed} onChange={(e) => setTyped(e.target.value)} autoComplete="off" spellCheck={false} />}
        </Field>
      )}
      <ErrorNote error={error} />
    </Dialog>
  );
}
