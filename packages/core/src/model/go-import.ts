import { ConfigError, type ConfigIssue } from '../errors.ts';
import type { Connection, ConnectorKind, SyncConfig, SyncMode, Endpoint } from './schema.ts';
import { validateSyncConfig } from './sync.ts';

/** One connector of a sync exported by the original Go Idra (`source_connector` / `destination_connector`). */
export interface GoIdraConnector {
  id?: string;
  connector_name?: string;
  connector_source_type?: string;
  connection_string?: string;
  database?: string;
  query?: string;
  table?: string;
  polling_time?: number;
  timestamp_field?: string;
  timestamp_field_format?: string;
  id_field?: string;
  max_record_batch_size?: number;
  save_mode?: string;
  start_offset?: number;
  token?: string;
  attributes?: Record<string, unknown>;
}

/** A sync exported by the original Go Idra. */
export interface GoIdraSync {
  id?: string;
  sync_name?: string;
  mode?: string;
  disabled?: boolean;
  source_connector?: GoIdraConnector;
  destination_connector?: GoIdraConnector;
}

/** A converted sync, plus the Go sync's `start_offset` when it set one (to seed the offset store). */
export interface ImportedSync {
  config: SyncConfig;
  startOffset: string | undefined;
}

const CONNECTOR_TYPES: Record<string, ConnectorKind> = {
  postgresgorm: 'postgres',
  postgres: 'postgres',
  mysqlgorm: 'mysql',
  mysql: 'mysql',
  mssqlgorm: 'mssql',
  mssql: 'mssql',
  sqlitegorm: 'sqlite',
  sqlite: 'sqlite',
  kafkaconnector: 'kafka',
  mongodbmanager: 'mongodb',
  s3: 's3',
  http: 'http',
  api: 'http',
};

const MODES: Record<string, SyncMode> = {
  idfield: 'id',
  timestamp: 'timestamp',
  lastdestinationid: 'destination-id',
  lastdestinationtimestamp: 'destination-timestamp',
  fullwithid: 'full',
};

/** True when the document looks like the Go Idra export format rather than Idra's own. */
export function isGoIdraFormat(doc: unknown): boolean {
  const first = Array.isArray(doc) ? doc[0] : doc;
  return typeof first === 'object' && first !== null && ('sync_name' in first || 'source_connector' in first);
}

/** `host=h port=5432 user=u password='p w' dbname=d` → its fields. */
function parseKeywordDsn(dsn: string): Record<string, string> {
  const out: Record<string, string> = {};
  const re = /(\w+)\s*=\s*(?:'((?:[^'\\]|\\.)*)'|(\S*))/g;
  for (const m of dsn.matchAll(re)) out[m[1]!.toLowerCase()] = m[2] !== undefined ? m[2].replace(/\\(.)/g, '$1') : (m[3] ?? '');
  return out;
}

/** Converts a Go driver connection string (GORM DSN) into an Idra connection. */
export function convertGoConnection(kind: ConnectorKind, dsn: string, database: string | undefined): Connection {
  const text = dsn.trim();
  if (kind === 'sqlite') return { file: text.replace(/^file:/, '').replace(/\?.*$/, '') };
  if (kind === 'postgres' && !/^postgres(ql)?:\/\//i.test(text)) {
    const kv = parseKeywordDsn(text);
    const c: Connection = {};
    if (kv.host) c.host = kv.host;
    if (kv.port) c.port = Number(kv.port);
    if (kv.user) c.user = kv.user;
    if (kv.password) c.password = kv.password;
    const db = kv.dbname ?? database;
    if (db) c.database = db;
    if (kv.sslmode && kv.sslmode !== 'disable') c.ssl = true;
    return c;
  }
  if (kind === 'mysql' && !/^mysql:\/\//i.test(text)) {
    // user:password@tcp(host:port)/dbname?params
    const m = /^(?:([^:@]*)(?::(.*))?@)?(?:tcp\(([^)]*)\))?\/([^?]*)/.exec(text);
    if (m) {
      const c: Connection = {};
      if (m[1]) c.user = m[1];
      if (m[2]) c.password = m[2];
      const [host, port] = (m[3] ?? '127.0.0.1:3306').split(':');
      c.host = host || '127.0.0.1';
      if (port) c.port = Number(port);
      const db = m[4] || database;
      if (db) c.database = db;
      return c;
    }
  }
  if (kind === 'mssql') return { url: text.replace(/^sqlserver:/i, 'mssql:') };
  return { url: text };
}

function convertEndpoint(c: GoIdraConnector, role: 'source' | 'destination', path: string, issues: ConfigIssue[]): Endpoint | undefined {
  const type = (c.connector_source_type ?? '').toLowerCase();
  const connector = CONNECTOR_TYPES[type];
  if (!connector) {
    issues.push({ path: `${path}.connector_source_type`, message: `unknown connector type '${c.connector_source_type ?? ''}'` });
    return undefined;
  }
  if (!c.connection_string) {
    issues.push({ path: `${path}.connection_string`, message: 'is required' });
    return undefined;
  }
  const ep: Endpoint = { connector, connection: convertGoConnection(connector, c.connection_string, c.database || undefined) };
  if (c.query && role === 'source') ep.query = c.query;
  else if (c.table) ep.table = c.table;
  if (connector === 'kafka' && c.table) ep.topic = c.table;
  if (connector === 'mongodb' && c.table) ep.collection = c.table;
  if (c.attributes && Object.keys(c.attributes).length > 0) ep.options = { ...c.attributes };
  return ep;
}

const slug = (s: string) => s.replace(/[^A-Za-z0-9_.-]+/g, '-').replace(/^[^A-Za-z0-9]+/, '').slice(0, 128);

/** Converts one Go Idra sync into an Idra sync; throws a ConfigError naming the Go field at fault. */
export function importGoIdraSync(doc: GoIdraSync, path = ''): ImportedSync {
  const issues: ConfigIssue[] = [];
  const at = (f: string) => (path ? `${path}.${f}` : f);
  const mode = MODES[(doc.mode ?? '').toLowerCase()];
  if (!mode) issues.push({ path: at('mode'), message: `must be one of IdField, Timestamp, LastDestinationId, LastDestinationTimestamp, FullWithId` });
  const src = doc.source_connector;
  const dst = doc.destination_connector;
  if (!src) issues.push({ path: at('source_connector'), message: 'is required' });
  if (!dst) issues.push({ path: at('destination_connector'), message: 'is required' });
  const source = src && convertEndpoint(src, 'source', at('source_connector'), issues);
  const destination = dst && convertEndpoint(dst, 'destination', at('destination_connector'), issues);
  const id = slug(doc.id || doc.sync_name || '');
  if (!id) issues.push({ path: at('sync_name'), message: 'is required (or give id)' });
  if (issues.length > 0 || !mode || !source || !destination || !src || !dst) throw new ConfigError(issues, 'cannot import Go Idra sync');

  const idField = (src.id_field || (src.attributes?.id_field as string | undefined) || 'id').trim();
  const config: SyncConfig = {
    id,
    name: doc.sync_name || id,
    enabled: !doc.disabled,
    source,
    destination,
    mode,
    keyColumns: [idField],
    writeMode: (dst.save_mode || src.save_mode || 'Insert').toLowerCase() === 'upsert' ? 'upsert' : 'insert',
  };
  if (mode === 'id' || mode === 'destination-id') config.cursorColumn = idField;
  if (mode === 'timestamp' || mode === 'destination-timestamp') {
    config.cursorColumn = src.timestamp_field || dst.timestamp_field || 'updated_at';
    config.tiebreakerColumn = idField;
  }
  if (src.max_record_batch_size && src.max_record_batch_size > 0) config.batchSize = Math.min(src.max_record_batch_size, 1_000_000);
  // Go Idra's polling_time is in seconds.
  if (src.polling_time && src.polling_time > 0) config.pollIntervalMs = Math.round(src.polling_time * 1000);
  return {
    config: validateSyncConfig(config, path, 'imported Go Idra sync is invalid'),
    startOffset: src.start_offset && src.start_offset > 0 ? String(src.start_offset) : undefined,
  };
}

/** Converts a Go Idra export (one sync or an array of them). */
export function importGoIdra(doc: unknown): ImportedSync[] {
  const list = Array.isArray(doc) ? doc : [doc];
  return list.map((d, i) => importGoIdraSync(d as GoIdraSync, Array.isArray(doc) ? `[${i}]` : ''));
}
