import { describe, expect, it } from 'vitest';
import { createElement } from 'react';
import { renderToStaticMarkup } from 'react-dom/server';
import type { SyncConfig, SyncStatus } from '@idra/api-client';
import { FaithfulCopyFacts, faithfulCopyConfig } from './FaithfulCopyFacts.tsx';

const status = (extra: Partial<SyncStatus>): SyncStatus =>
  ({ syncId: 's1', agentId: 'a1', state: 'idle', rowsCopied: 10, rowsSkipped: 0, batches: 2, updatedAt: '2026-01-01T00:00:00.000Z', ...extra }) as SyncStatus;
const render = (s: SyncStatus) => renderToStaticMarkup(createElement(FaithfulCopyFacts, { status: s }));

describe('FaithfulCopyFacts', () => {
  it('shows nothing for a sync that never deleted, compared or met a schema change', () => {
    expect(render(status({ rowsDeleted: 0 }))).toBe('');
  });

  it("shows the total deleted, a refused comparison's reason, and the changes newest first", () => {
    const html = render(
      status({
        rowsDeleted: 2,
        totals: { rowsCopied: 5000, rowsSkipped: 0, batches: 9, since: '2026-01-01T00:00:00.000Z', rowsDeleted: 1234 },
        reconciliation: {
          at: '2026-01-02T00:00:00.000Z',
          kind: 'mirror',
          sourceKeys: 0,
          destinationKeys: 100,
          deleted: 0,
          missing: 0,
          durationMs: 3,
          refused: 'the mirror pass would delete 100 of the destination rows',
        },
        schemaChanges: [
          { at: '2026-01-01T01:00:00.000Z', batch: 4, outcome: 'applied', changes: ['column email added (text)'] },
          { at: '2026-01-01T02:00:00.000Z', batch: 7, outcome: 'refused', changes: ['column qty changed from bigint to integer: refused'] },
        ],
      }),
    );
    expect(html).toContain('<dt>Rows deleted</dt><dd>1,234</dd>');
    expect(html).toMatch(/Last mirror pass<\/dt><dd>.*refused — the mirror pass would delete 100 of the destination rows/);
    expect(html.indexOf('column qty changed')).toBeLessThan(html.indexOf('column email added'));
    expect(html).toContain('<td data-label="Outcome" class="error-text">refused</td>');
  });
});

describe('faithfulCopyConfig', () => {
  const base = { id: 's', source: { connector: 'postgres', table: 't' }, destination: { connector: 'postgres', table: 't' } } as const;
  const facts = (s: Partial<SyncConfig>) => Object.fromEntries(faithfulCopyConfig({ ...base, mode: 'id', ...s } as SyncConfig));

  it('says in words what each policy does', () => {
    expect(facts({})).toEqual({ 'Schema changes': 'evolve: the destination follows', 'Source deletes': 'stay in the destination' });
    expect(facts({ mode: 'full', schemaChanges: 'fail', deletes: 'mirror', maxDeleteFraction: 0.25 })).toEqual({
      'Schema changes': 'fail: the sync stops',
      'Source deletes': 'mirrored after each complete pass, at most 25% of the rows at once',
    });
    expect(facts({ schemaChanges: 'ignore', deletes: 'mark', softDeleteColumn: 'is_deleted', reconcileEvery: 3_600_000 })).toEqual({
      'Schema changes': 'ignore: only its own columns are copied',
      'Source deletes': 'copied with their mark when is_deleted is set',
      'Key comparison': 'every 3600000 ms, at most 50% of the rows at once',
    });
    expect(facts({ mode: 'cdc' })['Source deletes']).toBe('deleted, from the change log');
  });
});
