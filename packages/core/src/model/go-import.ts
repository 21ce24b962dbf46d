import { ConfigError } from '../errors.ts';
import type { Position } from './position.ts';
import { IdSchema, type Endpoint, type SyncConfig } from './schema.ts';
import { SQL_CONNECTORS, type ConnectorKind } from './connector-kinds.ts';
import type { SyncMode } from './modes.ts';
import { validateSyncConfig } from './sync.ts';
import { convertGoConnection, type GoConnection, type GoConnectorKind } from './go-connection.ts';
import { ReportLines, type GoSyncReport } from './go-report.ts';

/**
 * One connector of a sync of the original Go Idra (`cdc_shared.Connector`). `id` names the key
 * column(s), comma-separated for a composite key; there is no `id_field`.
 */
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
  max_record_batch_size?: number;
  save_mode?: string;
  start_offset?: number;
  token?: string;
  attributes?: Record<string, string>;
}

/** A sync of the original Go Idra (`cdc_shared.Sync`), as its API stored it under `/syncs/<id>` and its CLI exported it. */
export interface GoIdraSync {
  id?: string;
  sync_name?: string;
  mode?: string;
  disabled?: boolean;
  source_connector?: GoIdraConnector;
  destination_connector?: GoIdraConnector;
}

/** A Go sync with its report: the Idra sync when importable, and the offset its `start_offset` seeds. */
export interface ImportedGoSync {
  report: GoSyncReport;
  config: SyncConfig | undefined;
  /** Position to store when the sync has no offset yet (from `start_offset`). */
  seed: Position | undefined;
  /** The zone Go read the source's wall-clock timestamps in ('Local': unknown here), for its offsets. */
  zone: string | undefined;
  /** Go's own names, where its offsets were kept: the sync id and each connector's `connector_name` and `id`. */
  go: { id: string; source: { name: string; id: string }; destination: { name: string; id: string } };
}

interface GoType {
  /** Go's spelling. */
  name: string;
  kind?: GoConnectorKind;
  /** Why Idra cannot take it. */
  unsupported?: string;
}

/** Every connector type Go Idra's `RetrieveProvider` knew, across its versions (keys lower-cased). */
const GO_TYPES: Record<string, GoType> = Object.fromEntries(
  (
    [
      ['PostgresGORM', 'postgres'],
      ['MysqlGORM', 'mysql'],
      ['MssqlGORM', 'mssql'],
      ['KafkaConnector', 'kafka'],
      ['MongodbConnector', 'mongodb'],
      ['MongodbManager', 'mongodb'],
      ['s3JsonConnector', 's3'],
      ['S3', 's3'],
      ['RestConnector', 'http'],
      ['RabbitMQConnector', 'RabbitMQ'],
      ['RabbiMQConnector', 'RabbitMQ'],
      ['RabbitMQStreamConnector', 'RabbitMQ streams'],
      ['RabbiMQStreamConnector', 'RabbitMQ streams'],
      ['ImmudbDriver', 'immudb'],
      ['Immudb', 'immudb'],
      ['ChromaDbConnector', 'ChromaDB'],
      ['ChromaDb', 'ChromaDB'],
    ] as const
  ).map(([name, target]) => [
    name.toLowerCase(),
    ['postgres', 'mysql', 'mssql', 'kafka', 'mongodb', 's3', 'http'].includes(target)
      ? { name, kind: target as GoConnectorKind }
      : { name, unsupported: `${target} is not a connector of Idra` },
  ]),
);

/** Go's sync modes (`models/constants.go`) and what each becomes with a SQL source. */
const SQL_MODES: Record<string, { name: string; mode?: SyncMode; why: string }> = {
  idfield: { name: 'IdField', mode: 'id', why: "cursor on the source's id column; offset stored" },
  timestamp: { name: 'Timestamp', mode: 'timestamp', why: 'cursor on the timestamp column; offset stored' },
  lastdestinationid: { name: 'LastDestinationId', mode: 'destination-id', why: "resumes after the destination's largest id; nothing stored" },
  lastdestinationtimestamp: {
    name: 'LastDestinationTimestamp',
    mode: 'destination-timestamp',
    why: "resumes after the destination's newest timestamp; nothing stored",
  },
  fullwithid: { name: 'FullWithId', mode: 'full', why: 'copies the table in key order on every pass' },
  default: {
    name: 'Default',
    why: 'Go Idra ran no copy in this mode with a SQL source (its processor has no branch for it): choose IdField, Timestamp, LastDestinationId, LastDestinationTimestamp or FullWithId',
  },
  writeonly: {
    name: 'WriteOnly',
    why: 'Go Idra ran no copy in this mode with a SQL source (its processor has no branch for it): choose IdField, Timestamp, LastDestinationId, LastDestinationTimestamp or FullWithId',
  },
};

const SYNC_FIELDS = new Set(['id', 'sync_name', 'mode', 'disabled', 'source_connector', 'destination_connector']);
const CONNECTOR_FIELDS = new Set([
  'id',
  'connector_name',
  'connector_source_type',
  'connection_string',
  'database',
  'query',
  'table',
  'polling_time',
  'timestamp_field',
  'timestamp_field_format',
  'max_record_batch_size',
  'save_mode',
  'start_offset',
  'token',
  'attributes',
]);

/** Go's `models.MaxBatchSizeDefault`, used when `max_record_batch_size` is 0. */
const GO_DEFAULT_BATCH = 5000;
const MAX_BATCH = 1_000_000;

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);
const isSql = (kind: ConnectorKind | undefined) => kind !== undefined && SQL_CONNECTORS.includes(kind);
const slug = (s: string) =>
  s
    .replace(/[^A-Za-z0-9_.-]+/g, '-')
    .replace(/^[^A-Za-z0-9]+/, '')
    .slice(0, 128);
const validId = new RegExp(IdSchema.pattern!);
const columnsOf = (id: string | undefined) =>
  (id ?? '')
    .split(',')
    .map((c) => c.trim())
    .filter(Boolean);

/** True when the document looks like the Go Idra export format rather than Idra's own. */
export function isGoIdraFormat(doc: unknown): boolean {
  const first = Array.isArray(doc) ? doc[0] : doc;
  return isObject(first) && ('sync_name' in first || 'source_connector' in first);
}

/** One endpoint under conversion. */
interface Side {
  role: 'source' | 'destination';
  /** `source_connector` / `destination_connector`, with the sync's index. */
  at: string;
  raw: Record<string, unknown>;
  type: GoType | undefined;
  kind: GoConnectorKind | undefined;
  conn: GoConnection | undefined;
  endpoint: Endpoint | undefined;
  /** Fields already reported. */
  done: Set<string>;
}

/** Converts one Go sync; every field it holds, and every Go default it relied on, ends up in the report. */
class GoSyncConversion {
  private readonly lines = new ReportLines();
  private readonly raw: Record<string, unknown>;
  private readonly index: number;
  private readonly src: Side;
  private readonly dst: Side;
  private seed: Position | undefined;
  /** Fields already refused for their type, so that each is reported once. */
  private readonly badType = new Set<string>();

  constructor(raw: Record<string, unknown>, index: number) {
    this.raw = raw;
    this.index = index;
    this.src = this.side('source');
    this.dst = this.side('destination');
  }

  private side(role: 'source' | 'destination'): Side {
    const field = `${role}_connector`;
    const value = this.raw[field];
    return { role, at: field, raw: isObject(value) ? value : {}, type: undefined, kind: undefined, conn: undefined, endpoint: undefined, done: new Set() };
  }

  private add: ReportLines['add'] = (field, outcome, detail) => this.lines.add(field, outcome, detail);

  /** A string field; refused when present with another type (Go's JSON decoder refuses it too). */
  private text(side: Side | undefined, key: string): string | undefined {
    const obj = side ? side.raw : this.raw;
    const v = obj[key];
    if (v === undefined || v === null) return undefined;
    if (typeof v === 'string') return v;
    this.refuseType(side, key, 'must be a string (Go Idra refuses it too)');
    return undefined;
  }

  private number(side: Side, key: string): number | undefined {
    const v = side.raw[key];
    if (v === undefined || v === null) return undefined;
    if (typeof v === 'number' && Number.isFinite(v) && Number.isInteger(v)) return v;
    this.refuseType(side, key, 'must be an integer (Go Idra refuses it too)');
    return undefined;
  }

  private refuseType(side: Side | undefined, key: string, detail: string): void {
    const field = side ? `${side.at}.${key}` : key;
    side?.done.add(key);
    if (this.badType.has(field)) return;
    this.badType.add(field);
    this.add(field, 'refused', detail);
  }

  private report(side: Side, key: string, outcome: Parameters<ReportLines['add']>[1], detail: string): void {
    side.done.add(key);
    this.add(`${side.at}.${key}`, outcome, detail);
  }

  run(): ImportedGoSync {
    const goId = this.text(undefined, 'id') ?? '';
    const name = this.text(undefined, 'sync_name') ?? '';
    const id = this.syncId(goId, name);
    for (const key of Object.keys(this.raw)) {
      if (!SYNC_FIELDS.has(key)) this.add(key, 'ignored', "not a field of Go Idra's Sync (its JSON decoder dropped it)");
    }
    for (const side of [this.src, this.dst]) {
      if (!isObject(this.raw[side.at])) this.add(side.at, 'refused', 'is required');
      else this.connector(side);
    }
    const modeText = this.text(undefined, 'mode') ?? '';
    const mode = this.mode(modeText);
    let config: SyncConfig | undefined;
    const zone = this.src.conn?.zone;
    if (mode && this.src.endpoint && this.dst.endpoint) config = this.assemble(id, name, mode);
    if (config && !this.lines.refused) {
      try {
        config = validateSyncConfig(config, '', 'the imported sync is invalid');
      } catch (err) {
        if (!(err instanceof ConfigError)) throw err;
        for (const issue of err.issues) this.add(`(idra) ${issue.path}`, 'refused', issue.message);
      }
    }
    const refused = this.lines.refused;
    return {
      report: { index: this.index, goId, name, id, outcome: refused ? 'refused' : 'importable', fields: this.lines.fields },
      config: refused ? undefined : config,
      seed: refused ? undefined : this.seed,
      zone,
      go: {
        id: goId,
        source: { name: this.text(this.src, 'connector_name') ?? '', id: this.text(this.src, 'id') ?? '' },
        destination: { name: this.text(this.dst, 'connector_name') ?? '', id: this.text(this.dst, 'id') ?? '' },
      },
    };
  }

  private syncId(goId: string, name: string): string | undefined {
    if (name) this.add('sync_name', 'mapped', 'name');
    if (goId && validId.test(goId)) {
      this.add('id', 'mapped', `id '${goId}' (exact: Go's offsets are keyed by it)`);
      return goId;
    }
    const made = slug(goId || name);
    if (!made) {
      this.add(goId ? 'id' : 'sync_name', 'refused', 'is required: a sync needs an id or a sync_name');
      return undefined;
    }
    this.add(
      'id',
      'converted',
      goId
        ? `'${goId}' is not a valid Idra id (letters, digits, _ . -): '${made}'`
        : `empty (Go's cluster skipped syncs without an id): '${made}' from sync_name`,
    );
    return made;
  }

  private mode(text: string): SyncMode | undefined {
    const srcKind = this.src.kind;
    if (srcKind === undefined) return undefined;
    if (!isSql(srcKind)) {
      // Go handed every non-SQL source to the connector's MoveData, which ignores the mode.
      const how: Record<string, string> = {
        kafka: "Go's Kafka source ignored the mode and consumed the topic: Idra 'stream' (per-partition offsets stored)",
        mongodb: "Go's MongoDB source ignored the mode and followed the collection's change stream: Idra 'stream' (resume token stored; needs a replica set)",
        s3: "Go's S3 source never read anything (its MoveData was empty): Idra 'stream' reads the bucket's objects in key order",
        http: "Go's REST source never read anything (it was not a database provider and its MoveData was empty): Idra 'stream' pages the API",
      };
      this.add('mode', 'converted', `'${text}': ${how[srcKind]}`);
      return 'stream';
    }
    const known = SQL_MODES[text.toLowerCase()];
    if (!known) {
      this.add(
        'mode',
        'refused',
        `'${text}' is not a Go Idra mode (IdField, Timestamp, LastDestinationId, LastDestinationTimestamp, FullWithId, Default, WriteOnly)`,
      );
      return undefined;
    }
    if (!known.mode) {
      this.add('mode', 'refused', `'${text}': ${known.why}`);
      return undefined;
    }
    const exact = known.name === text;
    this.add(
      'mode',
      exact ? 'mapped' : 'converted',
      `'${known.mode}': ${known.why}${exact ? '' : ` (Go compared '${known.name}' exactly: '${text}' ran nothing there)`}`,
    );
    if (known.mode === 'full') {
      this.add(
        'mode',
        'converted',
        "Go's FullWithId copied only the first max_record_batch_size rows in id order on each pass (one query after id -1); Idra pages through the whole table",
      );
    }
    return known.mode;
  }

  private connector(side: Side): void {
    for (const key of Object.keys(side.raw)) {
      if (!CONNECTOR_FIELDS.has(key)) {
        side.done.add(key);
        this.add(
          `${side.at}.${key}`,
          'ignored',
          key === 'id_field'
            ? "not a Go Idra field (Go's key column is the connector's id)"
            : "not a field of Go Idra's Connector (its JSON decoder dropped it)",
        );
      }
    }
    const typeText = this.text(side, 'connector_source_type') ?? '';
    side.done.add('connector_source_type');
    const type = GO_TYPES[typeText.toLowerCase()];
    const at = `${side.at}.connector_source_type`;
    if (!type) {
      this.add(
        at,
        'refused',
        `'${typeText}' is not a Go Idra connector type (known: ${[
          ...new Set(
            Object.values(GO_TYPES)
              .filter((t) => t.kind)
              .map((t) => t.name),
          ),
        ].join(', ')})`,
      );
      return;
    }
    if (type.unsupported) {
      this.add(at, 'refused', `'${typeText}': ${type.unsupported}`);
      return;
    }
    side.type = type;
    side.kind = type.kind;
    this.add(
      at,
      type.name === typeText ? 'mapped' : 'converted',
      `connector '${type.kind}'${type.name === typeText ? '' : ` (Go compared '${type.name}' exactly: '${typeText}' ran nothing there)`}`,
    );
    const dsn = this.text(side, 'connection_string');
    side.done.add('connection_string');
    if (!dsn) {
      this.add(`${side.at}.connection_string`, 'refused', 'is required');
      return;
    }
    side.conn = convertGoConnection(type.kind!, dsn, `${side.at}.connection_string`, this.lines);
    if (!side.conn) return;
    side.endpoint = { connector: type.kind!, connection: side.conn.connection };
    if (side.conn.endpointOptions) side.endpoint.options = { ...side.conn.endpointOptions };
    this.place(side);
    this.labels(side);
    this.attributes(side);
  }

  /** `table`, `query` and `database`: where the rows are. */
  private place(side: Side): void {
    const ep = side.endpoint!;
    const kind = side.kind!;
    const table = this.text(side, 'table') || undefined;
    const query = this.text(side, 'query') || undefined;
    const database = this.text(side, 'database') || undefined;
    const role = side.role;
    if (isSql(kind)) {
      if (query && role === 'source') {
        ep.query = query;
        this.report(
          side,
          'query',
          'converted',
          "Idra runs it as a sub-query and adds its own WHERE, ORDER BY and LIMIT with bound values (Go appended ' WHERE …' to the text)",
        );
        if (table) this.report(side, 'table', 'ignored', 'Go read the query, not the table');
      } else if (table) {
        const dot = table.indexOf('.');
        const search = side.conn?.searchPath;
        if (dot > 0) {
          ep.schema = table.slice(0, dot);
          ep.table = table.slice(dot + 1);
          this.report(side, 'table', 'converted', `schema '${ep.schema}', table '${ep.table}'`);
        } else {
          ep.table = table;
          if (search && kind === 'postgres') ep.schema = search;
          this.report(
            side,
            'table',
            search && kind === 'postgres' ? 'converted' : 'mapped',
            search && kind === 'postgres' ? `schema '${search}' (search_path), table '${table}'` : 'table',
          );
        }
        if (query) this.report(side, 'query', 'ignored', "Go never read a destination's query");
      } else {
        this.report(side, 'table', 'refused', role === 'source' ? 'is required (or give query)' : 'is required');
      }
      if (database) this.report(side, 'database', 'ignored', "Go's SQL connectors took the database from connection_string only");
      return;
    }
    if (query) this.report(side, 'query', 'ignored', `Go's ${side.type!.name} had no query`);
    switch (kind) {
      case 'kafka':
        if (table) ep.topic = table;
        this.report(side, 'table', table ? 'mapped' : 'refused', table ? 'topic' : 'is required: the topic');
        if (database) this.report(side, 'database', 'ignored', "Go's Kafka connector did not read it");
        if (role === 'destination') {
          this.add(
            `${side.at}.connector_source_type`,
            'converted',
            "Go's Kafka destination produced nothing (it sent only rows that failed to encode as JSON); Idra produces every row as a JSON message",
          );
        }
        break;
      case 'mongodb':
        if (table) ep.collection = table;
        this.report(side, 'table', table ? 'mapped' : 'refused', table ? 'collection' : 'is required: the collection');
        if (database) ep.connection!.database = database;
        this.report(side, 'database', database ? 'mapped' : 'converted', database ? 'connection.database' : 'absent: the database named in the URL');
        break;
      case 's3': {
        const [bucket, ...prefix] = (table ?? '').split('/');
        if (bucket) ep.bucket = bucket;
        if (prefix.length > 0) ep.prefix = prefix.join('/');
        this.report(
          side,
          'table',
          bucket ? 'converted' : 'refused',
          bucket ? `bucket '${bucket}'${prefix.length ? `, key prefix '${ep.prefix}'` : ''}` : 'is required: bucket[/prefix]',
        );
        if (database) this.report(side, 'database', 'ignored', "Go's S3 connector did not read it");
        ep.options = { ...ep.options, format: 'jsonl' };
        this.add(
          `${side.at}.connector_source_type`,
          'converted',
          role === 'source'
            ? 'objects are read as JSON Lines (options.format jsonl)'
            : "Go's S3 destination wrote nothing (its InsertRows was a stub); Idra writes each batch as a JSON Lines object. Go took credentials from AWS_ACCESS_KEY/AWS_SECRET: Idra uses connection.user/password or the AWS default chain",
        );
        break;
      }
      case 'http':
        if (table) this.report(side, 'table', 'ignored', "Go's REST connector used only the URL");
        if (database) this.report(side, 'database', 'ignored', "Go's REST connector did not read it");
        break;
    }
  }

  /** `connector_name`, `timestamp_field_format`, `token`, and the fields one role does not read. */
  private labels(side: Side): void {
    const name = this.text(side, 'connector_name');
    if (name !== undefined)
      this.report(side, 'connector_name', 'ignored', 'a label; Go also kept offsets under /offsets/<connector_name>, which idra migrate reads');
    const format = this.text(side, 'timestamp_field_format');
    if (format) {
      const sortable = /^2006.?01.?02/.test(format);
      this.report(
        side,
        'timestamp_field_format',
        'ignored',
        `Idra binds timestamps as typed parameters; Go used this layout only to write them into its SQL text${sortable ? '' : ' (a column holding text in this layout would be compared as text: check that it sorts in time order)'}`,
      );
    } else if (format !== undefined) side.done.add('timestamp_field_format');
    const token = this.text(side, 'token');
    if (token && side.kind !== 'http') this.report(side, 'token', 'ignored', 'Go read a token only in its REST connector');
    else if (token === '') side.done.add('token');
    if (side.role === 'destination') {
      for (const key of ['polling_time', 'max_record_batch_size', 'start_offset'] as const) {
        const v = side.raw[key];
        if (v !== undefined && v !== null && v !== 0) this.report(side, key, 'ignored', 'Go read it from the source connector only');
        else side.done.add(key);
      }
    }
  }

  /** Go's `attributes`: a `map[string]string` only some connectors read. */
  private attributes(side: Side): void {
    side.done.add('attributes');
    const attrs = side.raw.attributes;
    if (attrs === undefined || attrs === null) return;
    const at = `${side.at}.attributes`;
    if (!isObject(attrs) || !Object.values(attrs).every((v) => typeof v === 'string')) {
      this.add(at, 'refused', 'must be an object of strings (Go Idra refuses anything else)');
      return;
    }
    const ep = side.endpoint!;
    const values = attrs as Record<string, string>;
    for (const [key, value] of Object.entries(values)) {
      const line = (outcome: Parameters<ReportLines['add']>[1], detail: string) => this.add(`${at}.${key}`, outcome, detail);
      switch (side.kind) {
        case 'kafka':
          this.kafkaAttribute(ep, key, value, line, side.role);
          break;
        case 'http':
          if (key === 'username' || key === 'password') {
            ep.connection![key === 'username' ? 'user' : 'password'] = value;
            line(
              'converted',
              `basic authentication (connection.${key === 'username' ? 'user' : 'password'})${side.role === 'source' ? '; Go also sent it as a query parameter, Idra does not' : ''}`,
            );
          } else if (side.role === 'source') {
            ep.options = { ...ep.options, params: { ...(ep.options?.params as Record<string, string> | undefined), [key]: value } };
            line('mapped', 'a query parameter of every request (options.params)');
          } else line('ignored', "Go's REST destination did not read it (only its GET did)");
          break;
        default:
          line('ignored', `Go's ${side.type!.name} never read attributes`);
      }
    }
  }

  private kafkaAttribute(ep: Endpoint, key: string, value: string, line: (o: Parameters<ReportLines['add']>[1], d: string) => void, role: Side['role']): void {
    const c = ep.connection!;
    const options = (ep.options ??= {});
    switch (key) {
      case 'sasl.username':
        c.user = value;
        return line('mapped', 'SASL user (connection.user)');
      case 'sasl.password':
        c.password = value;
        return line('mapped', 'SASL password (connection.password)');
      case 'sasl.mechanisms':
      case 'sasl.mechanism': {
        const m = value.toLowerCase();
        if (m !== 'plain' && m !== 'scram-sha-256' && m !== 'scram-sha-512')
          return line('refused', `'${value}': Idra's Kafka client speaks PLAIN, SCRAM-SHA-256 and SCRAM-SHA-512`);
        options.saslMechanism = m;
        return line('mapped', `options.saslMechanism '${m}'`);
      }
      case 'security.protocol': {
        const p = value.toUpperCase();
        if (!['PLAINTEXT', 'SSL', 'SASL_PLAINTEXT', 'SASL_SSL'].includes(p)) return line('refused', `'${value}' is not a Kafka security protocol`);
        if (p.endsWith('SSL')) c.ssl = true;
        return line('mapped', p.endsWith('SSL') ? 'TLS (connection.ssl)' : 'no TLS');
      }
      case 'client.id':
        options.clientId = value;
        return line('converted', "options.clientId (Go's producer did not read it: it sent an empty client id)");
      case 'auto.offset.reset': {
        const v = value.toLowerCase();
        const from = ['earliest', 'smallest', 'beginning'].includes(v) ? 'earliest' : ['latest', 'largest', 'end'].includes(v) ? 'latest' : undefined;
        if (!from) return line('refused', `'${value}' is not earliest/latest`);
        if (role === 'source') options.startFrom = from;
        return role === 'source'
          ? line('mapped', `options.startFrom '${from}' (partitions with no stored offset)`)
          : line('ignored', 'a consumer setting, on a destination');
      }
      case 'group.id':
        return line(
          'ignored',
          "Idra keeps the partition offsets in its own offset store, not in a consumer group; the group's committed offsets are not read (see idra migrate)",
        );
      case 'acks':
        return line('ignored', "Idra's producer always waits for every in-sync replica (acks=all); Go's producer did not read this attribute");
      default:
        return line('ignored', "Go's Kafka connector did not read it");
    }
  }

  /** The sync itself: key and cursor columns from the connectors' `id`, write mode, pacing. */
  private assemble(id: string | undefined, name: string, mode: SyncMode): SyncConfig | undefined {
    if (!id) return undefined;
    const src = this.src;
    const dst = this.dst;
    const srcKeys = columnsOf(this.text(src, 'id'));
    const dstKeys = columnsOf(this.text(dst, 'id'));
    src.done.add('id');
    dst.done.add('id');
    const keyColumns = dstKeys.length > 0 ? dstKeys : srcKeys;
    const config: SyncConfig = { id, name: name || id, enabled: this.raw.disabled !== true, source: src.endpoint!, destination: dst.endpoint!, mode };
    if (this.raw.disabled !== undefined) {
      if (typeof this.raw.disabled !== 'boolean') this.add('disabled', 'refused', 'must be true or false');
      else this.add('disabled', 'mapped', `enabled: ${!this.raw.disabled}`);
    }
    if (keyColumns.length > 0) config.keyColumns = keyColumns;
    this.keys(mode, srcKeys, dstKeys, config);
    this.cursor(mode, srcKeys, dstKeys, config);
    this.writeMode(config);
    this.pacing(config);
    this.startOffset(mode);
    if (src.kind === 'http') this.restSource(srcKeys);
    if (dst.kind === 'http') this.restDestination(config);
    if ((mode === 'destination-id' || mode === 'destination-timestamp') && (dst.kind === 'kafka' || dst.kind === 's3' || dst.kind === 'http')) {
      this.add(
        'mode',
        'refused',
        `Idra reads the resume point of '${mode}' from the destination, which a ${dst.kind} destination cannot give (in Go this sync wrote through the source's SQL driver and could not run either)`,
      );
    }
    config.onError = 'skip';
    this.add(
      '(defaults)',
      'converted',
      "onError 'skip': Go logged a row the destination refused and went on; Idra sets it aside as a dead letter you can see and replay",
    );
    for (const side of [src, dst]) {
      for (const key of Object.keys(side.raw)) {
        if (side.done.has(key)) continue;
        const v = side.raw[key];
        if (v === '' || v === 0 || v === null) continue; // Go's zero values: nothing set
        this.add(
          `${side.at}.${key}`,
          'ignored',
          side.role === 'source' ? `not used with mode '${mode}' and a ${side.kind} source` : `not used by a ${side.kind} destination`,
        );
      }
    }
    return config;
  }

  private keys(mode: SyncMode, srcKeys: string[], dstKeys: string[], config: SyncConfig): void {
    const src = this.src;
    const dst = this.dst;
    const list = (k: string[]) => k.map((c) => `'${c}'`).join(', ');
    if (dstKeys.length > 0) {
      const why: Partial<Record<ConnectorKind, string>> = {
        kafka: 'the message key (Go keyed messages by it)',
        mongodb: 'the document key',
        s3: 'kept as the key columns (an S3 object has no key)',
        http: 'kept as the key columns (the API decides what a duplicate is)',
      };
      const detail = isSql(dst.kind)
        ? `keyColumns [${list(dstKeys)}]: Go's upsert conflict column${dstKeys.length > 1 ? 's (its SQL Server MERGE split them at the commas)' : ''}`
        : `keyColumns [${list(dstKeys)}]: ${why[dst.kind!] ?? 'key columns'}`;
      this.add(`${dst.at}.id`, dstKeys.length > 1 || !isSql(dst.kind) ? 'converted' : 'mapped', detail);
    }
    if (srcKeys.length > 0) {
      const used = mode === 'id' || mode === 'destination-id' || mode === 'timestamp' || mode === 'destination-timestamp' || mode === 'full';
      if (src.kind === 'mongodb') {
        this.add(
          `${src.at}.id`,
          'ignored',
          "Go named the offset key after it (/offsets/<id>: the change stream's resume token), which idra migrate reads; not a column",
        );
      } else if (src.kind === 'http') {
        // Handled with the REST options below.
      } else if (!used) {
        this.add(`${src.at}.id`, 'ignored', `Go's ${src.type!.name} source did not read it`);
      } else if (dstKeys.length === 0) {
        this.add(`${src.at}.id`, 'converted', `keyColumns [${list(srcKeys)}] (the destination's id is empty)`);
      } else if (mode !== 'id' && mode !== 'destination-id') {
        const same = srcKeys.join(',') === dstKeys.join(',');
        this.add(
          `${src.at}.id`,
          same ? 'mapped' : 'converted',
          same
            ? "the key column(s), as the destination's id"
            : `Go ordered the source by it; Idra's key columns come from the destination's id [${list(dstKeys)}]`,
        );
      }
    }
  }

  private cursor(mode: SyncMode, srcKeys: string[], dstKeys: string[], config: SyncConfig): void {
    const src = this.src;
    const dst = this.dst;
    if (mode === 'id' || mode === 'destination-id') {
      const cursor = mode === 'destination-id' && srcKeys.length === 0 ? dstKeys : srcKeys;
      if (mode === 'destination-id' && srcKeys.length > 0 && dstKeys.length > 0 && srcKeys.join(',') !== dstKeys.join(',')) {
        this.add(
          `${dst.at}.id`,
          'refused',
          `'${dstKeys.join(',')}' differs from the source's '${srcKeys.join(',')}': Idra follows one cursor column, by the same name at both ends`,
        );
        return;
      }
      if (cursor.length !== 1) {
        this.add(
          `${src.at}.id`,
          'refused',
          cursor.length === 0
            ? `is required with mode '${mode}': it names the cursor column`
            : `'${cursor.join(',')}': an id cursor follows one column (Go compared '${cursor.join(',')} > N' as a single name)`,
        );
        return;
      }
      config.cursorColumn = cursor[0]!;
      this.add(`${src.at}.id`, 'mapped', `cursorColumn '${cursor[0]}' (Go read rows with ${cursor[0]} > the offset, in ${cursor[0]} order)`);
      return;
    }
    if (mode === 'timestamp' || mode === 'destination-timestamp') {
      const srcTs = this.text(src, 'timestamp_field') || undefined;
      const dstTs = this.text(dst, 'timestamp_field') || undefined;
      src.done.add('timestamp_field');
      dst.done.add('timestamp_field');
      const ts = srcTs ?? (mode === 'destination-timestamp' ? dstTs : undefined);
      if (!ts) {
        this.add(`${src.at}.timestamp_field`, 'refused', `is required with mode '${mode}'`);
        return;
      }
      config.cursorColumn = ts;
      this.add(
        `${src.at}.timestamp_field`,
        'converted',
        `cursorColumn '${ts}', with a tiebreaker: Go read rows with ${ts} > the last value (strictly), which skips rows sharing that timestamp beyond a batch; Idra reads (${ts}, tiebreaker) after the last pair`,
      );
      if (dstTs) {
        if (mode === 'destination-timestamp' && dstTs !== ts) {
          this.add(
            `${dst.at}.timestamp_field`,
            'refused',
            `'${dstTs}' differs from the source's '${ts}': Idra follows one cursor column, by the same name at both ends`,
          );
          return;
        }
        this.add(
          `${dst.at}.timestamp_field`,
          mode === 'destination-timestamp' ? 'mapped' : 'ignored',
          mode === 'destination-timestamp' ? 'the column whose newest value is the resume point' : 'used only by LastDestinationTimestamp',
        );
      }
      const keys = config.keyColumns ?? [];
      if (keys.length === 0) {
        this.add(`${dst.at}.id`, 'refused', "is required: Idra orders rows sharing a timestamp by a unique column, and Go's connector id names it");
      } else if (keys.length > 1) {
        config.tiebreakerColumn = keys[0]!;
        this.add(
          `${dst.at}.id`,
          'converted',
          `tiebreakerColumn '${keys[0]}' (the first key column): rows with the same ${ts} and ${keys[0]} are not told apart, so a batch ending inside such a group can skip the rest of it; prefer a unique column`,
        );
      }
      return;
    }
    for (const side of [src, dst]) {
      const v = this.text(side, 'timestamp_field');
      side.done.add('timestamp_field');
      if (v) this.add(`${side.at}.timestamp_field`, 'ignored', `not used with mode '${mode}'`);
    }
    if (mode === 'full' && (config.keyColumns ?? []).length === 0) this.add(`${src.at}.id`, 'refused', 'is required with FullWithId: it orders the pass');
  }

  private writeMode(config: SyncConfig): void {
    const dst = this.dst;
    const srcSave = this.text(this.src, 'save_mode');
    this.src.done.add('save_mode');
    if (srcSave) this.add(`${this.src.at}.save_mode`, 'ignored', 'Go read save_mode of the destination only');
    const save = this.text(dst, 'save_mode') ?? '';
    dst.done.add('save_mode');
    const at = `${dst.at}.save_mode`;
    if (isSql(this.src.kind) && this.src.kind !== dst.kind) {
      this.add(
        `${dst.at}.connector_source_type`,
        'converted',
        `Go wrote through the source's driver (${this.src.type!.name}) whatever the destination's type said, so this sync could not run there; Idra writes with the ${dst.kind} connector`,
      );
    }
    switch (dst.kind) {
      case 'mssql':
        config.writeMode = 'upsert';
        this.add(
          at,
          save === 'Upsert' ? 'mapped' : 'converted',
          `upsert: Go's SQL Server connector always MERGEd on the key${save === 'Insert' ? ', whatever save_mode said' : ''}`,
        );
        break;
      case 'postgres':
      case 'mysql':
        config.writeMode = save === 'Insert' ? 'insert' : 'upsert';
        this.add(
          at,
          save === 'Insert' || save === 'Upsert' ? 'mapped' : 'converted',
          save === 'Insert'
            ? "insert: a row whose key exists is left alone (Go's INSERT failed on it and went on)"
            : `upsert${save === 'Upsert' ? '' : `: Go upserted for anything but exactly "Insert" (${save === '' ? 'empty' : `'${save}'`})`}`,
        );
        break;
      case 'mongodb':
        config.writeMode = 'insert';
        this.add(
          at,
          save ? 'converted' : 'mapped',
          `insert: Go's MongoDB destination always inserted (a duplicate _id stopped the Go agent); Idra leaves a document whose key exists alone${save === 'Upsert' ? ", so 'Upsert' is not honoured, as in Go" : ''}`,
        );
        break;
      default:
        if (save) this.add(at, 'ignored', `Go's ${dst.type!.name} destination has no insert/upsert distinction`);
    }
    if (config.writeMode === 'upsert' && (config.keyColumns ?? []).length === 0) {
      this.add(`${dst.at}.id`, 'refused', 'is required: an upsert needs the key column(s) (Go upserted on an empty column name and failed on every row)');
    }
  }

  private pacing(config: SyncConfig): void {
    const src = this.src;
    const polling = this.number(src, 'polling_time');
    src.done.add('polling_time');
    if (polling && polling > 0) {
      config.pollIntervalMs = polling * 1000;
      this.add(
        `${src.at}.polling_time`,
        'converted',
        `pollIntervalMs ${polling * 1000}: seconds, the documented unit (Go's agent slept polling_time nanoseconds by a unit slip, and polled every 5–30 s)`,
      );
    } else if (polling !== undefined) {
      this.add(`${src.at}.polling_time`, 'converted', "0: Idra's default pause of 5 s after a short batch (Go's agent loop paused 5–30 s)");
    }
    const batch = this.number(src, 'max_record_batch_size');
    src.done.add('max_record_batch_size');
    if (batch !== undefined && batch < 0) {
      this.add(`${src.at}.max_record_batch_size`, 'refused', 'must not be negative');
    } else if (batch && batch > 0) {
      config.batchSize = Math.min(batch, MAX_BATCH);
      this.add(
        `${src.at}.max_record_batch_size`,
        batch > MAX_BATCH ? 'converted' : 'mapped',
        batch > MAX_BATCH
          ? `batchSize ${MAX_BATCH}, Idra's largest (Go's ${batch > 2 ** 53 ? 'maximum integer meant no limit' : `value ${batch}`})`
          : `batchSize ${batch}`,
      );
    } else if (isSql(src.kind)) {
      config.batchSize = GO_DEFAULT_BATCH;
      this.add(
        `${src.at}.max_record_batch_size`,
        'converted',
        `${batch === 0 ? '0' : 'absent'}: batchSize ${GO_DEFAULT_BATCH}, Go's default (MaxBatchSizeDefault)`,
      );
    }
  }

  private startOffset(mode: SyncMode): void {
    const src = this.src;
    const start = this.number(src, 'start_offset');
    src.done.add('start_offset');
    if (!start) return;
    const at = `${src.at}.start_offset`;
    if (start < 0) return this.add(at, 'refused', 'must not be negative');
    if (src.kind === 'kafka') {
      this.seed = { kind: 'stream', value: { '0': String(start) } };
      return this.add(
        at,
        'converted',
        `the stored offset of partition 0 starts at ${start}, as Go's consumer seeked there (other partitions start per options.startFrom)`,
      );
    }
    if (mode === 'id') {
      this.seed = { kind: 'id', value: String(start) };
      return this.add(
        at,
        'converted',
        `seeds the offset at id ${start} when the sync has none (Go's SQL connectors did not read it; an offset migrated from Go Idra's etcd wins)`,
      );
    }
    this.add(at, 'ignored', `Go used it only as the Kafka source's start (partition 0); not with mode '${mode}' and a ${src.kind} source`);
  }

  private restSource(srcKeys: string[]): void {
    const src = this.src;
    const ep = src.endpoint!;
    ep.options = { ...ep.options, itemsPath: '' };
    if (srcKeys.length === 1) {
      ep.options.cursorParam = srcKeys[0];
      ep.options.cursorField = srcKeys[0];
      this.add(
        `${src.at}.id`,
        'converted',
        `pages the API by ?${srcKeys[0]}=<last ${srcKeys[0]}> (options.cursorParam and cursorField), reading the response as an array of items, as Go's GET did`,
      );
    } else if (srcKeys.length > 1) {
      this.add(`${src.at}.id`, 'refused', `'${srcKeys.join(',')}': the REST source pages by one field`);
    } else {
      this.add(`${src.at}.id`, 'converted', 'empty: the API is read as one array, again at every poll, skipping the items already copied');
    }
    const token = this.text(src, 'token');
    if (token) this.restToken(src, token);
  }

  private restDestination(config: SyncConfig): void {
    const dst = this.dst;
    const ep = dst.endpoint!;
    ep.options = { ...ep.options, bodyField: '', batchSize: config.batchSize ?? GO_DEFAULT_BATCH };
    this.add(
      `${dst.at}.connection_string`,
      'converted',
      "each batch is POSTed as a bare JSON array (options.bodyField ''), one request per batch like Go; Idra retries 429/5xx and adds an Idempotency-Key header",
    );
    const token = this.text(dst, 'token');
    if (token) this.restToken(dst, token);
  }

  private restToken(side: Side, token: string): void {
    const c = side.endpoint!.connection!;
    side.done.add('token');
    if (c.user !== undefined) {
      this.add(`${side.at}.token`, 'ignored', 'Go sent both a Basic and a Bearer Authorization header; Idra sends one: the basic credentials from attributes');
      return;
    }
    c.password = token;
    side.endpoint!.options = { ...side.endpoint!.options, auth: 'bearer' };
    this.add(`${side.at}.token`, 'converted', 'Bearer authentication (connection.password, options.auth bearer)');
  }
}

/** Converts one Go Idra sync; `index` is its place in the document. */
export function importGoIdraSync(doc: unknown, index = 0): ImportedGoSync {
  if (!isObject(doc)) {
    return {
      report: {
        index,
        goId: '',
        name: '',
        id: undefined,
        outcome: 'refused',
        fields: [{ field: `[${index}]`, outcome: 'refused', detail: 'is not a Go Idra sync (an object)' }],
      },
      config: undefined,
      seed: undefined,
      zone: undefined,
      go: { id: '', source: { name: '', id: '' }, destination: { name: '', id: '' } },
    };
  }
  return new GoSyncConversion(doc, index).run();
}

/** Converts a Go Idra export (one sync or an array of them); every sync gets a report, importable or not. */
export function importGoIdra(doc: unknown): ImportedGoSync[] {
  const list = Array.isArray(doc) ? doc : [doc];
  const imported = list.map((d, i) => importGoIdraSync(d, i));
  const seen = new Map<string, number>();
  for (const s of imported) {
    const id = s.report.id;
    if (id === undefined || !s.config) continue;
    const first = seen.get(id);
    if (first === undefined) {
      seen.set(id, s.report.index);
      continue;
    }
    s.report.fields.push({ field: 'id', outcome: 'refused', detail: `'${id}' is also the id of sync [${first}] of this document` });
    s.report.outcome = 'refused';
    s.config = undefined;
    s.seed = undefined;
  }
  return imported;
}

/** The issues to answer a refused import with: one per refused field, under the sync's index. */
export function refusedIssues(imported: ImportedGoSync[]): ConfigError | undefined {
  const issues = imported.flatMap((s) =>
    s.report.fields.filter((f) => f.outcome === 'refused').map((f) => ({ path: `[${s.report.index}].${f.field}`, message: f.detail })),
  );
  return issues.length > 0 ? new ConfigError(issues, 'cannot import the Go Idra syncs') : undefined;
}
