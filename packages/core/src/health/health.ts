import { slotWaitText, type SyncStatus } from '../runner/status.ts';

/**
 * What an operator needs to know about a sync at a glance, derived once here from the agent's status,
 * the assignment and the sync's lag threshold (API, UI, CLI and agent metrics all call this).
 *
 * paused: disabled · unassigned: enabled but no agent runs it · failed: stopped by an error that a
 * retry alone will not fix (retried slowly, or waiting for an operator) · retrying: a transient error,
 * retried with backoff · lagging: running but further behind than its threshold · healthy: the rest.
 */
export type Health = 'healthy' | 'lagging' | 'retrying' | 'failed' | 'paused' | 'unassigned';

/** Problems first: the order lists and dashboards sort by. */
export const HEALTH_ORDER: readonly Health[] = ['failed', 'retrying', 'unassigned', 'lagging', 'healthy', 'paused'];

/** How far behind a sync may fall before it counts as lagging (either bound). */
export interface LagThreshold {
  /** Rows not yet copied. @default 10000 */
  rows?: number | undefined;
  /** Seconds between the newest source row and the offset. @default 300 */
  seconds?: number | undefined;
}

export const DEFAULT_LAG_THRESHOLD: Required<LagThreshold> = { rows: 10_000, seconds: 300 };

export interface HealthInput {
  enabled: boolean;
  status: SyncStatus | null | undefined;
  /** Whether the leader gave the sync to an agent (always true for an agent judging its own syncs). */
  assigned: boolean;
  /** Why the leader gave it to no agent, when it said (e.g. "no agent with region=eu"). */
  unassignedReason?: string | undefined;
  lagThreshold?: LagThreshold | undefined;
}

export interface SyncHealth {
  health: Health;
  /** One line saying why, e.g. "113,500 rows behind (threshold 10,000)". */
  reason: string;
  /** Consecutive failed attempts since the last successful batch (retrying and failed). */
  attempts?: number | undefined;
  /** When the current run of failures began. */
  failingSince?: string | undefined;
  /** When the next automatic attempt is due; absent when only an operator can restart it. */
  nextRetryAt?: string | undefined;
}

// Made at first use: making it loads ICU's number data, 10 ms of every agent's start.
let numbers: Intl.NumberFormat | undefined;
const count = { format: (n: number) => (numbers ??= new Intl.NumberFormat('en-US', { maximumFractionDigits: 0 })).format(n) };

/** A sync's lag threshold with the defaults filled in. */
export function effectiveLagThreshold(t: LagThreshold | undefined): Required<LagThreshold> {
  return { rows: t?.rows ?? DEFAULT_LAG_THRESHOLD.rows, seconds: t?.seconds ?? DEFAULT_LAG_THRESHOLD.seconds };
}

/**
 * Stopped by its configuration, or by something outside it a person must grant (`IDRA_ERR_CONFIG_*`,
 * e.g. a source user that cannot see other sessions' transactions): it needs a change, not time.
 */
export function isConfigProblem(status: Pick<SyncStatus, 'state' | 'lastError'> | null | undefined): boolean {
  return status?.state === 'failed' && status.lastError?.code.startsWith('IDRA_ERR_CONFIG_') === true;
}

/** The health of one sync. */
export function deriveHealth({ enabled, status, assigned, unassignedReason, lagThreshold }: HealthInput): SyncHealth {
  if (!enabled) return { health: 'paused', reason: status && status.state !== 'stopped' ? 'paused: its agent is finishing the batch in flight' : 'paused' };
  if (!assigned) {
    return {
      health: 'unassigned',
      reason: unassignedReason ? `unassigned: ${unassignedReason}` : 'no agent runs it (is an agent running, and does one match its placement?)',
    };
  }
  if (status && (status.state === 'failed' || status.state === 'retrying')) {
    const failing = { attempts: status.attempts, failingSince: status.failingSince ?? status.lastError?.at, nextRetryAt: status.nextRetryAt };
    const message = status.lastError?.message ?? 'unknown error';
    if (status.state === 'failed') return { health: 'failed', reason: isConfigProblem(status) ? `configuration problem: ${message}` : message, ...failing };
    return { health: 'retrying', reason: message, ...failing };
  }
  const lag = status?.lag;
  const limit = effectiveLagThreshold(lagThreshold);
  if (lag?.rows !== undefined && lag.rows > limit.rows) {
    return { health: 'lagging', reason: `${count.format(lag.rows)} rows behind (threshold ${count.format(limit.rows)})` };
  }
  if (lag?.seconds !== undefined && lag.seconds > limit.seconds) {
    return { health: 'lagging', reason: `${count.format(lag.seconds)} s behind (threshold ${count.format(limit.seconds)} s)` };
  }
  if (!status || status.state === 'stopped') return { health: 'healthy', reason: 'starting on its agent' };
  if (status.state === 'waiting' && status.waitingFor) return { health: 'healthy', reason: slotWaitText(status.waitingFor) };
  return { health: 'healthy', reason: status.state === 'idle' ? 'caught up' : status.state === 'starting' ? 'starting' : 'copying' };
}

/** Sorts problems first (failed, retrying, unassigned, lagging, healthy, paused). */
export function compareHealth(a: Health, b: Health): number {
  return HEALTH_ORDER.indexOf(a) - HEALTH_ORDER.indexOf(b);
}

/** Progress of a copy that is behind: rows copied so far against rows still to copy, when the source counts them. */
export interface CopyProgress {
  /** The first pass (the sync never caught up yet) rather than catching up later. */
  initial: boolean;
  /** 0–100. */
  percent: number;
  rowsDone: number;
  rowsLeft: number;
  /** Seconds to go at `rowsPerSecond`; absent without a rate. */
  etaSeconds?: number | undefined;
}

/** How far a copy has come, from the cumulative totals and the lag in rows; undefined when nothing is left or unknown. */
export function copyProgress(status: SyncStatus | null | undefined, rowsPerSecond?: number): CopyProgress | undefined {
  const left = status?.lag?.rows;
  if (!status || left === undefined || left <= 0) return undefined;
  const done = status.totals?.rowsCopied ?? status.rowsCopied;
  const percent = Math.min(100, Math.floor((done / (done + left)) * 1000) / 10);
  return {
    initial: !status.totals?.caughtUpAt,
    percent,
    rowsDone: done,
    rowsLeft: left,
    etaSeconds: rowsPerSecond && rowsPerSecond > 0 ? Math.ceil(left / rowsPerSecond) : undefined,
  };
}

/** The lag in one unit (rows when counted, else seconds), with the other for a tooltip. */
export function lagSummary(lag: SyncStatus['lag']): { text: string; other: string | undefined } {
  if (!lag || (lag.rows === undefined && lag.seconds === undefined)) return { text: '—', other: undefined };
  const rows = lag.rows === undefined ? undefined : `${count.format(lag.rows)} rows`;
  const seconds = lag.seconds === undefined ? undefined : `${count.format(lag.seconds)} s`;
  return rows ? { text: rows, other: seconds } : { text: seconds!, other: undefined };
}
