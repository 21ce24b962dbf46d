import { describe, expect, it } from 'vitest';
import { bulkSyncId, detectColumns, planBulkSyncs, reviseSync, type ListedTable } from './bulk-plan.ts';

const orders: ListedTable = {
  name: 'orders',
  columns: [
    { name: 'id', type: 'bigint', primaryKey: true },
    { name: 'updated_at', type: 'timestamp with time zone', primaryKey: false },
  ],
};
const log: ListedTable = { name: 'audit log', columns: [{ name: 'message', type: 'text', primaryKey: false }] };

describe('bulk planning', () => {
  it('detects key and cursor columns per mode, and says what it could not find', () => {
    expect(detectColumns(orders, 'id')).toEqual({ keyColumns: ['id'], cursorColumn: 'id', problem: undefined });
    expect(detectColumns(orders, 'timestamp')).toEqual({ keyColumns: ['id'], cursorColumn: 'updated_at', problem: undefined });
    expect(detectColumns(log, 'timestamp').problem).toMatch(/no updated_at-like timestamp column.*no single-column primary key/);
    expect(detectColumns(log, 'full').problem).toMatch(/no primary key/);
  });

  it('plans one sync per table with predictable ids and the shared settings', () => {
    const plan = planBulkSyncs([orders, log], {
      idPrefix: 'shop-',
      sourceDataSourceId: 'shop',
      sourceConnector: 'postgres',
      destinationDataSourceId: 'dw',
      destinationConnector: 'postgres',
      tablePrefix: 'raw_',
      mode: 'id',
      writeMode: 'upsert',
      enabled: false,
    });
    expect(plan.map((p) => p.config.id)).toEqual(['shop-orders', 'shop-audit_log']);
    expect(plan[0]!.config).toEqual({
      id: 'shop-orders',
      name: 'orders',
      enabled: false,
      source: { connector: 'postgres', dataSourceId: 'shop', table: 'orders' },
      destination: { connector: 'postgres', dataSourceId: 'dw', table: 'raw_orders' },
      mode: 'id',
      cursorColumn: 'id',
      keyColumns: ['id'],
      writeMode: 'upsert',
    });
    expect(bulkSyncId('', '_tmp')).toBe('t_tmp');
  });

  it("takes a reviewer's changes per table: mode (columns detected again), key and cursor columns, destination table", () => {
    const settings = {
      idPrefix: '',
      sourceDataSourceId: 'shop',
      sourceConnector: 'postgres',
      destinationDataSourceId: 'dw',
      destinationConnector: 'postgres',
      mode: 'id',
      enabled: true,
    } as const;
    const [planned, keyless] = planBulkSyncs([orders, log], settings);
    expect(reviseSync(planned!, orders, {})).toEqual(planned);
    const timestamp = reviseSync(planned!, orders, { mode: 'timestamp', destinationTable: 'orders_v2' });
    expect(timestamp.config).toMatchObject({ mode: 'timestamp', cursorColumn: 'updated_at', keyColumns: ['id'], destination: { table: 'orders_v2' } });
    const full = reviseSync(planned!, orders, { mode: 'full' });
    expect(full.config.cursorColumn).toBeUndefined();
    expect(full.detected.problem).toBeUndefined();
    // What detection could not find, the reviewer gives; what they leave out is still asked for.
    expect(keyless!.detected.problem).toMatch(/give the cursor column/);
    const given = reviseSync(keyless!, log, { cursorColumn: 'message' });
    expect(given.config.cursorColumn).toBe('message');
    expect(given.detected.problem).toBeUndefined();
    expect(reviseSync(keyless!, log, { mode: 'full', keyColumns: [] }).detected.problem).toBe('give the key columns');
  });
});
