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
  /** Source keys per chunk (and per page of keys listed). @default RECONCILE_CHUNK */
  chunk?: number;
  /** Source keys of a range listed rather than compared by digest. @default RECONCILE_LEAF */
  leaf?: number;
}

/** Source keys per leaf: a range this small whose digests differ, or one whose counts differ by a key per LEAF keys, is listed rather than split. */
export const RECONCILE_LEAF = 1000;
/** Sub-ranges a range whose digests differ is split into. */
const FANOUT = 10;

/**
 * Compares the keys of source and destination chunk by chunk (a range of source keys in key order,
 * and the destination's keys in the same range), deletes the destination keys gone from the source
 * and counts the source keys the destination lacks. Where both ends compute the same digest of a
 * range ({@link KeyLister.digest}, same {@link KeyLister.digestForm}), a chunk is compared by its
 * digest and count at each end: equal chunks are passed over without a key leaving the database, and
 * one that differs is split into smaller ranges, down to ranges listed key by key (a dense difference —
 * a count gap of one key per leaf — is listed at once). Elsewhere every chunk is listed.
 * Safe by construction: a key is deleted only
 * when an exact lookup at the source, made just before its delete batch, does not find it (ranges
 * compared across databases of different collations may disagree; the lookup does not); the
 * candidates are all known before the first delete, and more than `maxDeleteFraction` of the
 * destination's rows refuses the whole run (DeleteGuardError, nothing deleted).
 */
export async function reconcileKeys(source: KeyLister, destination: KeyLister, opts: ReconcileOptions, signal: AbortSignal): Promise<ReconciliationReport> {
  const started = performance.now();
  const chunk = opts.chunk ?? RECONCILE_CHUNK;
  const leaf = Math.min(chunk, opts.leaf ?? RECONCILE_LEAF);
  const destinationTotal = await destination.count(signal);
  const allowed = deleteAllowance(destinationTotal, opts.maxDeleteFraction);
  const candidates: string[][] = [];
  let sourceKeys = 0;
  let destinationKeys = 0;
  let missing = 0;
  let stoppedEarly = false;

  /** The destination's keys in (after, upTo], all of them, against the source keys `seen` of that range. */
  const against = async (seen: Set<string>, after: string[] | null, upTo: string[] | null) => {
    for (let from = after; ;) {
      const fromDestination = await destination.keys(from, upTo, chunk, signal);
      destinationKeys += fromDestination.length;
      for (const key of fromDestination) if (!seen.delete(keyText(key))) candidates.push(key);
      if (fromDestination.length < chunk) break;
      from = fromDestination[fromDestination.length - 1]!;
    }
    missing += seen.size;
  };
  /** Lists the keys of (after, upTo] at both ends. */
  const list = async (after: string[] | null, upTo: string[] | null) => {
    const seen = new Set<string>();
    for (let from = after; ;) {
      const fromSource = await source.keys(from, upTo, chunk, signal);
      sourceKeys += fromSource.length;
      for (const key of fromSource) seen.add(keyText(key));
      if (fromSource.length < chunk) break;
      from = fromSource[fromSource.length - 1]!;
    }
    await against(seen, after, upTo);
  };
  /** Compares (after, upTo], about `size` source keys, by digest; descends where the digests differ. */
  const compare = async (after: string[] | null, upTo: string[] | null, size: number): Promise<void> => {
    const [s, d] = await Promise.all([source.digest!(after, upTo, form!, signal), destination.digest!(after, upTo, form!, signal)]);
    if (s.count === d.count && s.digest === d.digest) {
      sourceKeys += s.count;
      destinationKeys += d.count;
      return;
    }
    if (size <= leaf || Math.abs(s.count - d.count) * leaf >= size) return list(after, upTo);
    const step = Math.ceil(size / FANOUT);
    for (let from = after; ;) {
      const to = await source.keyAt!(from, step, upTo, signal);
      await compare(from, to ?? upTo, step);
      if (to === null) return;
      if (candidates.length > allowed) {
        stoppedEarly = true;
        return;
      }
      from = to;
    }
  };

  const [fromForms, toForms] =
    source.digest && source.keyAt && destination.digest ? await Promise.all([source.digestForms?.(signal), destination.digestForms?.(signal)]) : [];
  // The fastest form both ends compute (PostgreSQL's own hash between two PostgreSQL servers, MD5 elsewhere).
  const form = fromForms?.find((f) => toForms?.includes(f));
  const byDigest = form !== undefined;
  let dense = false;
  for (let after: string[] | null = null; ;) {
    let last: string[] | null;
    if (byDigest) {
      last = await source.keyAt!(after, chunk, null, signal);
      const before = candidates.length + missing;
      await (dense ? list(after, last) : compare(after, last, chunk));
      // Differences in every part of a chunk (a delete every few hundred keys) are likely in the next: it is listed at once,
      // its digests would not spare a key; once a chunk shows few, digests resume.
      dense = (candidates.length + missing - before) * leaf >= chunk;
    } else {
      const fromSource = await source.keys(after, null, chunk, signal);
      last = fromSource.length < chunk ? null : fromSource[fromSource.length - 1]!;
      sourceKeys += fromSource.length;
      // The destination's keys of the same range, all of them (the last range is open-ended).
      await against(new Set(fromSource.map(keyText)), after, last);
    }
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
