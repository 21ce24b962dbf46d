import type { ConnectorKind } from '@idra/core/model';

export const CONNECTOR_LABELS: Record<ConnectorKind, string> = {
  postgres: 'PostgreSQL',
  mysql: 'MySQL / MariaDB',
  sqlite: 'SQLite',
  mssql: 'SQL Server',
  mongodb: 'MongoDB',
  kafka: 'Kafka',
  s3: 'S3 (objects)',
  http: 'HTTP',
};

/** What names the data inside a connector's server: a table, a collection, a topic … */
export function objectFieldsOf(connector: ConnectorKind): Array<'table' | 'collection' | 'topic' | 'bucket' | 'prefix' | 'url'> {
  switch (connector) {
    case 'mongodb':
      return ['collection'];
    case 'kafka':
      return ['topic'];
    case 's3':
      return ['bucket', 'prefix'];
    case 'http':
      return ['url'];
    default:
      return ['table'];
  }
}
