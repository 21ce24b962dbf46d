import { Type, type Static, type TLiteral, type TUnion } from '@sinclair/typebox';
import { DURATION_PATTERN } from '../duration.ts';
import { CONNECTORS } from './connector-kinds.ts';
import { MODES, type SyncMode } from './modes.ts';
import { SYNC_DEFAULTS } from './defaults.ts';

/** Identifier of a sync or data source: usable as an etcd key segment and a file name. */
export const IdSchema = Type.String({ pattern: '^[A-Za-z0-9][A-Za-z0-9_.-]{0,127}$', description: 'letters, digits, _ . - (max 128)' });

/** What protects cursor reads from rows committed late (see docs/guarantees.md). */
export const WATERMARKS = ['transactions', 'delay-only'] as const;
export type WatermarkPolicy = (typeof WATERMARKS)[number];

/** What a change of the source's columns does to a sync. */
export const SCHEMA_CHANGE_POLICIES = ['evolve', 'ignore', 'fail'] as const;
export type SchemaChangePolicy = (typeof SCHEMA_CHANGE_POLICIES)[number];

/** How a polling sync deletes: `mirror` a full pass, or follow a soft-delete column by deleting (`delete`) or copying the mark (`mark`). */
export const DELETE_POLICIES = ['mirror', 'delete', 'mark'] as const;
export type DeletePolicy = (typeof DELETE_POLICIES)[number];

const literals = <T extends readonly string[]>(values: T, description?: string): TUnion<TLiteral<T[number]>[]> =>
  Type.Union(
    values.map((v) => Type.Literal(v)),
    description ? { description } : {},
  ) as TUnion<TLiteral<T[number]>[]>;

/** A duration: milliseconds as a number, or a string such as `'5s'`, `'250ms'`, `'1m'`. */
const Duration = (description: string) => Type.Union([Type.Integer({ minimum: 0 }), Type.String({ pattern: DURATION_PATTERN })], { description });

/** A label name or value of an agent (`--labels region=eu`), as Kubernetes labels are written. */
export const LABEL_NAME_PATTERN = '^[A-Za-z0-9]([A-Za-z0-9_./-]{0,61}[A-Za-z0-9])?$';
export const LABEL_VALUE_PATTERN = '^([A-Za-z0-9]([A-Za-z0-9_.-]{0,61}[A-Za-z0-9])?)?$';

/** Labels an agent must have to run a sync: `{ region: "eu" }` runs it only on agents started with `--labels region=eu`. */
export const PlacementSchema = Type.Record(Type.String({ pattern: LABEL_NAME_PATTERN }), Type.String({ pattern: LABEL_VALUE_PATTERN }), {
  description: 'labels an agent must have to run the sync, e.g. { "region": "eu" } (agents: --labels region=eu)',
  maxProperties: 16,
});
export type Placement = Static<typeof PlacementSchema>;

/** How to reach a server. Either a `url` (or `file` for SQLite) or the separate fields. */
export const ConnectionSchema = Type.Object(
  {
    url: Type.Optional(Type.String({ minLength: 1, description: 'e.g. postgres://user:pass@host:5432/db, mysql://…, mssql://…, mongodb://…' })),
    file: Type.Optional(Type.String({ minLength: 1, description: 'SQLite database file' })),
    host: Type.Optional(Type.String({ minLength: 1 })),
    port: Type.Optional(Type.Integer({ minimum: 1, maximum: 65535 })),
    database: Type.Optional(Type.String()),
    user: Type.Optional(Type.String()),
    password: Type.Optional(Type.String()),
    ssl: Type.Optional(Type.Boolean()),
    options: Type.Optional(
      Type.Record(Type.String(), Type.Unknown(), { description: 'driver-specific settings, handed to the driver as they are (open: any JSON)' }),
    ),
  },
  { additionalProperties: false },
);
export type Connection = Static<typeof ConnectionSchema>;

/** One end of a sync: which connector, which server, which table (or query, topic, bucket …). */
export const EndpointSchema = Type.Object(
  {
    connector: literals(CONNECTORS, 'connector kind'),
    dataSourceId: Type.Optional(IdSchema),
    connection: Type.Optional(ConnectionSchema),
    schema: Type.Optional(Type.String({ minLength: 1, description: 'SQL schema (PostgreSQL, SQL Server)' })),
    table: Type.Optional(Type.String({ minLength: 1 })),
    query: Type.Optional(Type.String({ minLength: 1, description: 'SQL source only: a SELECT used as a sub-query' })),
    columns: Type.Optional(Type.Array(Type.String({ minLength: 1 }), { minItems: 1, description: 'columns to copy (default all)' })),
    collection: Type.Optional(Type.String({ minLength: 1 })),
    topic: Type.Optional(Type.String({ minLength: 1 })),
    bucket: Type.Optional(Type.String({ minLength: 1 })),
    prefix: Type.Optional(Type.String()),
    url: Type.Optional(Type.String({ minLength: 1 })),
    options: Type.Optional(
      Type.Record(Type.String(), Type.Unknown(), {
        description: "connector-specific settings (open here: each connector's own schema of them is served by GET /api/v1/connectors)",
      }),
    ),
  },
  { additionalProperties: false },
);
export type Endpoint = Static<typeof EndpointSchema>;

/** A sync as users write it (JSON file, API, UI). `normalizeSync` fills the defaults. */
export const SyncSchema = Type.Object(
  {
    id: IdSchema,
    name: Type.Optional(Type.String({ maxLength: 200 })),
    enabled: Type.Optional(Type.Boolean({ default: true })),
    source: EndpointSchema,
    destination: EndpointSchema,
    mode: literals(MODES, 'how the resume point is tracked'),
    cursorColumn: Type.Optional(Type.String({ minLength: 1, description: 'id / timestamp column the cursor follows' })),
    tiebreakerColumn: Type.Optional(
      Type.String({ minLength: 1, description: 'timestamp mode: unique column ordering rows with equal timestamps (default: the single key column)' }),
    ),
    keyColumns: Type.Optional(
      Type.Array(Type.String({ minLength: 1 }), { minItems: 1, description: 'primary key of the rows: upsert target, full-mode paging, tiebreaker' }),
    ),
    writeMode: Type.Optional(literals(['insert', 'upsert'] as const, 'insert: rows whose key exists are left alone; upsert: they are overwritten')),
    batchSize: Type.Optional(Type.Integer({ minimum: 1, maximum: 1_000_000, default: SYNC_DEFAULTS.batchSize })),
    batchBytes: Type.Optional(
      Type.Integer({
        minimum: 65_536,
        maximum: 1_073_741_824,
        default: SYNC_DEFAULTS.batchBytes,
        description: 'bytes of row data per read at most, judged by the rows read before (default 8 MiB): bounds memory whatever the row width',
      }),
    ),
    parallelism: Type.Optional(
      Type.Integer({
        minimum: 1,
        maximum: 16,
        default: SYNC_DEFAULTS.parallelism,
        description:
          'key ranges of a full copy (every pass of mode full, the first pass of id/timestamp) copied at the same time, each by a reader and a writer of its own (default 1)',
      }),
    ),
    pollIntervalMs: Type.Optional(Duration('pause after a short batch (default 5s)')),
    delayMs: Type.Optional(
      Duration(
        'id/timestamp modes: extra safety margin; rows newer than db now() minus this (and rows an open transaction may still precede) wait for a later poll (default 0)',
      ),
    ),
    watermark: Type.Optional(
      literals(
        WATERMARKS,
        "id/timestamp modes: 'transactions' (default): a source that cannot see other sessions' open transactions does not run unless delayMs is above 0; 'delay-only': accept that delayMs alone (even 0) protects rows those transactions commit late",
      ),
    ),
    onError: Type.Optional(literals(['stop', 'skip'] as const, 'what a row the destination rejects does (default stop)')),
    createTable: Type.Optional(Type.Boolean({ default: true, description: 'create the destination table when missing' })),
    schemaChanges: Type.Optional(
      literals(
        SCHEMA_CHANGE_POLICIES,
        "what a change of the source's columns does: 'evolve' (default): new columns are added to the destination, widened ones widened, dropped ones kept; 'ignore': only the destination's columns are copied; 'fail': the sync stops",
      ),
    ),
    deletes: Type.Optional(
      literals(
        DELETE_POLICIES,
        "'mirror' (full mode): after a complete pass, destination rows the pass did not see are deleted; with softDeleteColumn: 'delete' (default) removes the rows marked deleted, 'mark' copies them with their mark",
      ),
    ),
    softDeleteColumn: Type.Optional(
      Type.String({
        minLength: 1,
        description: 'id/timestamp modes: the source column marking a row deleted (deleted_at, is_deleted): set, true or non-zero means deleted',
      }),
    ),
    maxDeleteFraction: Type.Optional(
      Type.Number({
        minimum: 0,
        maximum: 1,
        description: 'mirror and reconciliation refuse to delete more than this share of the destination rows at once (default 0.5)',
      }),
    ),
    reconcileEvery: Type.Optional(
      Duration('id/timestamp modes: compare the keys of source and destination this often (e.g. "1h"), deleting keys gone from the source'),
    ),
    placement: Type.Optional(PlacementSchema),
    lagThreshold: Type.Optional(
      Type.Object(
        {
          rows: Type.Optional(Type.Integer({ minimum: 0, description: 'rows not yet copied (default 10000)' })),
          seconds: Type.Optional(Type.Integer({ minimum: 0, description: 'seconds behind the newest source row (default 300)' })),
        },
        { additionalProperties: false, description: 'beyond this lag the sync shows as lagging' },
      ),
    ),
  },
  { additionalProperties: false },
);
export type SyncConfig = Static<typeof SyncSchema>;

/** A named connection that syncs reference by `dataSourceId`. */
export const DataSourceSchema = Type.Object(
  {
    id: IdSchema,
    name: Type.Optional(Type.String({ maxLength: 200 })),
    connector: literals(CONNECTORS, 'connector kind'),
    connection: ConnectionSchema,
    maxConcurrentSyncs: Type.Optional(
      Type.Integer({ minimum: 1, maximum: 10_000, description: 'syncs using the data source at once (unset: no limit; 1: exclusive)' }),
    ),
    maxReaders: Type.Optional(Type.Integer({ minimum: 1, maximum: 10_000, description: 'syncs reading from it at once (unset: no limit of its own)' })),
    maxWriters: Type.Optional(Type.Integer({ minimum: 1, maximum: 10_000, description: 'syncs writing to it at once (unset: no limit of its own)' })),
    holdSlotWhileIdle: Type.Optional(
      Type.Boolean({ description: 'a sync keeps its slot (and its connections) between polls; by default it gives it back whenever it has caught up' }),
    ),
    placement: Type.Optional(PlacementSchema),
  },
  { additionalProperties: false },
);
export type DataSource = Static<typeof DataSourceSchema>;

/** The concurrency limits of a data source; a data source without any needs no slot. */
export function hasSlotLimits(ds: Pick<DataSource, 'maxConcurrentSyncs' | 'maxReaders' | 'maxWriters'>): boolean {
  return ds.maxConcurrentSyncs !== undefined || ds.maxReaders !== undefined || ds.maxWriters !== undefined;
}

/** The single-mode configuration file: data sources and syncs. */
export const ConfigFileSchema = Type.Object(
  {
    dataSources: Type.Optional(Type.Array(DataSourceSchema)),
    syncs: Type.Array(SyncSchema),
  },
  { additionalProperties: false },
);
export type ConfigFile = Static<typeof ConfigFileSchema>;

/**
 * The file with its syncs left to their own schema: an agent checks each sync on its own anyway (every
 * problem of a sync at once, rules between fields included), and compiling the sync's schema twice,
 * inside the file's and alone, cost its start about 60 ms.
 */
export const ConfigFileShapeSchema = Type.Object(
  {
    dataSources: Type.Optional(Type.Array(DataSourceSchema)),
    syncs: Type.Array(Type.Unknown()),
  },
  { additionalProperties: false },
);

/** A sync with every default applied, durations in milliseconds and connections resolved. */
export interface Sync {
  id: string;
  name: string;
  enabled: boolean;
  source: ResolvedEndpoint;
  destination: ResolvedEndpoint;
  mode: SyncMode;
  cursorColumn: string | undefined;
  tiebreakerColumn: string | undefined;
  keyColumns: string[];
  writeMode: 'insert' | 'upsert';
  batchSize: number;
  /** Bytes of row data per read at most, judged by the size of the rows read before. @default 8 MiB */
  batchBytes: number;
  /** Key ranges of a full copy copied at the same time (SQL sources to destinations that take parallel writers). @default 1 */
  parallelism: number;
  pollIntervalMs: number;
  delayMs: number;
  /**
   * 'transactions': reads wait for the open transactions the source can see, and a source that cannot
   * see them does not run unless `delayMs` > 0. 'delay-only': the user accepts that `delayMs` alone
   * protects from the transactions it cannot see. @default 'transactions'
   */
  watermark: WatermarkPolicy;
  onError: 'stop' | 'skip';
  createTable: boolean;
  /** What a change of the source's columns does. @default 'evolve' */
  schemaChanges: SchemaChangePolicy;
  /** How deletes reach the destination; 'none' when the sync does not delete. @default 'none' */
  deletes: DeletePolicy | 'none';
  /** The source column marking rows deleted (id/timestamp modes). */
  softDeleteColumn: string | undefined;
  /** Largest share of the destination's rows that mirror or reconciliation deletes at once. @default 0.5 */
  maxDeleteFraction: number;
  /** How often the keys of source and destination are compared (id/timestamp modes); undefined: never. */
  reconcileEveryMs: number | undefined;
  /** Labels an agent must have to run the sync (its own, merged with its data sources'). */
  placement: Placement | undefined;
  /** Beyond this lag the sync's health is `lagging` (defaults in `@idra/core/health`). */
  lagThreshold: { rows?: number | undefined; seconds?: number | undefined } | undefined;
}

/** An endpoint whose `connection` is filled in (from its data source when it named one). */
export interface ResolvedEndpoint extends Endpoint {
  connection: Connection;
}
