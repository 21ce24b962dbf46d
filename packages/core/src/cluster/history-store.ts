import type { Namespace } from 'etcd3';
import type { ScopeChange } from '../offset/offset-scope.ts';
import { KEYS, sequenceKey } from './keys.ts';

/** What happened to a sync or data source. */
export type HistoryAction = 'created' | 'updated' | 'paused' | 'resumed' | 'deleted';

export type HistoryKind = 'sync' | 'dataSource';

/** One field that changed; secrets are masked (a changed password shows as a change of the mask). */
export interface HistoryChange {
  path: string;
  old?: unknown;
  new?: unknown;
}

/** One recorded change of a sync or data source: who, when, what, why. */
export interface HistoryEntry {
  /** Sorts in time order; unique per object. */
  id: string;
  at: string;
  /** The user (or `user (token <id>)`) who made the change. */
  by: string;
  kind: HistoryKind;
  objectId: string;
  action: HistoryAction;
  /** Why, when the caller said (`?reason=`). */
  reason?: string | undefined;
  /** How the change came: `api` (default), `import`, `migrate`, `duplicate`. */
  via?: string | undefined;
  changes: HistoryChange[];
  /** A change of what the sync's offset points into, and what was chosen for the offset. */
  offset?: { decision: 'reset' | 'keep'; changes: ScopeChange[] } | undefined;
}

/** Entries kept per sync or data source; older ones are removed. */
export const HISTORY_LIMIT = 200;

const isPlainObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

/** Leaf-level differences between two JSON documents (arrays compared whole). */
export function diffDocuments(old: unknown, next: unknown, base = ''): HistoryChange[] {
  if (isPlainObject(old) && isPlainObject(next)) {
    const keys = [...new Set([...Object.keys(old), ...Object.keys(next)])].sort();
    return keys.flatMap((k) => diffDocuments(old[k], next[k], base ? `${base}.${k}` : k));
  }
  if (isPlainObject(old) && next === undefined) return diffDocuments(old, {}, base);
  if (old === undefined && isPlainObject(next)) return diffDocuments({}, next, base);
  if (JSON.stringify(old) === JSON.stringify(next)) return [];
  const change: HistoryChange = { path: base };
  if (old !== undefined) change.old = old;
  if (next !== undefined) change.new = next;
  return [change];
}

/** The change history of syncs and data sources in etcd, at most `limit` entries per object. */
export class HistoryStore {
  private readonly ns: Namespace;
  private readonly limit: number;

  constructor(ns: Namespace, limit = HISTORY_LIMIT) {
    this.ns = ns;
    this.limit = limit;
  }

  /** The key and value of a new entry, to write in the same transaction as the change it records. */
  entry(input: Omit<HistoryEntry, 'id' | 'at'>, now = new Date()): { key: string; value: string; entry: HistoryEntry } {
    const id = sequenceKey(now.getTime());
    const entry: HistoryEntry = { id, at: now.toISOString(), ...input };
    return { key: `${KEYS.history(input.kind, input.objectId)}${id}`, value: JSON.stringify(entry), entry };
  }

  /** Removes the oldest entries of an object beyond the limit. */
  async trim(kind: HistoryKind, objectId: string): Promise<void> {
    const keys = await this.ns.getAll().prefix(KEYS.history(kind, objectId)).sort('Key', 'Ascend').keys();
    const excess = keys.slice(0, Math.max(0, keys.length - this.limit));
    for (const key of excess) await this.ns.delete().key(key).exec();
  }

  /** An object's entries, newest first. */
  async list(kind: HistoryKind, objectId: string): Promise<HistoryEntry[]> {
    const all = await this.ns.getAll().prefix(KEYS.history(kind, objectId)).sort('Key', 'Descend').strings();
    return Object.values(all).map((text) => JSON.parse(text) as HistoryEntry);
  }
}
