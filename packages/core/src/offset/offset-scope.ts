import { createHash } from 'node:crypto';
import type { Connection, ResolvedEndpoint, Sync } from '../model/schema.ts';
import type { SyncMode } from '../model/modes.ts';

/**
 * What an offset points into, stored with it: the same position means something else once any of
 * these change (another table, another cursor column), so such a change needs an explicit choice.
 */
export interface OffsetScope {
  mode: SyncMode;
  /** The source in words, without credentials: `postgres db:5432/shop table public.orders`. */
  source: string;
  /** Short hash of `source` (the query's full text included), to compare without reading it. */
  fingerprint: string;
  cursorColumn?: string | undefined;
  tiebreakerColumn?: string | undefined;
  /** Full mode: the columns a pass is keyset-paged by. */
  keyColumns?: string[] | undefined;
}

/** One field of a scope that differs. */
export interface ScopeChange {
  field: 'mode' | 'source' | 'cursorColumn' | 'tiebreakerColumn' | 'keyColumns';
  old: string;
  new: string;
}

const hash = (text: string, length = 16) => createHash('sha256').update(text).digest('hex').slice(0, length);

/** Where a connection points, without user, password or parameters. */
function server(c: Connection): string {
  if (c.file) return c.file;
  if (c.url) {
    try {
      const u = new URL(c.url);
      return `${u.host}${c.database ? `/${c.database}` : u.pathname === '/' ? '' : u.pathname}`;
    } catch {
      return '(unparsable url)';
    }
  }
  return `${c.host ?? ''}${c.port ? `:${c.port}` : ''}${c.database ? `/${c.database}` : ''}`;
}

const normalQuery = (query: string) => query.replace(/\s+/g, ' ').trim();

function place(ep: ResolvedEndpoint): string {
  if (ep.query !== undefined) return `query ${hash(normalQuery(ep.query), 8)}`;
  if (ep.table !== undefined) return `table ${ep.schema ? `${ep.schema}.` : ''}${ep.table}`;
  if (ep.topic !== undefined) return `topic ${ep.topic}`;
  if (ep.collection !== undefined) return `collection ${ep.collection}`;
  if (ep.bucket !== undefined) return `bucket ${ep.bucket}/${ep.prefix ?? ''}`;
  if (ep.url !== undefined) return `url ${ep.url.replace(/[?#].*$/, '')}`;
  return '';
}

/** The scope of a sync's offset, from the sync as it runs (connections resolved and opened). */
export function offsetScopeOf(sync: Sync): OffsetScope {
  const ep = sync.source;
  const source = `${ep.connector} ${server(ep.connection)} ${place(ep)}`.replace(/\s+/g, ' ').trim();
  const scope: OffsetScope = { mode: sync.mode, source, fingerprint: hash(`${source}\n${normalQuery(ep.query ?? '')}`) };
  if (sync.cursorColumn !== undefined) scope.cursorColumn = sync.cursorColumn;
  if (sync.mode === 'timestamp' && sync.tiebreakerColumn !== undefined) scope.tiebreakerColumn = sync.tiebreakerColumn;
  if (sync.mode === 'full') scope.keyColumns = [...sync.keyColumns];
  return scope;
}

/** How `next` differs from `old`; empty when an offset of `old` still means the same under `next`. */
export function scopeChanges(old: OffsetScope, next: OffsetScope): ScopeChange[] {
  const changes: ScopeChange[] = [];
  const text = (v: string | string[] | undefined) => (v === undefined ? '(none)' : Array.isArray(v) ? v.join(', ') : v);
  if (old.mode !== next.mode) changes.push({ field: 'mode', old: old.mode, new: next.mode });
  if (old.fingerprint !== next.fingerprint) changes.push({ field: 'source', old: old.source, new: next.source });
  for (const field of ['cursorColumn', 'tiebreakerColumn', 'keyColumns'] as const) {
    if (text(old[field]) !== text(next[field])) changes.push({ field, old: text(old[field]), new: text(next[field]) });
  }
  return changes;
}

/** The changes in words, for errors and logs: `cursorColumn 'id' → 'order_id'; source …`. */
export function describeScopeChanges(changes: ScopeChange[]): string {
  return changes.map((c) => `${c.field} '${c.old}' → '${c.new}'`).join('; ');
}
