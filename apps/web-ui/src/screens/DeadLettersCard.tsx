import { useMemo, useState } from 'react';
import { useMutation, useQueryClient } from '@tanstack/react-query';
import type { DeadLetterView } from '@idra/api-client';
import { useClient } from '../api/client-context.tsx';
import { keys, useDeadLetters } from '../api/queries.ts';
import { Section } from '../components/Page.tsx';
import { BusyButton, ErrorNote, ErrorState, Loading } from '../components/Status.tsx';
import { Pager } from '../components/Pager.tsx';
import { ConfirmDialog } from '../components/ConfirmDialog.tsx';
import { useNotify } from '../components/Notify.tsx';
import { formatCount, formatDateTime } from '../lib/format.ts';
import { download, toCsv, toJsonLines } from '../lib/export.ts';

const PAGE = 20;

/** Rows the destination rejected: grouped by error, paged, exported, retried through the destination, deleted after a confirmation. */
export function DeadLettersCard({ id, canOperate }: { id: string; canOperate: boolean }) {
  const client = useClient();
  const queryClient = useQueryClient();
  const notify = useNotify();
  const letters = useDeadLetters(id);
  const [error, setError] = useState<string>('');
  const [page, setPage] = useState(0);
  const [selected, setSelected] = useState<ReadonlySet<string>>(new Set());
  const [confirm, setConfirm] = useState<string[]>();
  const groups = useMemo(() => {
    const m = new Map<string, number>();
    for (const l of letters.data ?? []) m.set(l.error, (m.get(l.error) ?? 0) + 1);
    return [...m].sort((a, b) => b[1] - a[1]);
  }, [letters.data]);
  const shown = (letters.data ?? []).filter((l) => !error || l.error === error);
  const pages = Math.max(1, Math.ceil(shown.length / PAGE));
  const at = Math.min(page, pages - 1);
  const rows = shown.slice(at * PAGE, (at + 1) * PAGE);
  const refresh = () => {
    setSelected(new Set());
    void queryClient.invalidateQueries({ queryKey: keys.deadLetters(id) });
    void queryClient.invalidateQueries({ queryKey: keys.overview });
  };
  const retry = useMutation({
    mutationFn: (ids: string[]) => client.syncs.retryDeadLetters(id, ids),
    onSuccess: (r) =>
      notify(
        r.rejected.length ? 'error' : 'ok',
        `${r.written.length} row(s) written to the destination${r.rejected.length ? `; ${r.rejected.length} refused again (their new error is shown)` : ''}.`,
      ),
    onSettled: refresh,
  });
  const remove = useMutation({
    mutationFn: async (ids: string[]) => {
      for (const errorId of ids) await client.syncs.deleteDeadLetter(id, errorId);
      return ids.length;
    },
    onSuccess: (n) => {
      notify('ok', `${n} rejected row(s) deleted.`);
      setConfirm(undefined);
    },
    onSettled: refresh,
  });
  const toggle = (l: DeadLetterView) => setSelected((s) => (s.has(l.id) ? new Set([...s].filter((x) => x !== l.id)) : new Set([...s, l.id])));
  const allOnPage = rows.length > 0 && rows.every((l) => selected.has(l.id));
  const chosen = [...selected];
  return (
    <Section
      title="Rejected rows (dead letters)"
      id="dead-letters"
      actions={
        letters.data && letters.data.length > 0 ? (
          <>
            <button type="button" onClick={() => download(`${id}-rejected.jsonl`, 'application/x-ndjson', toJsonLines(shown))}>
              Export JSON Lines
            </button>
            <button type="button" onClick={() => download(`${id}-rejected.csv`, 'text/csv', toCsv(shown))}>
              Export CSV
            </button>
          </>
        ) : undefined
      }
    >
      {letters.isPending ? (
        <Loading what="rejected rows" />
      ) : letters.isError ? (
        <ErrorState error={letters.error} what="the rejected rows" onRetry={() => void letters.refetch()} />
      ) : letters.data.length === 0 ? (
        <p className="muted">No row was rejected (rows the destination refuses are set aside here when the error policy is skip).</p>
      ) : (
        <>
          <label className="inline-field">
            Error{' '}
            <select
              value={error}
              onChange={(e) => {
                setError(e.target.value);
                setPage(0);
                setSelected(new Set());
              }}
            >
              <option value="">all errors ({formatCount(letters.data.length)})</option>
              {groups.map(([text, n]) => (
                <option key={text} value={text}>
                  {formatCount(n)} × {text.length > 90 ? `${text.slice(0, 90)}…` : text}
                </option>
              ))}
            </select>
          </label>
          {canOperate && (
            <div className="toolbar">
              <BusyButton
                type="button"
                busy={retry.isPending}
                busyLabel="Writing…"
                disabled={chosen.length === 0}
                title={chosen.length === 0 ? 'Select rows first' : undefined}
                onClick={() => retry.mutate(chosen)}
              >
                Retry {chosen.length || ''} selected through the destination
              </BusyButton>
              <button
                type="button"
                className="danger-text"
                disabled={chosen.length === 0}
                title={chosen.length === 0 ? 'Select rows first' : undefined}
                onClick={() => setConfirm(chosen)}
              >
                Delete {chosen.length || ''} selected
              </button>
              <span className="muted small">{chosen.length === 0 ? 'Select rows to retry or delete them.' : `${chosen.length} selected`}</span>
            </div>
          )}
          <table className="cards-on-phone">
            <caption className="sr-only">
              Rejected rows {at * PAGE + 1}–{at * PAGE + rows.length} of {shown.length}
            </caption>
            <thead>
              <tr>
                {canOperate && (
                  <th scope="col">
                    <input
                      type="checkbox"
                      aria-label="Select the rows of this page"
                      checked={allOnPage}
                      onChange={() => setSelected(allOnPage ? new Set() : new Set(rows.map((l) => l.id)))}
                    />
                  </th>
                )}
                <th scope="col">When</th>
                <th scope="col">Error</th>
                <th scope="col">Row</th>
              </tr>
            </thead>
            <tbody>
              {rows.map((l) => (
                <tr key={l.id}>
                  {canOperate && (
                    <td>
                      <input type="checkbox" aria-label={`Select rejected row ${l.id}`} checked={selected.has(l.id)} onChange={() => toggle(l)} />
                    </td>
                  )}
                  <td data-label="When">{formatDateTime(l.at)}</td>
                  <td data-label="Error" className="error-text">
                    {l.error}
                  </td>
                  <td data-label="Row">
                    <code className="row-json">{JSON.stringify(l.row)}</code>
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
          <Pager page={at + 1} pages={pages} total={shown.length} noun="row" label="Pages of rejected rows" onPage={(p) => setPage(p - 1)} />
        </>
      )}
      <ErrorNote error={retry.error} />
      {confirm && (
        <ConfirmDialog
          title={`Delete ${confirm.length} rejected row(s) of ${id}?`}
          confirmLabel="Delete"
          danger
          busy={remove.isPending}
          error={remove.error}
          onConfirm={() => remove.mutate(confirm)}
          onClose={() => setConfirm(undefined)}
        >
          <p>The rows are gone for good: they were not written to the destination. Export them first if you may need them.</p>
        </ConfirmDialog>
      )}
    </Section>
  );
}
