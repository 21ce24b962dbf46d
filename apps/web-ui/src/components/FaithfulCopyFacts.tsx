import type { SyncConfig, SyncStatus } from '@idra/api-client';
import { modeInfo } from '@idra/core/model';
import { formatCount } from '../lib/format.ts';
import { RelativeTime } from './RelativeTime.tsx';

/** Rows deleted, the last key comparison and the schema-change history of a sync, when it has any. */
export function FaithfulCopyFacts({ status }: { status: SyncStatus }) {
  const deleted = status.totals?.rowsDeleted ?? status.rowsDeleted;
  const r = status.reconciliation;
  const changes = status.schemaChanges ?? [];
  if (!deleted && !r && changes.length === 0) return null;
  return (
    <section className="faithful-copy" aria-labelledby="faithful-copy-heading">
      <h3 id="faithful-copy-heading">Deletes and schema changes</h3>
      <dl className="facts">
        <div>
          <dt>Rows deleted</dt>
          <dd>{formatCount(deleted ?? 0)}</dd>
        </div>
        {r && (
          <div className="wide">
            <dt>Last {r.kind === 'mirror' ? 'mirror pass' : 'key comparison'}</dt>
            <dd>
              <RelativeTime at={r.at} />:{' '}
              {r.refused ? (
                <span className="error-text">refused — {r.refused}</span>
              ) : (
                `${formatCount(r.sourceKeys)} source and ${formatCount(r.destinationKeys)} destination keys, ${formatCount(r.deleted)} deleted, ${formatCount(r.missing)} missing from the destination (${formatCount(r.durationMs)} ms)`
              )}
            </dd>
          </div>
        )}
      </dl>
      {changes.length > 0 && (
        <div className="table-wrap">
          <table className="cards-on-phone" aria-label="Changes of the source's columns, newest first">
            <thead>
              <tr>
                <th scope="col">When</th>
                <th scope="col">Batch</th>
                <th scope="col">Change</th>
                <th scope="col">Outcome</th>
              </tr>
            </thead>
            <tbody>
              {[...changes].reverse().map((c) => (
                <tr key={`${c.at}-${c.batch}-${c.outcome}`}>
                  <td data-label="When">
                    <RelativeTime at={c.at} />
                  </td>
                  <td data-label="Batch">{c.batch}</td>
                  <td data-label="Change">{c.changes.join('; ')}</td>
                  <td data-label="Outcome" className={c.outcome === 'refused' ? 'error-text' : undefined}>
                    {c.outcome}
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
    </section>
  );
}

/** What the sync does when the source's columns change and when its rows are deleted, for the configuration facts. */
export function faithfulCopyConfig(sync: SyncConfig): Array<[string, string]> {
  const schema = sync.schemaChanges ?? 'evolve';
  const guard = `, at most ${(sync.maxDeleteFraction ?? 0.5) * 100}% of the rows at once`;
  const deletes =
    sync.deletes === 'mirror'
      ? `mirrored after each complete pass${guard}`
      : sync.softDeleteColumn !== undefined
        ? `${sync.deletes === 'mark' ? 'copied with their mark' : 'deleted'} when ${sync.softDeleteColumn} is set`
        : modeInfo(sync.mode).log
          ? 'deleted, from the change log'
          : 'stay in the destination';
  return [
    [
      'Schema changes',
      schema === 'evolve' ? 'evolve: the destination follows' : schema === 'ignore' ? 'ignore: only its own columns are copied' : 'fail: the sync stops',
    ],
    ['Source deletes', deletes],
    ...(sync.reconcileEvery !== undefined
      ? [['Key comparison', `every ${typeof sync.reconcileEvery === 'number' ? `${sync.reconcileEvery} ms` : sync.reconcileEvery}${guard}`] as [string, string]]
      : []),
  ];
}
