import type { Lag, Row } from '../connector/types.ts';
import type { Position } from '../model/position.ts';

/**
 * starting: opening connections · running: copying · idle: caught up, waiting for the next poll ·
 * retrying: an error occurred, waiting to retry · failed: stopped by the error policy or a bad
 * configuration, needs an operator · stopped: not running (paused, unassigned, shut down).
 */
export type SyncState = 'starting' | 'running' | 'idle' | 'retrying' | 'failed' | 'stopped';

export interface SyncError {
  message: string;
  code: string;
  at: string;
}

/** What an agent reports about one sync. */
export interface SyncStatus {
  syncId: string;
  agentId: string;
  state: SyncState;
  rowsCopied: number;
  rowsSkipped: number;
  batches: number;
  lastBatchAt: string | undefined;
  position: Position | undefined;
  /** Why the source holds back rows (open transaction, delay), when it does. */
  heldBack: string | undefined;
  /** The cursor value the source reads up to (its watermark), when it bounds its reads. */
  watermark?: string | undefined;
  /** A condition weakening what the source guarantees (e.g. missing privileges), while it holds. */
  warning?: string | undefined;
  lag: Lag | undefined;
  lastError: SyncError | undefined;
  /** When in `retrying`: milliseconds until the next attempt. */
  retryInMs: number | undefined;
  updatedAt: string;
}

/** A status with nothing happened yet (`stopped`, no rows, no error), with `patch` applied. */
export function newSyncStatus(syncId: string, agentId: string, patch: Partial<SyncStatus> = {}): SyncStatus {
  return {
    syncId,
    agentId,
    state: 'stopped',
    rowsCopied: 0,
    rowsSkipped: 0,
    batches: 0,
    lastBatchAt: undefined,
    position: undefined,
    heldBack: undefined,
    lag: undefined,
    lastError: undefined,
    retryInMs: undefined,
    updatedAt: new Date().toISOString(),
    ...patch,
  };
}

/** A row the destination rejected and the `skip` policy set aside. */
export interface DeadLetter {
  at: string;
  syncId: string;
  row: Row;
  error: string;
}

/** Where skipped rows go (a file in single mode, etcd in cluster mode). */
export interface DeadLetterSink {
  record(entries: DeadLetter[]): Promise<void>;
}
