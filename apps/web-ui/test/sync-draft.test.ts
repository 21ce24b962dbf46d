import { describe, expect, it } from 'vitest';
import type { SyncConfig } from '@idra/api-client';
import { describeConnector } from '@idra/core';
import { CONNECTOR_SPECS } from '@idra/connectors';
import { configToDraft, draftToConfig, emptyDraft } from '../src/lib/sync-draft.ts';

/** The catalogue the API serves, built here from the same specs. */
const CATALOGUE = Object.values(CONNECTOR_SPECS).map(describeConnector);

describe('sync draft', () => {
  it('round-trips a sync through the form fields', () => {
    const sync: SyncConfig = {
      id: 'orders',
      name: 'Orders',
      enabled: false,
      source: { connector: 'postgres', dataSourceId: 'shop', schema: 'public', table: 'orders', columns: ['id', 'updated_at'] },
      destination: {
        connector: 'mysql',
        connection: { host: 'dw', port: 3306, user: 'idra', password: '********', database: 'dw', options: { poolSize: 2 } },
        table: 'orders',
      },
      mode: 'timestamp',
      cursorColumn: 'updated_at',
      tiebreakerColumn: 'id',
      keyColumns: ['id'],
      writeMode: 'upsert',
      batchSize: 5000,
      batchBytes: 1_048_576,
      parallelism: 4,
      pollIntervalMs: '5s',
      delayMs: 2000,
      watermark: 'delay-only',
      onError: 'skip',
      createTable: false,
    };
    expect(draftToConfig(configToDraft(sync), CATALOGUE)).toEqual(sync);
  });

  it('round-trips the schema-change and delete fields, each only in the modes it applies to', () => {
    const base = {
      id: 'o',
      source: { connector: 'postgres', dataSourceId: 'a', table: 't' },
      destination: { connector: 'postgres', dataSourceId: 'b', table: 't' },
    } as const;
    const soft: SyncConfig = {
      ...base,
      mode: 'timestamp',
      cursorColumn: 'updated_at',
      keyColumns: ['id'],
      schemaChanges: 'ignore',
      deletes: 'mark',
      softDeleteColumn: 'deleted_at',
      maxDeleteFraction: 0.2,
      reconcileEvery: '1h',
    };
    expect(draftToConfig(configToDraft(soft), CATALOGUE)).toEqual(soft);
    const mirror: SyncConfig = { ...base, mode: 'full', keyColumns: ['id'], schemaChanges: 'fail', deletes: 'mirror' };
    expect(draftToConfig(configToDraft(mirror), CATALOGUE)).toEqual(mirror);
    // A soft-delete column and a reconciliation period mean nothing in full mode: they are not sent.
    expect(draftToConfig({ ...configToDraft(soft), mode: 'full' }, CATALOGUE)).not.toHaveProperty('softDeleteColumn');
    // Nor in a mode that resumes from the destination, nor mirror outside full mode: the form hides those fields there.
    const elsewhere = draftToConfig({ ...configToDraft(soft), mode: 'destination-timestamp' }, CATALOGUE);
    for (const field of ['deletes', 'softDeleteColumn', 'reconcileEvery', 'maxDeleteFraction']) expect(elsewhere).not.toHaveProperty(field);
    expect(draftToConfig({ ...configToDraft(mirror), mode: 'id', cursorColumn: 'id' }, CATALOGUE)).not.toHaveProperty('deletes');
    // A share that is not a number goes as typed, for the server to name the field.
    expect(draftToConfig({ ...configToDraft(mirror), maxDeleteFraction: ' half ' }, CATALOGUE)).toMatchObject({ maxDeleteFraction: 'half' });
  });

  it('sends only what applies to the mode and connector, and bad values as typed', () => {
    const d = emptyDraft();
    d.id = ' s1 ';
    d.source = {
      ...d.source,
      connector: 'sqlite',
      via: 'connection',
      connection: { ...d.source.connection, file: '/tmp/a.db' },
      readFrom: 'query',
      query: 'select * from t',
      table: 'ignored',
    };
    d.destination = { ...d.destination, dataSourceId: 'dw', table: 't' };
    d.mode = 'id';
    d.tiebreakerColumn = 'ignored';
    d.delay = '5s';
    d.batchSize = '12x';
    expect(draftToConfig(d, CATALOGUE)).toEqual({
      id: 's1',
      source: { connector: 'sqlite', connection: { file: '/tmp/a.db' }, query: 'select * from t' },
      destination: { connector: 'postgres', dataSourceId: 'dw', table: 't' },
      mode: 'id',
      delayMs: '5s',
      batchSize: '12x',
    });
  });

  it('sends the parallelism for the modes that copy whole passes only', () => {
    const d = { ...emptyDraft(), id: 'p', parallelism: '4' };
    expect(draftToConfig({ ...d, mode: 'full' }, CATALOGUE).parallelism).toBe(4);
    expect(draftToConfig({ ...d, mode: 'id' }, CATALOGUE).parallelism).toBe(4);
    expect(draftToConfig({ ...d, mode: 'destination-id' }, CATALOGUE).parallelism).toBeUndefined();
    expect(draftToConfig({ ...d, mode: 'cdc' }, CATALOGUE).parallelism).toBeUndefined();
  });

  it('sends the delay and the delay-only consent for id and timestamp cursors only', () => {
    const d = { ...emptyDraft(), id: 'd', delay: '2s', delayOnly: true };
    expect(draftToConfig({ ...d, mode: 'id' }, CATALOGUE)).toMatchObject({ delayMs: '2s', watermark: 'delay-only' });
    const full = draftToConfig({ ...d, mode: 'full' }, CATALOGUE);
    expect([full.delayMs, full.watermark]).toEqual([undefined, undefined]);
  });

  it('sends the fields the catalogue says each connector reads, not what was typed for another connector', () => {
    const d = emptyDraft();
    d.id = 'k';
    d.mode = 'stream';
    d.source = { ...d.source, connector: 'kafka', dataSourceId: 'broker', table: 'typed for postgres', topic: 'orders', columns: 'id, amount' };
    d.destination = { ...d.destination, connector: 's3', dataSourceId: 'lake', table: 'x', bucket: 'b', prefix: 'orders/' };
    expect(draftToConfig(d, CATALOGUE)).toEqual({
      id: 'k',
      mode: 'stream',
      source: { connector: 'kafka', dataSourceId: 'broker', topic: 'orders', columns: ['id', 'amount'] },
      destination: { connector: 's3', dataSourceId: 'lake', bucket: 'b', prefix: 'orders/' },
    });
  });
});
