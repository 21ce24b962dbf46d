import { describe, expect, it } from 'vitest';
import type { SyncStatus } from '../runner/status.ts';
import { deriveHealth } from './health.ts';
import {
  OVERVIEW_PAGE_SIZE as PAGE_SIZE,
  queryOverview,
  readOverviewQuery,
  summariseOverview,
  type OverviewQuery,
  type OverviewRow,
} from './overview-query.ts';

const parse = (params: URLSearchParams): OverviewQuery => readOverviewQuery(params);

function row(
  id: string,
  opts: { enabled?: boolean; state?: SyncStatus['state']; rows?: number; agent?: string; error?: string; at?: string } = {},
): OverviewRow {
  const o: Omit<OverviewRow, 'health'> = {
    id,
    name: id,
    enabled: opts.enabled ?? true,
    source: { connector: 'postgres', table: `src_${id}` },
    destination: { connector: 'sqlite', table: id },
    status: opts.state
      ? ({
          syncId: id,
          agentId: opts.agent ?? 'a1',
          state: opts.state,
          rowsCopied: opts.rows ?? 0,
          lastError: opts.error ? { message: opts.error, code: 'X', at: opts.at ?? '2025-01-01T00:00:00Z' } : undefined,
          updatedAt: '2025-01-01T00:00:00Z',
        } as SyncStatus)
      : null,
    assignment: opts.agent ? { agentId: opts.agent } : null,
    runningOn: opts.agent ?? null,
  };
  return { ...o, health: deriveHealth({ enabled: o.enabled, status: o.status as SyncStatus | null, assigned: o.assignment !== null }) };
}

describe('overview query', () => {
  const rows = [
    row('orders', { state: 'running', rows: 500, agent: 'a1' }),
    row('customers', { state: 'retrying', agent: 'a2', error: 'no such table: customers' }),
    row('archive', { enabled: false }),
    row('fresh'),
    row('late', { state: 'failed', agent: 'a1', error: 'no such table: late' }),
  ];

  it('lists problems first by default', () => {
    expect(queryOverview(rows, parse(new URLSearchParams())).items.map((r) => [r.id, r.health.health])).toEqual([
      ['late', 'failed'],
      ['customers', 'retrying'],
      ['fresh', 'unassigned'],
      ['orders', 'healthy'],
      ['archive', 'paused'],
    ]);
  });

  it('filters by health and by text over tables, agents and errors', () => {
    const q = parse(new URLSearchParams());
    expect(queryOverview(rows, { ...q, health: 'retrying' }).items.map((r) => r.id)).toEqual(['customers']);
    expect(queryOverview(rows, { ...q, health: 'unassigned' }).items.map((r) => r.id)).toEqual(['fresh']);
    expect(queryOverview(rows, { ...q, health: 'paused' }).items.map((r) => r.id)).toEqual(['archive']);
    expect(queryOverview(rows, { ...q, q: 'NO SUCH' }).items.map((r) => r.id)).toEqual(['late', 'customers']);
    expect(queryOverview(rows, { ...q, q: 'src_ord' }).items.map((r) => r.id)).toEqual(['orders']);
    expect(queryOverview(rows, { ...q, q: 'a2' }).items.map((r) => r.id)).toEqual(['customers']);
  });

  it('sorts by agent with the syncs on no agent last', () => {
    expect(queryOverview(rows, { ...parse(new URLSearchParams('sort=agent')) }).items.map((r) => r.id)).toEqual([
      'late',
      'orders',
      'customers',
      'archive',
      'fresh',
    ]);
  });

  it('sorts both ways and pages', () => {
    const q = parse(new URLSearchParams('sort=rows&dir=desc'));
    expect(queryOverview(rows, q).items[0]!.id).toBe('orders');
    const many = Array.from({ length: PAGE_SIZE + 5 }, (_, i) => row(`s${String(i).padStart(2, '0')}`));
    const second = queryOverview(many, { ...parse(new URLSearchParams('page=2')) });
    expect(second).toMatchObject({ total: PAGE_SIZE + 5, pages: 2, page: 2 });
    expect(second.items).toHaveLength(5);
    expect(queryOverview(many, { ...q, sort: 'name', dir: 'asc', page: 99 }).page).toBe(2);
  });

  it('counts by health among the rows the text matches, whatever the health filter', () => {
    const q = parse(new URLSearchParams('health=failed&q=no such'));
    expect(queryOverview(rows, q)).toMatchObject({ total: 1, counts: { all: 2, failed: 1, retrying: 1, healthy: 0 } });
  });

  it('summarises for the dashboard: counts, the enabled busiest with problems first, the newest errors', () => {
    const more = [...rows, row('newer', { state: 'retrying', agent: 'a2', error: 'timeout', at: '2025-02-01T00:00:00Z' })];
    const s = summariseOverview(more, 3, 2);
    expect(s.counts).toEqual({ all: 6, failed: 1, retrying: 2, unassigned: 1, lagging: 0, healthy: 1, paused: 1 });
    expect(s.busiest.map((r) => r.id)).toEqual(['late', 'customers', 'newer']);
    expect(s.recentErrors.map((r) => r.id)).toEqual(['newer', 'customers']);
  });

  it('reads defaults for missing values and for wrong ones (the API refuses those first, naming each)', () => {
    const read = (qs: string) => readOverviewQuery(new URLSearchParams(qs));
    expect(read('')).toEqual({ q: '', health: '', sort: 'health', dir: 'asc', page: 1, pageSize: PAGE_SIZE });
    expect(read('health=weird&sort=nope&dir=up&page=-3&pageSize=5000')).toEqual({
      q: '',
      health: '',
      sort: 'health',
      dir: 'asc',
      page: 1,
      pageSize: PAGE_SIZE,
    });
    expect(read('pageSize=200&page=3&dir=desc&sort=lag&health=lagging&q=x')).toEqual({
      q: 'x',
      health: 'lagging',
      sort: 'lag',
      dir: 'desc',
      page: 3,
      pageSize: 200,
    });
  });
});
