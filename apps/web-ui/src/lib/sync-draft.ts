import { copiesInRanges, modeInfo, type ConnectorKind, type SyncMode } from '@idra/core/model';
import type { ConnectorDescription, SyncConfig } from '@idra/api-client';
import type { EndpointField } from '@idra/core';

/** The connector catalogue the API serves (`GET /connectors`). */
export type Catalogue = readonly ConnectorDescription[];

/** The endpoint fields a connector reads in a role, from the catalogue (none when it is unknown). */
export function fieldsOf(catalogue: Catalogue, connector: ConnectorKind, role: 'source' | 'destination'): readonly EndpointField[] {
  return catalogue.find((c) => c.kind === connector)?.roles[role]?.fields ?? [];
}

type Endpoint = SyncConfig['source'];
type Connection = NonNullable<Endpoint['connection']>;

/** A connection as form fields (all text). */
export interface ConnectionDraft {
  url: string;
  file: string;
  host: string;
  port: string;
  database: string;
  user: string;
  password: string;
  ssl: boolean;
  /** Driver options the form does not edit, kept as they are. */
  options: Connection['options'];
}

export interface EndpointDraft {
  connector: ConnectorKind;
  /** A named data source, or a connection written into the sync. */
  via: 'dataSource' | 'connection';
  dataSourceId: string;
  connection: ConnectionDraft;
  schema: string;
  /** SQL sources: read a table or a query. */
  readFrom: 'table' | 'query';
  table: string;
  query: string;
  /** Comma-separated. */
  columns: string;
  collection: string;
  topic: string;
  bucket: string;
  prefix: string;
  url: string;
  options: Endpoint['options'];
}

/** A sync as the editor holds it: text as typed, so that the server can name what is wrong with it. */
export interface SyncDraft {
  id: string;
  name: string;
  enabled: boolean;
  source: EndpointDraft;
  destination: EndpointDraft;
  mode: SyncMode;
  cursorColumn: string;
  tiebreakerColumn: string;
  keyColumns: string;
  writeMode: 'insert' | 'upsert';
  batchSize: string;
  batchBytes: string;
  parallelism: string;
  pollInterval: string;
  delay: string;
  /** `watermark: 'delay-only'`: read with the delay alone where the source cannot see other sessions' transactions. */
  delayOnly: boolean;
  onError: 'stop' | 'skip';
  createTable: boolean;
  schemaChanges: 'evolve' | 'ignore' | 'fail';
  /** '' when the sync does not delete. */
  deletes: '' | 'mirror' | 'delete' | 'mark';
  softDeleteColumn: string;
  maxDeleteFraction: string;
  reconcileEvery: string;
}

function emptyConnection(): ConnectionDraft {
  return { url: '', file: '', host: '', port: '', database: '', user: '', password: '', ssl: false, options: undefined };
}

function emptyEndpoint(connector: ConnectorKind): EndpointDraft {
  return {
    connector,
    via: 'dataSource',
    dataSourceId: '',
    connection: emptyConnection(),
    schema: '',
    readFrom: 'table',
    table: '',
    query: '',
    columns: '',
    collection: '',
    topic: '',
    bucket: '',
    prefix: '',
    url: '',
    options: undefined,
  };
}

export function emptyDraft(): SyncDraft {
  return {
    id: '',
    name: '',
    enabled: true,
    source: emptyEndpoint('postgres'),
    destination: emptyEndpoint('postgres'),
    mode: 'id',
    cursorColumn: '',
    tiebreakerColumn: '',
    keyColumns: '',
    writeMode: 'insert',
    batchSize: '',
    batchBytes: '',
    parallelism: '',
    pollInterval: '',
    delay: '',
    delayOnly: false,
    onError: 'stop',
    createTable: true,
    schemaChanges: 'evolve',
    deletes: '',
    softDeleteColumn: '',
    maxDeleteFraction: '',
    reconcileEvery: '',
  };
}

const text = (v: unknown): string => (v === undefined || v === null ? '' : String(v));
const list = (s: string): string[] =>
  s
    .split(',')
    .map((x) => x.trim())
    .filter(Boolean);

export function connectionToDraft(c: Connection | undefined): ConnectionDraft {
  if (!c) return emptyConnection();
  return {
    url: text(c.url),
    file: text(c.file),
    host: text(c.host),
    port: text(c.port),
    database: text(c.database),
    user: text(c.user),
    password: text(c.password),
    ssl: c.ssl ?? false,
    options: c.options,
  };
}

/** The connection to send: empty fields left out; a port that is not a number is sent as typed, for the server to name. */
export function draftToConnection(d: ConnectionDraft): Connection {
  const c: Record<string, unknown> = {};
  for (const k of ['url', 'file', 'host', 'database', 'user', 'password'] as const) if (d[k].trim() !== '') c[k] = k === 'password' ? d[k] : d[k].trim();
  if (d.port.trim() !== '') c.port = /^\d+$/.test(d.port.trim()) ? Number(d.port.trim()) : d.port.trim();
  if (d.ssl) c.ssl = true;
  if (d.options) c.options = d.options;
  return c as Connection;
}

function endpointToDraft(e: Endpoint): EndpointDraft {
  return {
    connector: e.connector,
    via: e.connection && !e.dataSourceId ? 'connection' : 'dataSource',
    dataSourceId: text(e.dataSourceId),
    connection: connectionToDraft(e.connection),
    schema: text(e.schema),
    readFrom: e.query !== undefined ? 'query' : 'table',
    table: text(e.table),
    query: text(e.query),
    columns: (e.columns ?? []).join(', '),
    collection: text(e.collection),
    topic: text(e.topic),
    bucket: text(e.bucket),
    prefix: text(e.prefix),
    url: text(e.url),
    options: e.options,
  };
}

/** The endpoint as sent: the fields its connector reads in `role` (a source reading a table or a query sends one of them). */
function draftToEndpoint(d: EndpointDraft, fields: readonly EndpointField[]): Endpoint {
  const e: Record<string, unknown> = { connector: d.connector };
  if (d.via === 'dataSource') {
    if (d.dataSourceId) e.dataSourceId = d.dataSourceId;
  } else e.connection = draftToConnection(d.connection);
  const choosesQuery = fields.includes('query') && fields.includes('table');
  for (const f of fields) {
    if (choosesQuery && f === (d.readFrom === 'query' ? 'table' : 'query')) continue;
    if (f === 'columns') {
      if (list(d.columns).length > 0) e.columns = list(d.columns);
    } else if (d[f].trim() !== '') e[f] = d[f].trim();
  }
  if (d.options) e.options = d.options;
  return e as Endpoint;
}

export function configToDraft(s: SyncConfig): SyncDraft {
  return {
    id: s.id,
    name: text(s.name),
    enabled: s.enabled ?? true,
    source: endpointToDraft(s.source),
    destination: endpointToDraft(s.destination),
    mode: s.mode,
    cursorColumn: text(s.cursorColumn),
    tiebreakerColumn: text(s.tiebreakerColumn),
    keyColumns: (s.keyColumns ?? []).join(', '),
    writeMode: s.writeMode ?? 'insert',
    batchSize: text(s.batchSize),
    batchBytes: text(s.batchBytes),
    parallelism: text(s.parallelism),
    pollInterval: text(s.pollIntervalMs),
    delay: text(s.delayMs),
    delayOnly: s.watermark === 'delay-only',
    onError: s.onError ?? 'stop',
    createTable: s.createTable ?? true,
    schemaChanges: s.schemaChanges ?? 'evolve',
    deletes: s.deletes ?? (s.softDeleteColumn !== undefined ? 'delete' : ''),
    softDeleteColumn: text(s.softDeleteColumn),
    maxDeleteFraction: text(s.maxDeleteFraction),
    reconcileEvery: text(s.reconcileEvery),
  };
}

/** A number of milliseconds, or a duration string ('5s') as typed. */
function duration(v: string): number | string {
  return /^\d+$/.test(v.trim()) ? Number(v.trim()) : v.trim();
}

/**
 * The sync the draft describes, with only the fields that apply to its mode and to its connectors
 * (as the catalogue says). Values that are not what the schema wants go through as typed, so that
 * the server's message names them.
 */
export function draftToConfig(d: SyncDraft, catalogue: Catalogue): SyncConfig {
  const s: Record<string, unknown> = {
    id: d.id.trim(),
    source: draftToEndpoint(d.source, fieldsOf(catalogue, d.source.connector, 'source')),
    destination: draftToEndpoint(d.destination, fieldsOf(catalogue, d.destination.connector, 'destination')),
    mode: d.mode,
  };
  if (d.name.trim()) s.name = d.name.trim();
  if (!d.enabled) s.enabled = false;
  const mode = modeInfo(d.mode);
  if (mode.cursor && d.cursorColumn.trim()) s.cursorColumn = d.cursorColumn.trim();
  if (mode.timestamp && d.tiebreakerColumn.trim()) s.tiebreakerColumn = d.tiebreakerColumn.trim();
  if (list(d.keyColumns).length > 0) s.keyColumns = list(d.keyColumns);
  if (d.writeMode !== 'insert') s.writeMode = d.writeMode;
  // A whole number is sent as one; anything else as typed, for the API to name what is wrong with it.
  const count = (typed: string) => (/^\d+$/.test(typed.trim()) ? Number(typed.trim()) : typed.trim());
  if (d.batchSize.trim()) s.batchSize = count(d.batchSize);
  if (d.batchBytes.trim()) s.batchBytes = count(d.batchBytes);
  if (copiesInRanges(d.mode) && d.parallelism.trim()) s.parallelism = count(d.parallelism);
  if (d.pollInterval.trim()) s.pollIntervalMs = duration(d.pollInterval);
  if (mode.cursor && d.delay.trim()) s.delayMs = duration(d.delay);
  if (mode.cursor && d.delayOnly) s.watermark = 'delay-only';
  if (d.onError !== 'stop') s.onError = d.onError;
  if (!d.createTable) s.createTable = false;
  if (d.schemaChanges !== 'evolve') s.schemaChanges = d.schemaChanges;
  // The delete fields the form shows for the mode, and only those: a hidden one would be refused under a field no one sees.
  const ownCursor = mode.cursor && !mode.fromDestination;
  const mirror = d.deletes === 'mirror' && d.mode === 'full';
  const softDeletes = (d.deletes === 'delete' || d.deletes === 'mark') && ownCursor;
  if (mirror || softDeletes) s.deletes = d.deletes;
  if (softDeletes && d.softDeleteColumn.trim()) s.softDeleteColumn = d.softDeleteColumn.trim();
  if (ownCursor && d.reconcileEvery.trim()) s.reconcileEvery = duration(d.reconcileEvery);
  const fraction = d.maxDeleteFraction.trim();
  if ((mirror || s.reconcileEvery !== undefined) && fraction) s.maxDeleteFraction = Number.isNaN(Number(fraction)) ? fraction : Number(fraction);
  return s as SyncConfig;
}
