import { describe, expect, it } from 'vitest';
import { ConfigError } from '../errors.ts';
import { normalizeSync, parseConfigFile, validateSyncConfig } from './sync.ts';

const base = {
  id: 'orders',
  source: { connector: 'postgres', connection: { url: 'postgres://u@h/db' }, table: 'orders' },
  destination: { connector: 'mysql', connection: { url: 'mysql://u@h/db' }, table: 'orders' },
  mode: 'id',
  cursorColumn: 'id',
};

function issuesOf(input: unknown): string[] {
  try {
    validateSyncConfig(input);
  } catch (err) {
    expect(err).toBeInstanceOf(ConfigError);
    return (err as ConfigError).issues.map((i) => `${i.path}: ${i.message}`);
  }
  return [];
}

describe('sync validation', () => {
  it('accepts a minimal sync and fills the defaults', () => {
    const sync = normalizeSync(validateSyncConfig(base));
    expect(sync).toMatchObject({
      enabled: true,
      batchSize: 50_000,
      pollIntervalMs: 5000,
      delayMs: 0,
      watermark: 'transactions',
      onError: 'stop',
      writeMode: 'insert',
      keyColumns: [],
    });
  });

  it('takes watermark "delay-only" as the consent to read with the delay alone, and names a wrong value', () => {
    expect(normalizeSync(validateSyncConfig({ ...base, watermark: 'delay-only' })).watermark).toBe('delay-only');
    expect(issuesOf({ ...base, watermark: 'none' })).toEqual(['watermark: must be one of "transactions", "delay-only"']);
  });

  it('turns duration strings into milliseconds', () => {
    const sync = normalizeSync(validateSyncConfig({ ...base, pollIntervalMs: '1.5s', delayMs: '2m' }));
    expect(sync.pollIntervalMs).toBe(1500);
    expect(sync.delayMs).toBe(120_000);
  });

  it('names the field of a wrong type', () => {
    expect(issuesOf({ ...base, batchSize: 'many' })).toEqual(['batchSize: must be integer']);
  });

  it('names a nested missing field', () => {
    expect(issuesOf({ ...base, source: { connector: 'postgres', table: 'orders' } })).toEqual(['source.connection: is required (or give dataSourceId)']);
  });

  it('names an unknown field instead of ignoring it', () => {
    expect(issuesOf({ ...base, destination: { ...base.destination, tabel: 'x' } })).toEqual(['destination.tabel: is not a known field']);
  });

  it('lists the allowed values of an enum', () => {
    expect(issuesOf({ ...base, mode: 'IdFeld' })).toEqual([
      'mode: must be one of "id", "timestamp", "destination-id", "destination-timestamp", "full", "stream", "cdc"',
    ]);
  });

  it('rejects a bad duration with a hint', () => {
    expect(issuesOf({ ...base, pollIntervalMs: 'soon' })[0]).toMatch(/^pollIntervalMs: invalid value/);
  });

  it('requires a cursor column for cursor modes and a tiebreaker for timestamp mode', () => {
    expect(issuesOf({ ...base, cursorColumn: undefined })).toEqual(["cursorColumn: is required when mode is 'id'"]);
    expect(issuesOf({ ...base, mode: 'timestamp', cursorColumn: 'updated_at' })).toEqual([
      "tiebreakerColumn: is required when mode is 'timestamp' (or give exactly one keyColumns entry)",
    ]);
    const sync = normalizeSync(validateSyncConfig({ ...base, mode: 'timestamp', cursorColumn: 'updated_at', keyColumns: ['id'] }));
    expect(sync.tiebreakerColumn).toBe('id');
  });

  it('requires key columns for upsert and full mode', () => {
    expect(issuesOf({ ...base, writeMode: 'upsert' })).toEqual(["keyColumns: is required when writeMode is 'upsert'"]);
    expect(issuesOf({ ...base, mode: 'full', cursorColumn: undefined })).toEqual(["keyColumns: is required when mode is 'full'"]);
  });

  it('takes parallelism 1 to 16 for the modes that copy whole passes, and names it elsewhere', () => {
    expect(normalizeSync(validateSyncConfig(base)).parallelism).toBe(1);
    expect(normalizeSync(validateSyncConfig({ ...base, parallelism: 4 })).parallelism).toBe(4);
    expect(issuesOf({ ...base, parallelism: 17 })).toEqual([expect.stringMatching(/^parallelism: .*16/)]);
    expect(issuesOf({ ...base, mode: 'destination-id', parallelism: 2 })).toEqual([
      "parallelism: applies to modes 'full', 'id' and 'timestamp' (mode is 'destination-id')",
    ]);
    expect(issuesOf({ ...base, mode: 'cdc', keyColumns: ['id'], writeMode: 'upsert', parallelism: 2 })).toEqual([
      "parallelism: applies to modes 'full', 'id' and 'timestamp' (mode is 'cdc'; its initial copy runs in parallel by source.options.snapshotParallelism)",
    ]);
  });

  it('rejects a connection URL that is not a URL and a SQLite endpoint without a file', () => {
    expect(issuesOf({ ...base, source: { ...base.source, connection: { url: 'not a url' } } })).toEqual(['source.connection.url: is not a valid URL']);
    expect(issuesOf({ ...base, source: { connector: 'sqlite', connection: {}, table: 't' } })).toEqual(['source.connection.file: is required for sqlite']);
  });

  it('resolves data sources in a config file and names the sync at fault', () => {
    const { syncs } = parseConfigFile({
      dataSources: [{ id: 'pg', connector: 'postgres', connection: { url: 'postgres://u@h/db' } }],
      syncs: [{ ...base, source: { connector: 'postgres', dataSourceId: 'pg', table: 'orders' } }],
    });
    expect(syncs[0]!.source.connection.url).toBe('postgres://u@h/db');
    expect(() => parseConfigFile({ syncs: [base, { ...base, source: { connector: 'postgres', dataSourceId: 'nope', table: 't' } }] })).toThrow(
      "syncs[1].source.dataSourceId: unknown data source 'nope'",
    );
    expect(() => parseConfigFile({ syncs: [base, base] })).toThrow("syncs[1].id: duplicate id 'orders'");
    expect(() => parseConfigFile({ syncs: [{ ...base, batchSize: -1 }] })).toThrow('syncs[0].batchSize: must be >= 1');
  });
});
