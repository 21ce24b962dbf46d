import { describe, expect, it } from 'vitest';
import { normalizeSync } from '../model/sync.ts';
import type { SyncConfig } from '../model/schema.ts';
import { offsetScopeOf, scopeChanges } from './offset-scope.ts';

const config = (extra: Partial<SyncConfig> = {}, source: Partial<SyncConfig['source']> = {}): SyncConfig => ({
  id: 's',
  source: { connector: 'postgres', connection: { url: 'postgres://idra:Secret-1@db.internal:5432/shop' }, table: 'orders', ...source },
  destination: { connector: 'postgres', connection: { host: 'dw' }, table: 'orders' },
  mode: 'timestamp',
  cursorColumn: 'updated_at',
  keyColumns: ['id'],
  ...extra,
});
const scope = (extra: Partial<SyncConfig> = {}, source: Partial<SyncConfig['source']> = {}) => offsetScopeOf(normalizeSync(config(extra, source)));

describe('offset scope', () => {
  it('names the source without credentials and records cursor, tiebreaker and mode', () => {
    const s = scope();
    expect(s).toMatchObject({ mode: 'timestamp', source: 'postgres db.internal:5432/shop table orders', cursorColumn: 'updated_at', tiebreakerColumn: 'id' });
    expect(JSON.stringify(s)).not.toContain('Secret-1');
    expect(scope({ mode: 'full' })).toMatchObject({ mode: 'full', keyColumns: ['id'] });
  });

  it('changes with the table, the query text, the server, the cursor, the tiebreaker, the key (full) and the mode — not with the password or the batch size', () => {
    const base = scope();
    expect(scopeChanges(base, scope({ batchSize: 7 }, { connection: { url: 'postgres://idra:Other-2@db.internal:5432/shop' } }))).toEqual([]);
    expect(scopeChanges(base, scope({}, { table: 'orders_v2' }))).toEqual([
      { field: 'source', old: 'postgres db.internal:5432/shop table orders', new: 'postgres db.internal:5432/shop table orders_v2' },
    ]);
    expect(scopeChanges(base, scope({}, { connection: { url: 'postgres://idra:x@replica:5432/shop' } })).map((c) => c.field)).toEqual(['source']);
    const query = (q: string) => scope({}, { table: undefined, query: q });
    expect(scopeChanges(query('select * from a'), query('select  *\n from a'))).toEqual([]);
    expect(scopeChanges(query('select * from a'), query('select * from a where x'))).toHaveLength(1);
    expect(scopeChanges(base, scope({ cursorColumn: 'changed_at' }))).toEqual([{ field: 'cursorColumn', old: 'updated_at', new: 'changed_at' }]);
    expect(scopeChanges(base, scope({ tiebreakerColumn: 'uuid' }))).toEqual([{ field: 'tiebreakerColumn', old: 'id', new: 'uuid' }]);
    expect(scopeChanges(base, scope({ mode: 'id', cursorColumn: 'updated_at' })).map((c) => c.field)).toEqual(['mode', 'tiebreakerColumn']);
    expect(scopeChanges(scope({ mode: 'full' }), scope({ mode: 'full', keyColumns: ['id', 'line'] }))).toEqual([
      { field: 'keyColumns', old: 'id', new: 'id, line' },
    ]);
  });
});
