import type { SyncStatus } from '@idra/api-client';

/** Rows deleted, the last key comparison and the schema-change history of a sync, when it has any. */
export function FaithfulCopyFacts({ status }: { status: SyncStatus | undefined }) {
  if (!status) return null;
  const deleted = status.totals?.rowsDeleted ?? status.rowsDeleted;
  const r = status.reconciliation;
  const changes = status.schemaChanges ?? [];
  if (!deleted && !r && changes.length === 0) return null;
  return (
    <section className="card" aria-label="Deletes and schema changes">
      <h3>Deletes and schema changes</h3>
      <dl className="facts">
        <dt>Rows deleted</dt>
        <dd>{deleted ?? 0}</dd>
        {r && (
          <>
            <dt>Last {r.kind === 'mirror' ? 'mirror pass' : 'key comparison'}</dt>
            <dd>
              {r.at}:{' '}
              {r.refused ??
                `${r.sourceKeys} source and ${r.destinationKeys} destination keys, ${r.deleted} deleted, ${r.missing} missing from the destination (${r.durationMs} ms)`}
            </dd>
          </>
        )}
      </dl>
      {changes.length > 0 && (
        <table>
          <thead>
            <tr>
              <th>When</th>
              <th>Batch</th>
              <th>Change</th>
              <th>Outcome</th>
            </tr>
          </thead>
          <tbody>
            {[...changes].reverse().map((c) => (
              <tr key={`${c.at}-${c.batch}`}>
                <td>{c.at}</td>
                <td>{c.batch}</td>
                <td>{c.changes.join('; ')}</td>
                <td>{c.outcome}</td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
    </section>
  );
}
