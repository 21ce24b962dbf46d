import { describe, expect, it } from 'vitest';
import { ConfigError } from '../errors.ts';
import { convertGoConnection, importGoIdra, isGoIdraFormat } from './go-import.ts';

const goSync = {
  id: '28955df5-3f4a-48f5-b60e-cf898d01cbe6',
  sync_name: 'Sincro_postgres_mysql',
  source_connector: {
    connector_source_type: 'PostgresGORM',
    connection_string: "host=localhost user=postgres password='se cret' dbname=school port=5432 sslmode=disable TimeZone=Europe/Rome",
    table: 'bimbi',
    polling_time: 60,
    timestamp_field: 'ts',
    max_record_batch_size: 50000,
    save_mode: 'Insert',
    start_offset: 0,
  },
  destination_connector: {
    connector_source_type: 'MysqlGORM',
    connection_string: 'root:pw@tcp(127.0.0.1:3306)/school?charset=utf8mb4&parseTime=True&loc=Local',
    database: 'school',
    table: 'bimbi',
    save_mode: 'Upsert',
  },
  mode: 'LastDestinationTimestamp',
  disabled: false,
};

describe('Go Idra import', () => {
  it('recognizes the format', () => {
    expect(isGoIdraFormat([goSync])).toBe(true);
    expect(isGoIdraFormat({ syncs: [] })).toBe(false);
  });

  it('converts a Go sync with GORM connection strings', () => {
    const [imported] = importGoIdra([goSync]);
    const c = imported!.config;
    expect(c).toMatchObject({
      id: '28955df5-3f4a-48f5-b60e-cf898d01cbe6',
      name: 'Sincro_postgres_mysql',
      enabled: true,
      mode: 'destination-timestamp',
      cursorColumn: 'ts',
      tiebreakerColumn: 'id',
      writeMode: 'upsert',
      batchSize: 50000,
      pollIntervalMs: 60000,
    });
    expect(c.source.connection).toEqual({ host: 'localhost', port: 5432, user: 'postgres', password: 'se cret', database: 'school' });
    expect(c.destination.connection).toEqual({ host: '127.0.0.1', port: 3306, user: 'root', password: 'pw', database: 'school' });
  });

  it('maps every Go mode', () => {
    const modes = { IdField: 'id', Timestamp: 'timestamp', LastDestinationId: 'destination-id', LastDestinationTimestamp: 'destination-timestamp', FullWithId: 'full' };
    for (const [go, idra] of Object.entries(modes)) {
      expect(importGoIdra({ ...goSync, mode: go })[0]!.config.mode).toBe(idra);
    }
  });

  it('keeps a start offset', () => {
    const [imported] = importGoIdra({ ...goSync, mode: 'IdField', source_connector: { ...goSync.source_connector, start_offset: 1200 } });
    expect(imported!.startOffset).toBe('1200');
  });

  it('names the Go field at fault', () => {
    try {
      importGoIdra([goSync, { ...goSync, mode: 'Sometimes', source_connector: { ...goSync.source_connector, connector_source_type: 'Oracle' } }]);
      expect.unreachable();
    } catch (err) {
      expect(err).toBeInstanceOf(ConfigError);
      expect((err as ConfigError).issues.map((i) => i.path)).toEqual(['[1].mode', '[1].source_connector.connector_source_type']);
    }
  });

  it('converts SQL Server and SQLite connection strings', () => {
    expect(convertGoConnection('mssql', 'sqlserver://sa:pw@db:1433?database=x', undefined)).toEqual({ url: 'mssql://sa:pw@db:1433?database=x' });
    expect(convertGoConnection('sqlite', 'file:/data/x.db?cache=shared', undefined)).toEqual({ file: '/data/x.db' });
  });
});
