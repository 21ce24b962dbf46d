import type { ButtonHTMLAttributes, ReactNode } from 'react';
import { IdraApiError } from '@idra/api-client';
import { errorText } from '../api/errors.ts';

export function Spinner({ label = 'Loading' }: { label?: string }) {
  return <span className="spinner" role="status" aria-label={label} />;
}

/** A whole section waiting for its data. */
export function Loading({ what }: { what: string }) {
  return (
    <div className="state-box" aria-busy="true">
      <Spinner label={`Loading ${what}`} /> <span>Loading {what}…</span>
    </div>
  );
}

export function EmptyState({ title, children }: { title: string; children?: ReactNode }) {
  return (
    <div className="state-box empty">
      <p className="state-title">{title}</p>
      {children}
    </div>
  );
}

/** An error with its API code, and a way to try again. */
export function ErrorState({ error, what, onRetry }: { error: unknown; what: string; onRetry?: () => void }) {
  return (
    <div className="state-box error" role="alert">
      <p className="state-title">Could not load {what}</p>
      <p>{errorText(error)}</p>
      {error instanceof IdraApiError && !error.code.startsWith('IDRA_ERR_HTTP_') && error.status !== 0 && <p className="code">{error.code}</p>}
      {onRetry && (
        <button type="button" onClick={onRetry}>
          Try again
        </button>
      )}
    </div>
  );
}

/** An inline error under a form or action. */
export function ErrorNote({ error }: { error: unknown }) {
  if (!error) return null;
  return (
    <div className="error-note" role="alert">
      {errorText(error)}
      {error instanceof IdraApiError && <span className="code"> ({error.code})</span>}
    </div>
  );
}

/** A button that shows a spinner and refuses clicks while its action runs. */
export function BusyButton({ busy, children, busyLabel, className, ...rest }: ButtonHTMLAttributes<HTMLButtonElement> & { busy: boolean; busyLabel?: string }) {
  return (
    <button {...rest} className={className} disabled={busy || rest.disabled} aria-busy={busy}>
      {busy && <Spinner label={busyLabel ?? 'Working'} />}
      {busy && busyLabel ? busyLabel : children}
    </button>
  );
}
