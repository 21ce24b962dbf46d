import { WatermarkBlindError, type BlockingTransaction, type Sync } from '@idra/core';
import type { TransactionView } from './dialect.ts';
import { microsOf } from './values.ts';

/** Observations kept for an id cursor; beyond this they are thinned out, which costs latency, never rows. */
const MAX_HISTORY = 512;

/** The limit of one cursor read. */
export interface ReadLimit {
  /** Id cursors read rows at or below it, timestamp cursors rows before it; undefined when `hold`. */
  value: string | undefined;
  /** No safe limit is known yet (just opened, a transaction open): the read must return nothing. */
  hold: boolean;
  /** Why the limit is behind the newest rows, for the status. */
  heldBack: string | undefined;
  /** The open transaction holding the limit back, when one does (for the status and the metrics). */
  blockedBy: BlockingTransaction | undefined;
  /** What weakens the guarantee (e.g. missing privileges), for the status and the log. */
  warning: string | undefined;
  /** The database's list of open transactions was stale: a fresh one can be had after this many ms. */
  staleRetryMs?: number | undefined;
}

const seconds = (ms: number) => `${(ms / 1000).toFixed(1)} s`;

type Sight = Pick<TransactionView, 'blind' | 'grant'>;

/** The status warning of a source that cannot see every transaction, read by a sync that accepted it. */
export function blindWarning(view: Sight, delayMs: number): string {
  return `${view.blind}${view.grant ? ` (${view.grant} would show them)` : ''}: only delayMs (${delayMs} ms) protects rows committed late`;
}

type Consent = Pick<Sync, 'id' | 'delayMs' | 'watermark'>;

/**
 * The error that stops a cursor read that cannot see every transaction, unless the sync accepted
 * relying on delayMs: with `delayMs` above 0, or `watermark: 'delay-only'` (a bare `delayMs: 0` is what
 * the default already means, so it is not taken as consent). The same check at open, before every
 * read, and in the API's source check.
 */
export function blindRefusal(view: Sight, sync: Consent, connector: string): WatermarkBlindError | undefined {
  if (view.blind === undefined || sync.watermark === 'delay-only' || sync.delayMs > 0) return undefined;
  const remedy = view.grant ? `run ${view.grant} on the source (the sync then starts by itself), or set` : 'set';
  return new WatermarkBlindError({
    connector,
    syncId: sync.id,
    grant: view.grant,
    message: `${view.blind}, so rows committed late could be skipped for good: ${remedy} delayMs to the longest time a write transaction stays open (watermark: "delay-only" accepts that risk with delayMs 0)`,
  });
}

/** Throws {@link blindRefusal}'s error, when there is one. */
export function refuseBlindReads(view: Sight, sync: Consent, connector: string): void {
  const refusal = blindRefusal(view, sync, connector);
  if (refusal) throw refusal;
}

function isInteger(text: string): boolean {
  return /^-?\d+$/.test(text);
}

/**
 * Turns what the database reports before each read into a limit that no late commit can fall behind.
 * Every limit it hands out stays safe forever, so a later one is never lower, and when the database
 * cannot tell (a stale list, a prepared transaction) the previous limit is kept.
 *
 * Timestamp cursors: the database computes min(now − delay, start of the oldest open transaction); a
 * transaction stamps its rows with its start time or later, so nothing can still commit below it.
 *
 * Id cursors: ids are handed out in increasing order but may commit in any order. An observation
 * `(t, M)` says every id ≤ M was handed out before `t`. Once every transaction open now started after
 * `t` (and `t` is at least delayMs old), no transaction that can still commit holds an id ≤ M. The
 * newest such M is the limit; with no other transaction open it is the current largest id. After a
 * restart the history is empty: the first read with a transaction open only observes.
 */
export class Watermark {
  private readonly cursor: 'id' | 'timestamp';
  private readonly delayMs: number;
  private readonly delayUs: bigint;
  private readonly history: Array<{ at: bigint; max: string }> = [];
  private limit: string | undefined;
  private heldBack: string | undefined;
  private blockedBy: BlockingTransaction | undefined;
  private warning: string | undefined;

  constructor(cursor: 'id' | 'timestamp', delayMs: number) {
    this.cursor = cursor;
    this.delayMs = delayMs;
    this.delayUs = BigInt(Math.round(delayMs * 1000));
  }

  /** Whether a limit is known (reads may go on below it while the database cannot tell more). */
  get limited(): boolean {
    return this.limit !== undefined;
  }

  /** The limit of the next read, given what the database reported just before it. */
  next(view: TransactionView): ReadLimit {
    // The first reason stays: it says this source has run with weaker guarantees.
    if (view.blind !== undefined) this.warning ??= blindWarning(view, this.delayMs);
    if (this.cursor === 'id' && view.maxCursor !== undefined && view.maxCursor !== null) this.observe(view.at, view.maxCursor);
    if (view.unknown) this.heldBack = view.unknown;
    else if (!view.stale) this.advance(view);
    return {
      value: this.limit,
      hold: this.limit === undefined,
      heldBack: this.heldBack,
      blockedBy: this.blockedBy,
      warning: this.warning,
      staleRetryMs: view.stale?.retryInMs,
    };
  }

  private observe(at: string, max: string): void {
    this.history.push({ at: microsOf(at), max });
    if (this.history.length > MAX_HISTORY) {
      const kept = this.history.filter((_, i, all) => i % 2 === 0 || i === all.length - 1);
      this.history.splice(0, this.history.length, ...kept);
    }
  }

  private advance(view: TransactionView): void {
    const { oldest } = view;
    if (this.cursor === 'timestamp') {
      if (this.limit === undefined || microsOf(view.timestampLimit) > microsOf(this.limit)) this.limit = view.timestampLimit;
      const holding = oldest && oldest.ageMs > this.delayMs;
      this.heldBack = holding ? `oldest open transaction (${oldest.holder}) started ${seconds(oldest.ageMs)} ago` : undefined;
      this.blockedBy = holding ? { session: oldest.holder, seconds: oldest.ageMs / 1000 } : undefined;
      return;
    }
    const newest = microsOf(view.at) - this.delayUs;
    const openSince = oldest ? microsOf(oldest.start) : undefined;
    let eligible = -1;
    for (let i = this.history.length - 1; i >= 0; i--) {
      const { at } = this.history[i]!;
      if (at <= newest && (openSince === undefined || at < openSince)) {
        eligible = i;
        break;
      }
    }
    if (eligible >= 0) {
      const { max } = this.history[eligible]!;
      this.history.splice(0, eligible);
      const higher = this.limit === undefined || !isInteger(max) || !isInteger(this.limit) || BigInt(max) > BigInt(this.limit);
      if (higher) this.limit = max;
    }
    const head = view.maxCursor;
    const behind =
      head !== undefined &&
      head !== null &&
      (this.limit === undefined || (isInteger(head) && isInteger(this.limit) ? BigInt(head) > BigInt(this.limit) : head !== this.limit));
    const waiting = this.limit === undefined ? 'all ids wait' : `ids above ${this.limit} wait`;
    this.heldBack = !behind
      ? undefined
      : oldest
        ? `${waiting}: a transaction open for ${seconds(oldest.ageMs)} (${oldest.holder}) may still commit lower ids`
        : `${waiting} for delayMs (${this.delayMs} ms)`;
    this.blockedBy = behind && oldest ? { session: oldest.holder, seconds: oldest.ageMs / 1000 } : undefined;
  }
}
