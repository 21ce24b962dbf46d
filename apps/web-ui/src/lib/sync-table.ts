import type { SyncOverview } from '@idra/api-client';
import { compareHealth } from '@idra/core/health';
import { HEALTH_ORDER, type Health } from './sync-state.ts';

export type SortKey = 'health' | 'name' | 'agent' | 'rows' | 'lag' | 'error';

export interface TableQuery {
  q: string;
  health: Health | '';
  sort: SortKey;
  dir: 'asc' | 'desc';
  page: number;
}

export const PAGE_SIZE = 25;

export function agentOf(o: SyncOverview): string | undefined {
  return o.runningOn ?? o.assignment?.agentId ?? undefined;
}

/** Cumulative rows: they survive restarts, pauses and handoffs. */
export function rowsOf(o: SyncOverview): number | undefined {
  return o.status?.totals?.rowsCopied ?? o.status?.rowsCopied;
}

function lagOf(o: SyncOverview): number {
  return o.status?.lag?.rows ?? o.status?.lag?.seconds ?? -1;
}

const SORTERS: Record<SortKey, (a: SyncOverview, b: SyncOverview) => number> = {
  health: (a, b) => compareHealth(a.health.health, b.health.health),
  name: (a, b) => a.name.localeCompare(b.name) || a.id.localeCompare(b.id),
  agent: (a, b) => (agentOf(a) ?? '~').localeCompare(agentOf(b) ?? '~'),
  rows: (a, b) => (rowsOf(a) ?? -1) - (rowsOf(b) ?? -1),
  lag: (a, b) => lagOf(a) - lagOf(b),
  error: (a, b) => (a.status?.lastError?.at ?? '').localeCompare(b.status?.lastError?.at ?? ''),
};

/** Filters (free text over id, name, tables, connectors, agent, error; and health), sorts (problems first by default) and pages the syncs. */
export function applyTableQuery(rows: readonly SyncOverview[], query: TableQuery): { page: SyncOverview[]; total: number; pages: number; pageIndex: number } {
  const needle = query.q.trim().toLowerCase();
  const matching = rows.filter((r) => {
    if (query.health && r.health.health !== query.health) return false;
    if (!needle) return true;
    const haystack = [
      r.id,
      r.name,
      r.source.table,
      r.source.connector,
      r.source.dataSourceId,
      r.destination.table,
      r.destination.connector,
      r.destination.dataSourceId,
      agentOf(r),
      r.status?.lastError?.message,
    ]
      .filter(Boolean)
      .join(' ')
      .toLowerCase();
    return haystack.includes(needle);
  });
  const sorter = SORTERS[query.sort];
  const sorted = [...matching].sort((a, b) => (query.dir === 'asc' ? 1 : -1) * sorter(a, b) || SORTERS.name(a, b));
  const pages = Math.max(1, Math.ceil(sorted.length / PAGE_SIZE));
  const pageIndex = Math.min(Math.max(1, query.page), pages);
  return { page: sorted.slice((pageIndex - 1) * PAGE_SIZE, pageIndex * PAGE_SIZE), total: sorted.length, pages, pageIndex };
}

/** Reads the table's state from the URL (so that back, reload and links keep it). */
export function parseTableQuery(params: URLSearchParams): TableQuery {
  const health = params.get('health');
  const sort = params.get('sort');
  return {
    q: params.get('q') ?? '',
    health: health && (HEALTH_ORDER as readonly string[]).includes(health) ? (health as Health) : '',
    sort: sort && sort in SORTERS ? (sort as SortKey) : 'health',
    dir: params.get('dir') === 'desc' ? 'desc' : 'asc',
    page: Math.max(1, Number.parseInt(params.get('page') ?? '1', 10) || 1),
  };
}
