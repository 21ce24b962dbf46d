import { DeleteGuardError } from '../errors.ts';
import type { KeyLister, Row } from '../connector/types.ts';
import type { ReconciliationReport } from './status.ts';

/** Keys compared per chunk, and deleted per batch. */
export const RECONCILE_CHUNK = 10_000;
const DELETE_BATCH = 1000;

const keyText = (key: readonly string[]) => (key.length === 1 ? key[0]! : JSON.stringify(key));

/**
 * The most rows a comparison may delete: `fraction` of `rows`, rounded down, less the binary error of
 * the product (100 × 0.57 is 56.99999999999999: exactly 57 deletes must pass).
 */
function deleteAllowance(rows: number, fraction: number): number {
  return Math.floor(rows * fraction * (1 + 1e-12));
}

export interface ReconcileOptions {
  kind: ReconciliationReport['kind'];
  keyColumns: string[];
  /** The largest share of the destination's rows that may be deleted; beyond it nothing is. */
  maxDeleteFraction: number;
  /** Deletes these keys at the destination (one batch of deletes, committed). */
  deleteKeys(keys: Row[], signal: AbortSignal): Promise<number>;
  chunk?: number;
}

/**
 * Compares the keys of source and destination chunk by chunk (a range of source keys in key order,
 * and the destination's keys in the same range), deletes the destination keys gone from the source
 * and counts the source keys the destination lacks. Safe by construction: a key is deleted only
 * when an exact lookup at the source, made just before its delete batch, does not find it (ranges
 * compared across databases of different collations may disagree; the lookup does not); the
 * candidates are all known before the first delete, and more than `maxDeleteFraction` of the
 * destination's rows refuses the whole run (DeleteGuardError, nothing deleted).
 */
export async function reconcileKeys(source: KeyLister, destination: KeyLister, opts: ReconcileOptions, signal: AbortSignal): Promise<ReconciliationReport> {
  const started = performance.now();
  const chunk = opts.chunk ?? RECONCILE_CHUNK;
  const destinationTotal = await destination.count(signal);
  const allowed = deleteAllowance(destinationTotal, opts.maxDeleteFraction);
  const candidates: string[][] = [];
  let sourceKeys = 0;
  let destinationKeys = 0;
  let missing = 0;
  let after: string[] | null = null;
  let stoppedEarly = false;
  for (;;) {
    const fromSource = await source.keys(after, null, chunk, signal);
    const last = fromSource.length < chunk ? null : fromSource[fromSource.length - 1]!;
    // The destination's keys of the same range, all of them (the last range is open-ended).
    const seen = new Set(fromSource.map(keyText));
    let from = after;
    for (;;) {
      const fromDestination = await destination.keys(from, last, chunk, signal);
      destinationKeys += fromDestination.length;
      for (const key of fromDestination) {
        if (!seen.delete(keyText(key))) candidates.push(key);
      }
      if (fromDestination.length < chunk) break;
      from = fromDestination[fromDestination.length - 1]!;
    }
    sourceKeys += fromSource.length;
    missing += seen.size;
    if (last === null) break;
    // Past the guard: the ranges left are not read (the count says "at least").
    if (candidates.length > allowed) {
      stoppedEarly = true;
      break;
    }
    after = last;
  }
  const report = (deleted: number, refused?: string): ReconciliationReport => ({
    at: new Date().toISOString(),
    kind: opts.kind,
    sourceKeys,
    destinationKeys,
    deleted,
    missing,
    durationMs: Math.round(performance.now() - started),
    refused,
  });
  if (candidates.length > allowed) {
    const refused = `${opts.kind === 'mirror' ? 'the mirror pass' : 'key reconciliation'} would delete ${stoppedEarly ? 'at least ' : ''}${candidates.length} of the destination's ${destinationTotal} rows, over maxDeleteFraction ${opts.maxDeleteFraction} (${allowed} rows): nothing was deleted. If the source table was emptied or truncated by mistake, restore it; if the deletes are wanted, raise maxDeleteFraction for one pass and press Retry`;
    throw new DeleteGuardError(refused, report(0, refused));
  }
  let deleted = 0;
  for (let i = 0; i < candidates.length; i += DELETE_BATCH) {
    const batch = candidates.slice(i, i + DELETE_BATCH);
    // Looked up again just before deleting: a key written back at the source meanwhile stays.
    const back = new Set((await source.existing(batch, signal)).map(keyText));
    const gone = batch.filter((k) => !back.has(keyText(k)));
    if (gone.length === 0) continue;
    deleted += await opts.deleteKeys(
      gone.map((k) => Object.fromEntries(opts.keyColumns.map((c, j) => [c, k[j]]))),
      signal,
    );
  }
  return report(deleted);
}
