import type { SyncStatus } from '../runner/status.ts';
import { compareHealth, HEALTH_ORDER, type Health } from './health.ts';

/**
 * Paging and summarising the overview of every sync. The API server answers a page or a summary from
 * its one reading of etcd, so that a browser tab receives 25 rows and a few counts, not every sync of a
 * 1,000-sync cluster; the web UI sends the same query it keeps in its URL.
 */

/** What the query reads of one row of the overview (the API's `SyncOverview`). */
export interface OverviewRow {
  id: string;
  name: string;
  enabled: boolean;
  source: { connector: string; dataSourceId?: string | undefined; table?: string | undefined };
  destination: { connector: string; dataSourceId?: string | undefined; table?: string | undefined };
  status: Pick<SyncStatus, 'rowsCopied' | 'totals' | 'lag' | 'lastError'> | null;
  assignment: { agentId: string } | null;
  runningOn: string | null;
  health: { health: Health };
}

export const OVERVIEW_SORT_KEYS = ['health', 'name', 'agent', 'rows', 'lag', 'error'] as const;
export type OverviewSortKey = (typeof OVERVIEW_SORT_KEYS)[number];

export interface OverviewQuery {
  /** Free text over id, name, tables, connectors, data sources, agent and last error. */
  q: string;
  health: Health | '';
  sort: OverviewSortKey;
  dir: 'asc' | 'desc';
  /** 1-based; past the last page means the last page. */
  page: number;
  pageSize: number;
}

export const OVERVIEW_PAGE_SIZE = 25;
export const OVERVIEW_MAX_PAGE_SIZE = 200;
export const OVERVIEW_MAX_QUERY_LENGTH = 200;

/** Syncs per health, and `all`. */
export type HealthCounts = Record<Health | 'all', number>;

export interface OverviewPageOf<T> {
  items: T[];
  /** Syncs matching the query (every page). */
  total: number;
  page: number;
  pages: number;
  pageSize: number;
  /** Syncs per health among those matching the text alone (the filter chips' counts). */
  counts: HealthCounts;
}

export interface OverviewSummaryOf<T> {
  counts: HealthCounts;
  /** Enabled syncs, problems first and then the busiest: the dashboard's chart rows. */
  busiest: T[];
  /** Syncs whose last error is the newest. */
  recentErrors: T[];
}

/** An agent that runs the sync now, else the one it is assigned to. */
export function agentOf(o: Pick<OverviewRow, 'runningOn' | 'assignment'>): string | undefined {
  return o.runningOn ?? o.assignment?.agentId ?? undefined;
}

/** Cumulative rows: they survive restarts, pauses and handoffs. */
export function rowsOf(o: Pick<OverviewRow, 'status'>): number | undefined {
  return o.status?.totals?.rowsCopied ?? o.status?.rowsCopied;
}

function lagOf(o: OverviewRow): number {
  return o.status?.lag?.rows ?? o.status?.lag?.seconds ?? -1;
}

const SORTERS: Record<OverviewSortKey, (a: OverviewRow, b: OverviewRow) => number> = {
  health: (a, b) => compareHealth(a.health.health, b.health.health),
  name: (a, b) => a.name.localeCompare(b.name) || a.id.localeCompare(b.id),
  // A sync on no agent comes after the others (a placeholder string would sort before letters: collation puts symbols first).
  agent: (a, b) => Number(agentOf(a) === undefined) - Number(agentOf(b) === undefined) || (agentOf(a) ?? '').localeCompare(agentOf(b) ?? ''),
  rows: (a, b) => (rowsOf(a) ?? -1) - (rowsOf(b) ?? -1),
  lag: (a, b) => lagOf(a) - lagOf(b),
  error: (a, b) => (a.status?.lastError?.at ?? '').localeCompare(b.status?.lastError?.at ?? ''),
};

export function countHealth(rows: readonly OverviewRow[]): HealthCounts {
  const counts = Object.fromEntries(['all', ...HEALTH_ORDER].map((h) => [h, 0])) as HealthCounts;
  for (const r of rows) {
    counts.all++;
    counts[r.health.health]++;
  }
  return counts;
}

function matchesText(r: OverviewRow, needle: string): boolean {
  if (!needle) return true;
  return [
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
  ].some((s) => s?.toLowerCase().includes(needle));
}

/** Filters (text, then health), sorts (problems first by default, then by name) and cuts one page. */
export function queryOverview<T extends OverviewRow>(rows: readonly T[], query: OverviewQuery): OverviewPageOf<T> {
  const needle = query.q.trim().toLowerCase();
  const byText = rows.filter((r) => matchesText(r, needle));
  const matching = query.health ? byText.filter((r) => r.health.health === query.health) : byText;
  const sorter = SORTERS[query.sort];
  const sign = query.dir === 'asc' ? 1 : -1;
  const sorted = [...matching].sort((a, b) => sign * sorter(a, b) || SORTERS.name(a, b));
  const pageSize = query.pageSize;
  const pages = Math.max(1, Math.ceil(sorted.length / pageSize));
  const page = Math.min(Math.max(1, query.page), pages);
  return { items: sorted.slice((page - 1) * pageSize, page * pageSize), total: sorted.length, page, pages, pageSize, counts: countHealth(byText) };
}

/** The dashboard's view: counts by health, the `charted` busiest (problems first) and the `errors` newest failures. */
export function summariseOverview<T extends OverviewRow>(rows: readonly T[], charted = 12, errors = 10): OverviewSummaryOf<T> {
  const busiest = rows
    .filter((r) => r.enabled)
    .sort((a, b) => SORTERS.health(a, b) || (rowsOf(b) ?? 0) - (rowsOf(a) ?? 0) || SORTERS.name(a, b))
    .slice(0, charted);
  const recentErrors = rows
    .filter((r) => r.status?.lastError)
    .sort((a, b) => Date.parse(b.status!.lastError!.at) - Date.parse(a.status!.lastError!.at) || SORTERS.name(a, b))
    .slice(0, errors);
  return { counts: countHealth(rows), busiest, recentErrors };
}

/**
 * Reads a query from URL parameters (the web UI's address bar, the API's query string, which the API's
 * schema has checked first): a missing or wrong value means its default, so an old link still opens.
 */
export function readOverviewQuery(params: { get(name: string): string | null | undefined }): OverviewQuery {
  const pick = <T extends string>(name: string, allowed: readonly T[]): T | undefined => {
    const v = params.get(name);
    return allowed.find((a) => a === v);
  };
  const whole = (name: string, max: number): number | undefined => {
    const v = params.get(name);
    const n = v && /^\d{1,6}$/.test(v) ? Number(v) : 0;
    return n >= 1 && n <= max ? n : undefined;
  };
  return {
    q: (params.get('q') ?? '').slice(0, OVERVIEW_MAX_QUERY_LENGTH),
    health: pick('health', HEALTH_ORDER) ?? '',
    sort: pick('sort', OVERVIEW_SORT_KEYS) ?? 'health',
    dir: pick('dir', ['asc', 'desc'] as const) ?? 'asc',
    page: whole('page', 999_999) ?? 1,
    pageSize: whole('pageSize', OVERVIEW_MAX_PAGE_SIZE) ?? OVERVIEW_PAGE_SIZE,
  };
}
