import type { CopyRange, Lag } from '@idra/core';
import { cursorText } from './values.ts';

// What the cdc sources of every database share: the key ranges of the initial copy, the wait for the
// log, the cut of the received transactions into batches, and the lag while the copy runs.

/** One key range of the initial copy: rows with key in (after, to], `after` moving as pages are copied (the polling modes' {@link CopyRange}). */
export type SnapshotPart = CopyRange;

/**
 * `count` key ranges of about equal size of a table of about `total` rows, cut at the keys
 * `keyAt(n)` finds after n rows in key order (in the copy's snapshot).
 */
export async function keyRanges(total: number, count: number, keyAt: (rows: number) => Promise<unknown[] | undefined>): Promise<SnapshotPart[]> {
  const bounds: string[][] = [];
  for (let i = 1; i < count && total > 0; i++) {
    const row = await keyAt(Math.floor((total * i) / count));
    if (!row) break;
    const bound = row.map((v) => cursorText(v) ?? '');
    if (bounds.length === 0 || JSON.stringify(bounds[bounds.length - 1]) !== JSON.stringify(bound)) bounds.push(bound);
  }
  return [...bounds, null].map((to, i) => ({ after: i === 0 ? null : bounds[i - 1]!, to, done: false }));
}

/**
 * Waits until `ready()` holds, `ms` pass or `signal` aborts. `arm` is handed the function that wakes
 * the wait (the stream calls it when something arrives), and undefined once the wait is over.
 */
export async function waitForLog(ready: () => boolean, ms: number, signal: AbortSignal, arm: (wake: (() => void) | undefined) => void): Promise<void> {
  const deadline = performance.now() + ms;
  while (!ready() && !signal.aborted && performance.now() < deadline) {
    await new Promise<void>((resolve) => {
      const timer = setTimeout(resolve, Math.max(1, deadline - performance.now()));
      const onAbort = () => resolve();
      signal.addEventListener('abort', onAbort, { once: true });
      arm(() => {
        clearTimeout(timer);
        signal.removeEventListener('abort', onAbort);
        resolve();
      });
    });
    arm(undefined);
  }
}

/** How a read is cut from the received items: the first `end` of them, and whether that stops inside a transaction. */
export interface Span {
  end: number;
  midTransaction: boolean;
}

/**
 * The items a read takes off the queue: whole transactions (their changes, then their commit) until
 * `limit` changes are reached — more when one transaction alone is larger. A transaction of more than
 * `maxTransactionRows` changes (`partial`: its items are queued while it is still being received) is
 * taken in pieces of `limit`, `midTransaction` until the piece that holds its commit.
 */
export function transactionSpan(
  queue: ReadonlyArray<{ kind: string }>,
  limit: number,
  state: { partial: boolean; midTransaction: boolean; maxTransactionRows: number },
): Span {
  const commit = queue.findIndex((item) => item.kind === 'commit');
  if (state.midTransaction || (commit < 0 ? state.partial : commit > state.maxTransactionRows)) {
    const end = commit >= 0 && commit < limit ? commit + 1 : Math.min(limit, queue.length);
    return { end, midTransaction: queue[end - 1]?.kind !== 'commit' };
  }
  let end = 0;
  let changes = 0;
  for (let i = commit; i >= 0 && i < queue.length; i++) {
    if (queue[i]!.kind !== 'commit') continue;
    changes += i - end;
    end = i + 1;
    if (changes >= limit) break;
  }
  return { end, midTransaction: false };
}

/** The lag of a change-log sync while its initial copy runs: the rows left, and when they will be copied at the rate seen since `started`. */
export function copyLag(
  head: string,
  bytes: number | undefined,
  snapshot: { rows: number; total: number },
  started: { at: number; rows: number } | undefined,
): Lag {
  const { rows, total } = snapshot;
  const rate = started && rows > started.rows ? (rows - started.rows) / ((performance.now() - started.at) / 1000) : undefined;
  return { head, bytes, rows: Math.max(0, total - rows), snapshot: { rows, total, etaSeconds: rate ? Math.max(0, total - rows) / rate : undefined } };
}
