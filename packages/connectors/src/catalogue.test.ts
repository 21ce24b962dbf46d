import { execFileSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { CONNECTORS, connectorIssues, describeConnector, schemaDefects, validateSyncConfig, type ConfigError } from '@idra/core';
import { CONNECTOR_SPECS } from './catalogue.ts';

const endpoint = { connector: 'postgres', connection: { url: 'postgres://u@h/db' } } as const;

function issuesOf(sync: object): string[] {
  try {
    validateSyncConfig({ id: 's', mode: 'id', cursorColumn: 'id', ...sync }, '', 'invalid sync', CONNECTOR_SPECS);
    return [];
  } catch (err) {
    return (err as ConfigError).issues.map((i) => `${i.path}: ${i.message}`);
  }
}

describe('the connector catalogue', () => {
  it('has every connector kind, each playing both roles, with options a JSON client can read', () => {
    expect(Object.keys(CONNECTOR_SPECS).sort()).toEqual([...CONNECTORS].sort());
    for (const [kind, spec] of Object.entries(CONNECTOR_SPECS)) {
      expect(spec.kind).toBe(kind);
      const served = JSON.parse(JSON.stringify(describeConnector(spec)));
      expect(Object.keys(served.roles)).toEqual(['source', 'destination']);
      expect(served.roles.source.options).toMatchObject({ type: 'object', additionalProperties: false });
      // Validation does not check schemas against JSON Schema's meta-schema (a start would pay for it): this does.
      for (const role of ['source', 'destination'] as const)
        expect({ kind, role, defects: schemaDefects(spec[role]!.options) }).toEqual({ kind, role, defects: [] });
    }
  });

  it('refuses an unknown option on save, naming the field and what the connector knows', () => {
    expect(issuesOf({ source: { ...endpoint, table: 't', options: { fromBeginnig: true } }, destination: { ...endpoint, table: 't' } })).toEqual([
      'source.options.fromBeginnig: unknown option (the postgres source knows: connectTimeoutMs, idleInTransactionTimeoutMs, maxTransactionRows, poolSize, publication, slot, snapshot, snapshotParallelism, statementTimeoutMs, truncate)',
    ]);
    expect(
      issuesOf({
        source: { ...endpoint, table: 't' },
        destination: { connector: 'kafka', connection: { url: 'kafka://b:9092' }, topic: 't', options: { startFrom: 'latest' } },
      }),
    ).toEqual(['destination.options.startFrom: is a source option: the kafka destination does not use it']);
  });

  it('refuses on save a sync that deletes into a destination that cannot write its deletes, naming the option (S3 CSV without a header line)', () => {
    const s3 = (options: object) => ({ connector: 's3', connection: { url: 'http://h:9000' }, bucket: 'b', options: { format: 'csv', ...options } });
    const deleting = { mode: 'timestamp', cursorColumn: 'ts', keyColumns: ['id'], softDeleteColumn: 'deleted_at', source: { ...endpoint, table: 't' } };
    expect(issuesOf({ ...deleting, destination: s3({ header: false }) })).toEqual([
      'destination.options.header: CSV objects without a header line (header false) cannot hold deletes: set header to true, or write JSON Lines (this sync deletes rows: softDeleteColumn)',
    ]);
    expect(issuesOf({ ...deleting, destination: s3({}) })).toEqual([]);
    expect(issuesOf({ ...deleting, deletes: 'mark', destination: s3({ header: false }) })).toEqual([]);
  });

  it('asks a SQL source for a table or a query, a SQL destination for a table, and each other connector for what names its data', () => {
    const pg = { ...endpoint, table: 't' };
    expect(issuesOf({ source: endpoint, destination: pg })).toEqual(['source.table: is required (or give query)']);
    expect(issuesOf({ source: { ...pg, query: 'select 1' }, destination: pg })).toEqual(['source.query: give either table or query, not both']);
    expect(issuesOf({ source: pg, destination: { ...pg, query: 'select 1' } })).toEqual(['destination.query: is only allowed on a source']);
    const issues = connectorIssues(CONNECTOR_SPECS, {
      source: { connector: 'mongodb', connection: {}, topic: 't' },
      destination: { connector: 's3', connection: {}, table: 't' },
    });
    expect(issues.map((i) => `${i.path}: ${i.message}`)).toEqual([
      'source.topic: is not used by the mongodb source',
      'source.collection: is required for the mongodb source',
      'destination.table: is not used by the s3 destination',
      'destination.bucket: is required for the s3 destination',
    ]);
  });

  it('loads no driver until a connector is used (kafkajs, mongodb and the AWS SDK only with their connector)', () => {
    // A child process records every package it resolves: the catalogue and the registry must not reach a driver.
    const script = `
      import { registerHooks } from 'node:module';
      const seen = new Set();
      registerHooks({ resolve(specifier, context, next) { if (!specifier.startsWith('.') && !specifier.startsWith('node:') && !specifier.startsWith('file:')) seen.add(specifier); return next(specifier, context); } });
      const drivers = () => [...seen].filter((s) => /^(kafkajs|mongodb|@aws-sdk\\/client-s3|pg|mysql2|better-sqlite3|tedious)$/.test(s)).sort();
      const { CONNECTOR_SPECS, loadConnector } = await import(${JSON.stringify(new URL('./index.ts', import.meta.url).href)});
      const before = drivers();
      await loadConnector('kafka');
      console.log(JSON.stringify({ kinds: Object.keys(CONNECTOR_SPECS).length, before, after: drivers() }));`;
    const out = JSON.parse(execFileSync(process.execPath, ['--input-type=module', '-e', script], { encoding: 'utf8' }));
    expect(out).toEqual({ kinds: CONNECTORS.length, before: [], after: ['kafkajs'] });
  });
});
