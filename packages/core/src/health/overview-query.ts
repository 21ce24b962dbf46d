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

export type OverviewSortKey = 'health' | 'name' | 'agent' | 'rows' | 'lag' | 'error';
export const OVERVIEW_SORT_KEYS: readonly OverviewSortKey[] = ['health', 'name', 'agent', 'rows', 'lag', 'error'];

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
  agent: (a, b) => (agentOf(a) ?? '~').localeCompare(agentOf(b) ?? '~'),
  rows: (a, b) => (rowsOf(a) ?? -1) - (rowsOf(b) ?? -1),
  lag: (a, b) => lagOf(a) - lagOf(b),
  error: (a, b) => (a.status?.lastError?.at ?? '').localeCompare(b.status?.lastError?.at ?? ''),
};

function zeroCounts(): HealthCounts {
  return { all: 0, failed: 0, retrying: 0, unassigned: 0, lagging: 0, healthy: 0, paused: 0 };
}

export function countHealth(rows: readonly OverviewRow[]): HealthCounts {
  const counts = zeroCounts();
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

export type OverviewQueryProblem = { field: keyof OverviewQuery; message: string };

/**
 * Reads a query from URL parameters (the UI's address bar, the API's query string). Missing values take
 * their defaults; a value that is present but wrong is a problem named by its field, not a silent default.
 */
export function readOverviewQuery(get: (name: string) => string | null | undefined): { query: OverviewQuery; problems: OverviewQueryProblem[] } {
  const problems: OverviewQueryProblem[] = [];
  const text = (name: string) => {
    const v = get(name);
    return v === null || v === undefined || v === '' ? undefined : v;
  };
  const health = text('health');
  if (health !== undefined && !(HEALTH_ORDER as readonly string[]).includes(health)) {
    problems.push({ field: 'health', message: `health must be one of ${HEALTH_ORDER.join(', ')}` });
  }
  const sort = text('sort');
  if (sort !== undefined && !(OVERVIEW_SORT_KEYS as readonly string[]).includes(sort)) {
    problems.push({ field: 'sort', message: `sort must be one of ${OVERVIEW_SORT_KEYS.join(', ')}` });
  }
  const dir = text('dir');
  if (dir !== undefined && dir !== 'asc' && dir !== 'desc') problems.push({ field: 'dir', message: 'dir must be asc or desc' });
  const whole = (name: 'page' | 'pageSize', max: number) => {
    const v = text(name);
    if (v === undefined) return undefined;
    const n = /^\d{1,6}$/.test(v) ? Number(v) : Number.NaN;
    if (n >= 1 && n <= max) return n;
    problems.push({ field: name, message: `${name} must be a whole number from 1 to ${max}` });
    return undefined;
  };
  const page = whole('page', 999_999);
  const pageSize = whole('pageSize', OVERVIEW_MAX_PAGE_SIZE);
  const q = text('q') ?? '';
  if (q.length > 200) problems.push({ field: 'q', message: 'q must be at most 200 characters' });
  return {
    query: {
      q: q.slice(0, 200),
      health: health && (HEALTH_ORDER as readonly string[]).includes(health) ? (health as Health) : '',
      sort: sort && (OVERVIEW_SORT_KEYS as readonly string[]).includes(sort) ? (sort as OverviewSortKey) : 'health',
      dir: dir === 'desc' ? 'desc' : 'asc',
      page: page ?? 1,
      pageSize: pageSize ?? OVERVIEW_PAGE_SIZE,
    },
    problems,
  };
}
