import type { SyncStatus } from '@idra/api-client';
import { formatBytes, formatCount, formatSeconds } from '../lib/format.ts';

/** The offset of a cdc sync as its source stores it: the slot, the log position, the copy's progress while it runs. */
interface ChangeLogPosition {
  slot?: string;
  lsn?: string;
  snapshot?: { rows: number; total: number };
}

function changeLogPosition(status: SyncStatus): ChangeLogPosition | undefined {
  const p = status.position;
  return p?.kind === 'stream' && p.value !== null && typeof p.value === 'object' && 'lsn' in p.value ? (p.value as ChangeLogPosition) : undefined;
}

/**
 * What an operator watches on a cdc sync: the replication slot and position, the WAL the slot holds
 * (it grows while the sync is paused or behind, until the server's disk is full) and the initial copy.
 */
export function ChangeLogFacts({ status }: { status: SyncStatus }) {
  const position = changeLogPosition(status);
  if (!position) return null;
  const snapshot = status.lag?.snapshot ?? position.snapshot;
  const percent = snapshot && snapshot.total > 0 ? Math.min(100, Math.floor((snapshot.rows / snapshot.total) * 1000) / 10) : undefined;
  const eta = status.lag?.snapshot?.etaSeconds;
  return (
    <dl className="facts" aria-label="Change data capture">
      <div>
        <dt>Replication slot</dt>
        <dd>
          <code>{position.slot ?? '—'}</code>
        </dd>
      </div>
      <div>
        <dt>Log position</dt>
        <dd>
          <code>{position.lsn ?? '—'}</code>
        </dd>
      </div>
      <div>
        <dt>WAL held by the slot</dt>
        <dd>{status.lag?.bytes === undefined ? '—' : formatBytes(status.lag.bytes)}</dd>
      </div>
      {status.rowsUpdated !== undefined && (
        <div>
          <dt>Changes applied</dt>
          <dd>
            {formatCount(status.rowsCopied - status.rowsUpdated)} inserts · {formatCount(status.rowsUpdated)} updates · {formatCount(status.rowsDeleted ?? 0)}{' '}
            deletes
          </dd>
        </div>
      )}
      {snapshot && (
        <div>
          <dt>Initial copy</dt>
          <dd>
            {formatCount(snapshot.rows)} of about {formatCount(snapshot.total)} rows{percent === undefined ? '' : ` (${percent}%)`}
            {eta === undefined ? '' : ` · about ${formatSeconds(eta)} to go`}
          </dd>
        </div>
      )}
    </dl>
  );
}
