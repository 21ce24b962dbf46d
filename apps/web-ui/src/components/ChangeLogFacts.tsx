import type { SyncStatus } from '@idra/api-client';
import type { ReactNode } from 'react';
import { formatBytes, formatCount, formatSeconds } from '../lib/format.ts';

/**
 * The offset of a cdc sync as its source stores it: PostgreSQL's slot and LSN, or the binlog's file,
 * position, GTID position and reader's server id (MySQL / MariaDB); the copy's progress while it runs.
 */
interface ChangeLogPosition {
  slot?: string;
  lsn?: string;
  file?: string;
  pos?: number;
  gtid?: string;
  serverId?: number;
  snapshot?: { rows: number; total: number };
}

function changeLogPosition(status: SyncStatus): ChangeLogPosition | undefined {
  const p = status.position;
  if (p?.kind !== 'stream' || p.value === null || typeof p.value !== 'object') return undefined;
  return 'lsn' in p.value || 'file' in p.value ? (p.value as ChangeLogPosition) : undefined;
}

/** One fact of the list. */
function Fact({ label, children }: { label: string; children: ReactNode }) {
  return (
    <div>
      <dt>{label}</dt>
      <dd>{children}</dd>
    </div>
  );
}

/**
 * What an operator watches on a cdc sync: the replication slot and position, the WAL the slot holds
 * (it grows while the sync is paused or behind, until the server's disk is full) — or the binlog
 * position and how far the server's binlog is ahead — and the initial copy.
 */
export function ChangeLogFacts({ status }: { status: SyncStatus }) {
  const position = changeLogPosition(status);
  if (!position) return null;
  const snapshot = status.lag?.snapshot ?? position.snapshot;
  const percent = snapshot && snapshot.total > 0 ? Math.min(100, Math.floor((snapshot.rows / snapshot.total) * 1000) / 10) : undefined;
  const eta = status.lag?.snapshot?.etaSeconds;
  return (
    <dl className="facts" aria-label="Change data capture">
      {position.file === undefined ? (
        <>
          <Fact label="Replication slot">
            <code>{position.slot ?? '—'}</code>
          </Fact>
          <Fact label="Log position">
            <code>{position.lsn ?? '—'}</code>
          </Fact>
          <Fact label="WAL held by the slot">{status.lag?.bytes === undefined ? '—' : formatBytes(status.lag.bytes)}</Fact>
        </>
      ) : (
        <>
          <Fact label="Binlog position">
            <code>{`${position.file}:${position.pos ?? '?'}`}</code>
          </Fact>
          {position.gtid !== undefined && (
            <Fact label="GTID position">
              <code>{position.gtid || '(start of the binlog)'}</code>
            </Fact>
          )}
          {position.serverId !== undefined && <Fact label="Reads as server id">{position.serverId}</Fact>}
          <Fact label="Binlog behind the server">{status.lag?.bytes === undefined ? '—' : formatBytes(status.lag.bytes)}</Fact>
        </>
      )}
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
