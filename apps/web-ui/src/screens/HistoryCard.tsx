import type { HistoryEntry } from '@idra/api-client';
import { useSyncHistory } from '../api/queries.ts';
import { Section } from '../components/Page.tsx';
import { ErrorState, Loading } from '../components/Status.tsx';
import { formatDateTime } from '../lib/format.ts';

const value = (v: unknown) => (v === undefined ? '—' : typeof v === 'string' ? v : JSON.stringify(v));

/** One change, as "path: old → new" lines (a created or deleted object lists its fields). */
function Changes({ entry }: { entry: HistoryEntry }) {
  if (entry.changes.length === 0) return <span className="muted">no field changed</span>;
  return (
    <ul className="history-changes">
      {entry.changes.map((c) => (
        <li key={c.path}>
          <code>{c.path}</code>: {'old' in c && <span className="old">{value(c.old)}</span>}
          {'old' in c && 'new' in c && <span aria-hidden="true"> → </span>}
          {'new' in c && <strong className="new">{value(c.new)}</strong>}
          {!('new' in c) && <span className="muted"> (removed)</span>}
        </li>
      ))}
    </ul>
  );
}

/**
 * The sync's audited configuration changes — every create, update, pause, resume and delete, newest
 * first — with who, why and each field's old and new value (secrets masked); the Timeline card above
 * sums them up among the agents' events.
 */
export function SyncHistoryCard({ id }: { id: string }) {
  const history = useSyncHistory(id);
  return (
    <Section title="Configuration history">
      {history.isPending ? (
        <Loading what="history" />
      ) : history.isError ? (
        <ErrorState error={history.error} what="the history" />
      ) : history.data.length === 0 ? (
        <p className="muted">No recorded change.</p>
      ) : (
        <ol className="change-log" aria-label={`Changes of sync ${id}`}>
          {history.data.map((e) => (
            <li key={e.id} data-action={e.action}>
              <p className="change-log-head">
                <span className="badge">{e.action}</span> <time dateTime={e.at}>{formatDateTime(e.at)}</time> by <strong>{e.by}</strong>
                {e.via && <span className="muted"> ({e.via})</span>}
                {e.reason && <> — “{e.reason}”</>}
              </p>
              {e.offset && (
                <p className="warning-text small">
                  Offset {e.offset.decision === 'reset' ? 'reset' : 'kept'}: {e.offset.changes.map((c) => `${c.field} ${c.old} → ${c.new}`).join('; ')}
                </p>
              )}
              {e.action === 'created' || e.action === 'deleted' ? (
                <details>
                  <summary>
                    {e.changes.length} field{e.changes.length === 1 ? '' : 's'}
                  </summary>
                  <Changes entry={e} />
                </details>
              ) : (
                <Changes entry={e} />
              )}
            </li>
          ))}
        </ol>
      )}
    </Section>
  );
}
