import type { BlockingTransaction, Lag, Row } from '../connector/types.ts';
import type { Position } from '../model/position.ts';

/**
 * starting: opening connections · waiting: for a slot of a data source at its concurrency limit ·
 * running: copying · idle: caught up, waiting for the next poll ·
 * retrying: an error occurred, waiting to retry · failed: stopped by the error policy or a bad
 * configuration, needs an operator (a problem a GRANT can fix is checked again after `retryInMs`) ·
 * stopped: not running (paused, unassigned, shut down).
 */
export type SyncState = 'starting' | 'waiting' | 'running' | 'idle' | 'retrying' | 'failed' | 'stopped';

/** Why a sync waits: the data source whose limit is reached, who holds its slots, how many wait ahead. */
export interface SlotWait {
  dataSourceId: string;
  /** The limit that is reached: syncs in all (`maxConcurrentSyncs`), readers or writers. */
  limit: 'syncs' | 'readers' | 'writers';
  /** Slots of that limit in use, and the limit. */
  held: number;
  max: number;
  /** `<syncId> on <agentId>` of each holder. */
  holders: string[];
  /** Syncs ahead in the queue (served in order). */
  ahead: number;
  since: string;
}

/** `waiting for data source pg (2/2 slots held by s1 on agent-1, s2 on agent-2)`: the wait in one line. */
export function slotWaitText(w: SlotWait): string {
  const kind = w.limit === 'syncs' ? 'slots' : w.limit === 'readers' ? 'reader slots' : 'writer slots';
  const by = w.holders.length > 0 ? ` held by ${w.holders.join(', ')}` : ' held';
  return `waiting for data source ${w.dataSourceId} (${w.held}/${w.max} ${kind}${by}${w.ahead > 0 ? `; ${w.ahead} waiting ahead` : ''})`;
}

export interface SyncError {
  message: string;
  code: string;
  at: string;
  /** Whether a retry alone may fix it (connection lost, server restarting) or something must change first. */
  transient?: boolean | undefined;
  /** The key (or cursor) values of the row the destination rejected, when one row is the cause. */
  row?: Record<string, unknown> | undefined;
  /** The column the destination named in its refusal, when it named one. */
  column?: string | undefined;
}

/** Counts that survive restarts, pauses and handoffs: carried from the last stored status into each new run. */
export interface SyncTotals {
  rowsCopied: number;
  rowsSkipped: number;
  batches: number;
  /** Destination rows deleted: deletes read from the source, soft-deleted rows, mirror passes and reconciliation. */
  rowsDeleted?: number | undefined;
  /** Rows written that updated a source row, when the source tells (cdc); rowsCopied minus these were inserts. */
  rowsUpdated?: number | undefined;
  /** When the counting began (the sync's first run). */
  since: string;
  /** When the sync first read everything there was (the end of its initial copy). */
  caughtUpAt?: string | undefined;
}

/** A change of the source's columns as the sync met it. */
export interface SchemaChangeRecord {
  at: string;
  /** Each change in one line (`column email added (text)`). */
  changes: string[];
  /** applied: the destination follows (`evolve`) · ignored: not copied (`ignore`) · refused: the sync stopped. */
  outcome: 'applied' | 'ignored' | 'refused';
  /** The sync's batch number (of this run) that first carried it. */
  batch: number;
}

/** What comparing the keys of source and destination found (a mirror pass's end, or a periodic reconciliation). */
export interface ReconciliationReport {
  at: string;
  kind: 'mirror' | 'reconcile';
  /** Keys read at the source and at the destination. */
  sourceKeys: number;
  destinationKeys: number;
  /** Destination rows deleted because their key is gone from the source. */
  deleted: number;
  /** Source keys the destination lacks (copied by the sync's next reads, or by a reset when the cursor passed them). */
  missing: number;
  durationMs: number;
  /** Why nothing was deleted, when the guard refused. */
  refused?: string | undefined;
}

/** How many schema changes a status keeps. */
export const SCHEMA_HISTORY_SIZE = 20;

/** Adds a schema change to a status, keeping the newest {@link SCHEMA_HISTORY_SIZE}. */
export function recordSchemaChange(status: SyncStatus, record: SchemaChangeRecord): void {
  status.schemaChanges = [...(status.schemaChanges ?? []), record].slice(-SCHEMA_HISTORY_SIZE);
}

/** What an agent reports about one sync. */
export interface SyncStatus {
  syncId: string;
  agentId: string;
  state: SyncState;
  rowsCopied: number;
  rowsSkipped: number;
  batches: number;
  /** Destination rows deleted in this run (see SyncTotals.rowsDeleted). */
  rowsDeleted?: number | undefined;
  /** Rows of this run that updated a source row (see SyncTotals.rowsUpdated). */
  rowsUpdated?: number | undefined;
  /** The latest changes of the source's columns and what the sync did about them, newest last (at most {@link SCHEMA_HISTORY_SIZE}). */
  schemaChanges?: SchemaChangeRecord[] | undefined;
  /** The last key reconciliation (or mirror pass) and what it found. */
  reconciliation?: ReconciliationReport | undefined;
  lastBatchAt: string | undefined;
  position: Position | undefined;
  /** Why the source holds back rows (open transaction, delay), when it does. */
  heldBack: string | undefined;
  /** The open source transaction behind `heldBack`, when one is. */
  blockedBy?: BlockingTransaction | undefined;
  /** The cursor value the source reads up to (its watermark), when it bounds its reads. */
  watermark?: string | undefined;
  /** A condition weakening what the source guarantees (e.g. missing privileges), while it holds. */
  warning?: string | undefined;
  lag: Lag | undefined;
  lastError: SyncError | undefined;
  /** When `retrying`, or `failed` by a problem that is checked again: milliseconds until the next attempt. */
  retryInMs: number | undefined;
  /** When the next automatic attempt is due (retrying, or failed with a slow retry); absent when only an operator can restart it. */
  nextRetryAt?: string | undefined;
  /** Consecutive failed attempts since the last successful batch. */
  attempts?: number | undefined;
  /** When the current run of failures began; cleared by a successful batch. */
  failingSince?: string | undefined;
  /** When this run began: `rowsCopied`, `rowsSkipped` and `batches` count from here ("since start"). */
  startedAt?: string | undefined;
  /** Cumulative counts across runs, agents and pauses. */
  totals?: SyncTotals | undefined;
  /** While `waiting`: the data source slot it waits for. */
  waitingFor?: SlotWait | undefined;
  updatedAt: string;
}

/** A status with nothing happened yet (`stopped`, no rows, no error), with `patch` applied. */
export function newSyncStatus(syncId: string, agentId: string, patch: Partial<SyncStatus> = {}): SyncStatus {
  const now = new Date().toISOString();
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
    startedAt: now,
    totals: { rowsCopied: 0, rowsSkipped: 0, batches: 0, since: now },
    updatedAt: now,
    ...patch,
  };
}

/**
 * What a new run keeps from the sync's last stored status (any agent's): the cumulative totals, the
 * position and the last known lag, so that nothing drops to zero or "—" after a restart or handoff.
 */
export function carriedOver(previous: SyncStatus | undefined): Partial<SyncStatus> {
  if (!previous) return {};
  const totals = previous.totals ?? {
    rowsCopied: previous.rowsCopied,
    rowsSkipped: previous.rowsSkipped,
    batches: previous.batches,
    since: previous.updatedAt,
  };
  return {
    totals: { ...totals },
    position: previous.position,
    lag: previous.lag,
    lastBatchAt: previous.lastBatchAt,
    schemaChanges: previous.schemaChanges,
    reconciliation: previous.reconciliation,
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
