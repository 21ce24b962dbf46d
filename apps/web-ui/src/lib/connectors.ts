import type { ConnectorKind, SyncMode } from '@idra/core';

/** What the UI offers; the compile-time check below fails when core adds a connector or a mode. */
export const CONNECTOR_KINDS = ['postgres', 'mysql', 'sqlite', 'mssql', 'mongodb', 'kafka', 's3', 'http'] as const;
export const SYNC_MODES = ['id', 'timestamp', 'destination-id', 'destination-timestamp', 'full', 'stream'] as const;
type Unlisted = [Exclude<ConnectorKind, (typeof CONNECTOR_KINDS)[number]>, Exclude<SyncMode, (typeof SYNC_MODES)[number]>];
export const ALL_LISTED: Unlisted extends [never, never] ? true : never = true;

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

export const SQL_KINDS: ReadonlySet<ConnectorKind> = new Set(['postgres', 'mysql', 'sqlite', 'mssql']);

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

export const MODE_HELP: Record<SyncMode, { label: string; help: string }> = {
  id: { label: 'Increasing id', help: 'Follows an increasing integer column and stores the last value copied. New rows only.' },
  timestamp: { label: 'Timestamp', help: 'Follows a last-modified timestamp (with a unique tiebreaker column) and stores both: copies new and changed rows.' },
  'destination-id': { label: 'Destination id', help: 'Resumes from the largest id already in the destination; stores no offset (original Go Idra LastDestinationId).' },
  'destination-timestamp': { label: 'Destination timestamp', help: 'Resumes from the newest timestamp already in the destination; stores no offset.' },
  full: { label: 'Full copy', help: 'Copies every row on each pass, paged by the key columns. Use with upsert.' },
  stream: { label: 'Change stream', help: 'Follows a change stream (MongoDB, Kafka); not available on SQL sources.' },
};

export const CURSOR_MODES: ReadonlySet<SyncMode> = new Set(['id', 'timestamp', 'destination-id', 'destination-timestamp']);
export const TIMESTAMP_MODES: ReadonlySet<SyncMode> = new Set(['timestamp', 'destination-timestamp']);
