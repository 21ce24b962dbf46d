import type { SyncOverview } from '@idra/api-client';
import { displayState, type DisplayState } from './sync-state.ts';

export type SortKey = 'name' | 'state' | 'agent' | 'rows' | 'lag' | 'error';

export interface TableQuery {
  q: string;
  state: DisplayState | '';
  sort: SortKey;
  dir: 'asc' | 'desc';
  page: number;
}

export const PAGE_SIZE = 20;

export function agentOf(o: SyncOverview): string | undefined {
  return o.runningOn ?? o.assignment?.agentId ?? undefined;
}

function lagOf(o: SyncOverview): number {
  return o.status?.lag?.rows ?? o.status?.lag?.seconds ?? -1;
}

const SORTERS: Record<SortKey, (a: SyncOverview, b: SyncOverview) => number> = {
  name: (a, b) => a.name.localeCompare(b.name) || a.id.localeCompare(b.id),
  state: (a, b) => displayState(a).localeCompare(displayState(b)),
  agent: (a, b) => (agentOf(a) ?? '~').localeCompare(agentOf(b) ?? '~'),
  rows: (a, b) => (a.status?.rowsCopied ?? -1) - (b.status?.rowsCopied ?? -1),
  lag: (a, b) => lagOf(a) - lagOf(b),
  error: (a, b) => (a.status?.lastError?.at ?? '').localeCompare(b.status?.lastError?.at ?? ''),
};

/** Filters (free text over id, name, tables, connectors, agent, error; and state), sorts and pages the syncs. */
export function applyTableQuery(rows: readonly SyncOverview[], query: TableQuery): { page: SyncOverview[]; total: number; pages: number; pageIndex: number } {
  const needle = query.q.trim().toLowerCase();
  const matching = rows.filter((r) => {
    if (query.state && displayState(r) !== query.state) return false;
    if (!needle) return true;
    const haystack = [r.id, r.name, r.source.table, r.source.connector, r.source.dataSourceId, r.destination.table, r.destination.connector, r.destination.dataSourceId, agentOf(r), r.status?.lastError?.message]
      .filter(Boolean)
      .join(' ')
      .toLowerCase();
    return haystack.includes(needle);
  });
  const sorter = SORTERS[query.sort];
  const sorted = [...matching].sort((a, b) => (query.dir === 'asc' ? 1 : -1) * sorter(a, b) || a.id.localeCompare(b.id));
  const pages = Math.max(1, Math.ceil(sorted.length / PAGE_SIZE));
  const pageIndex = Math.min(Math.max(1, query.page), pages);
  return { page: sorted.slice((pageIndex - 1) * PAGE_SIZE, pageIndex * PAGE_SIZE), total: sorted.length, pages, pageIndex };
}

/** Reads the table's state from the URL (so that back, reload and links keep it). */
export function parseTableQuery(params: URLSearchParams): TableQuery {
  const state = params.get('state');
  const sort = params.get('sort');
  return {
    q: params.get('q') ?? '',
    state: state === 'running' || state === 'paused' || state === 'failing' || state === 'unassigned' ? state : '',
    sort: sort && sort in SORTERS ? (sort as SortKey) : 'name',
    dir: params.get('dir') === 'desc' ? 'desc' : 'asc',
    page: Math.max(1, Number.parseInt(params.get('page') ?? '1', 10) || 1),
  };
}
