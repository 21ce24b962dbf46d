import { expect } from 'vitest';
import { importGoIdra, normalizeSync, validateSyncConfig, type GoSyncReport, type Position, type Sync } from '@idra/core';
import { CONNECTOR_SPECS } from '../catalogue.ts';
import type { TestDb } from './fixtures.ts';

/** A Go Idra document imported as the API and single mode import it: converted, then checked against the connectors' contracts. */
export function importedGoSync(doc: Record<string, unknown>): { sync: Sync; report: GoSyncReport; seed: Position | undefined } {
  const [imported] = importGoIdra([doc]);
  const refused = imported!.report.fields.filter((f) => f.outcome === 'refused');
  expect(refused, JSON.stringify(refused)).toEqual([]);
  const config = validateSyncConfig(imported!.config, '', 'the imported sync is invalid', CONNECTOR_SPECS);
  return { sync: normalizeSync(config), report: imported!.report, seed: imported!.seed };
}

/** `host=… port=… user=… dbname=… sslmode=disable`: Go Idra's PostgresGORM connection string for a test database. */
export function goPostgresDsn(db: TestDb): string {
  const u = new URL(db.connection.url!);
  return `host=${u.hostname} port=${u.port} user=${decodeURIComponent(u.username)}${u.password ? ` password='${decodeURIComponent(u.password)}'` : ''} dbname=${u.pathname.slice(1)} sslmode=disable TimeZone=Europe/Rome`;
}

/** `user:password@tcp(host:port)/db?params`: Go Idra's MysqlGORM connection string for a test database. */
export function goMysqlDsn(db: TestDb, params = 'charset=utf8mb4&parseTime=True&loc=Local'): string {
  const u = new URL(db.connection.url!);
  return `${decodeURIComponent(u.username)}${u.password ? `:${decodeURIComponent(u.password)}` : ''}@tcp(${u.hostname}:${u.port})${u.pathname}?${params}`;
}
