import { describe, expect, it } from 'vitest';
import type { SyncOverview, SyncStatus } from '@idra/api-client';
import { applyTableQuery, parseTableQuery, PAGE_SIZE } from './sync-table.ts';
import { healthOf } from './sync-state.ts';

function row(id: string, opts: { enabled?: boolean; state?: SyncStatus['state']; rows?: number; agent?: string; error?: string } = {}): SyncOverview {
  const o: Omit<SyncOverview, 'health'> = {
    id,
    name: id,
    enabled: opts.enabled ?? true,
    mode: 'id',
    source: { connector: 'postgres', table: `src_${id}` },
    destination: { connector: 'sqlite', table: id },
    status: opts.state
      ? ({
          syncId: id,
          agentId: opts.agent ?? 'a1',
          state: opts.state,
          rowsCopied: opts.rows ?? 0,
          lastError: opts.error ? { message: opts.error, code: 'X', at: '2025-01-01T00:00:00Z' } : undefined,
          updatedAt: '2025-01-01T00:00:00Z',
        } as SyncStatus)
      : null,
    assignment: opts.agent ? { syncId: id, agentId: opts.agent, epoch: 1 } : null,
    runningOn: opts.agent ?? null,
    deadLetters: 0,
  };
  return { ...o, health: healthOf(o, o.status) };
}

describe('sync table', () => {
  const rows = [
    row('orders', { state: 'running', rows: 500, agent: 'a1' }),
    row('customers', { state: 'retrying', agent: 'a2', error: 'no such table: customers' }),
    row('archive', { enabled: false }),
    row('fresh'),
    row('late', { state: 'failed', agent: 'a1', error: 'no such table: late' }),
  ];

  it('lists problems first by default', () => {
    expect(applyTableQuery(rows, parseTableQuery(new URLSearchParams())).page.map((r) => [r.id, r.health.health])).toEqual([
      ['late', 'failed'],
      ['customers', 'retrying'],
      ['fresh', 'unassigned'],
      ['orders', 'healthy'],
      ['archive', 'paused'],
    ]);
  });

  it('filters by health and by text over tables, agents and errors', () => {
    const q = parseTableQuery(new URLSearchParams());
    expect(applyTableQuery(rows, { ...q, health: 'retrying' }).page.map((r) => r.id)).toEqual(['customers']);
    expect(applyTableQuery(rows, { ...q, health: 'unassigned' }).page.map((r) => r.id)).toEqual(['fresh']);
    expect(applyTableQuery(rows, { ...q, health: 'paused' }).page.map((r) => r.id)).toEqual(['archive']);
    expect(applyTableQuery(rows, { ...q, q: 'NO SUCH' }).page.map((r) => r.id)).toEqual(['late', 'customers']);
    expect(applyTableQuery(rows, { ...q, q: 'src_ord' }).page.map((r) => r.id)).toEqual(['orders']);
    expect(applyTableQuery(rows, { ...q, q: 'a2' }).page.map((r) => r.id)).toEqual(['customers']);
  });

  it('sorts both ways and pages', () => {
    const q = parseTableQuery(new URLSearchParams('sort=rows&dir=desc'));
    expect(applyTableQuery(rows, q).page[0]!.id).toBe('orders');
    const many = Array.from({ length: PAGE_SIZE + 5 }, (_, i) => row(`s${String(i).padStart(2, '0')}`));
    const second = applyTableQuery(many, { ...parseTableQuery(new URLSearchParams('page=2')) });
    expect(second).toMatchObject({ total: PAGE_SIZE + 5, pages: 2, pageIndex: 2 });
    expect(second.page).toHaveLength(5);
    expect(applyTableQuery(many, { ...q, sort: 'name', dir: 'asc', page: 99 }).pageIndex).toBe(2);
  });

  it('ignores unknown URL values', () => {
    expect(parseTableQuery(new URLSearchParams('health=weird&sort=nope&page=-3'))).toEqual({ q: '', health: '', sort: 'health', dir: 'asc', page: 1 });
  });
});
