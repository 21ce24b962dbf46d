import { Link } from 'react-router';
import { IdraApiError, type ConfigIssue, type Sync } from '@idra/api-client';
import { BusyButton, ErrorNote, Spinner } from '../../components/Status.tsx';
import { CheckRefusal, type CheckResult } from './hooks.ts';

interface FooterProps {
  editing: boolean;
  syncId: string;
  validation: { isFetching: boolean; isError: boolean; error: unknown; normalized: Sync | undefined };
  issues: readonly ConfigIssue[];
  /** Issues no field of the form shows (listed here). */
  unplaced: readonly ConfigIssue[];
  /** Whether every issue is shown (after a save was tried) or only those of touched fields. */
  showAll: boolean;
  anyTouched: boolean;
  saveError: unknown;
  saving: false | 'paused' | 'started';
  check: { result: CheckResult | undefined; pending: boolean; run(): void };
  acknowledged: boolean;
  onAcknowledge(yes: boolean): void;
}

/**
 * Keeps the page's scroll padding (styles.css) at the sticky footer's height while the form is shown: a field
 * the browser scrolls to (keyboard focus, the first problem after a save) stops above the footer, not under it.
 */
function reserveRoomForFooter(footer: HTMLDivElement | null): (() => void) | undefined {
  if (!footer) return undefined;
  const root = document.documentElement;
  const observer = new ResizeObserver(() => root.style.setProperty('--form-footer-height', `${footer.offsetHeight}px`));
  observer.observe(footer);
  return () => {
    observer.disconnect();
    root.style.removeProperty('--form-footer-height');
  };
}

/** The form's verdict (the server's, and the connection check's) and its buttons. */
export function EditorFooter({
  editing,
  syncId,
  validation,
  issues,
  unplaced,
  showAll,
  anyTouched,
  saveError,
  saving,
  check,
  acknowledged,
  onAcknowledge,
}: FooterProps) {
  const { normalized } = validation;
  const result = check.result;
  return (
    <div className="form-footer" aria-live="polite" ref={reserveRoomForFooter}>
      <div className="validation-summary">
        {validation.isFetching ? (
          <span>
            <Spinner label="Checking" /> Checking…
          </span>
        ) : validation.isError ? (
          <ErrorNote error={validation.error} />
        ) : normalized ? (
          <span className="ok-text">
            ✓ Valid: batches of {normalized.batchSize}, poll every {normalized.pollIntervalMs} ms, {normalized.writeMode}, on error {normalized.onError}
            {normalized.tiebreakerColumn ? `, tiebreaker ${normalized.tiebreakerColumn}` : ''}
          </span>
        ) : issues.length > 0 ? (
          <span className="error-text">
            {issues.length} problem{issues.length === 1 ? '' : 's'} to fix{showAll ? '' : ' (shown as you fill in the fields)'}
          </span>
        ) : null}
        {unplaced.length > 0 && anyTouched && (
          <ul className="issues">
            {unplaced.map((i) => (
              <li key={`${i.path}:${i.message}`}>
                {i.path && <code>{i.path}</code>} {i.message}
              </li>
            ))}
          </ul>
        )}
        {saveError && !(saveError instanceof IdraApiError && saveError.status === 400) && !(saveError instanceof CheckRefusal) ? (
          <ErrorNote error={saveError} />
        ) : null}
        {result && (
          <div className={result.problems.length ? 'warning-note' : 'ok-text'} role="status">
            {result.problems.length === 0 ? (
              <span>✓ Connections work; the tables and columns exist ({result.notes.join('; ') || 'nothing to note'}).</span>
            ) : (
              <>
                <strong>Check before saving:</strong>
                <ul className="issues">
                  {result.problems.map((p) => (
                    <li key={p}>{p}</li>
                  ))}
                </ul>
                <label className="checkbox">
                  <input type="checkbox" checked={acknowledged} onChange={(e) => onAcknowledge(e.target.checked)} /> I know; save anyway
                </label>
              </>
            )}
          </div>
        )}
      </div>
      <div className="form-actions">
        <Link className="button" to={editing ? `/syncs/${encodeURIComponent(syncId)}` : '/syncs'}>
          Cancel
        </Link>
        <BusyButton type="button" busy={check.pending} busyLabel="Checking…" onClick={check.run}>
          Test connections and tables
        </BusyButton>
        <BusyButton type="submit" data-paused="true" busy={saving === 'paused'} busyLabel="Saving…">
          {editing ? 'Save paused' : 'Create paused'}
        </BusyButton>
        <BusyButton type="submit" className="primary" busy={saving === 'started'} busyLabel="Saving…">
          {editing ? 'Save' : 'Create and start'}
        </BusyButton>
      </div>
    </div>
  );
}
