// The answers of the routes as TypeBox schemas (status, health, lag, agents, cluster, identity, activity, history, offsets,
// slots, dead letters, notifications, validation, import/export, Go migration, connectors): Fastify
// serializes with them and the OpenAPI document shows them, and the compile-time checks at the end fail
// as soon as a type the code returns (core's SyncStatus, the client's views) and its schema part ways.
import { Type, type Static, type TLiteral, type TSchema, type TUnion } from '@sinclair/typebox';
import type {
  AgentEvent,
  AgentView,
  ClusterHealth,
  ConnectorDescription,
  DataSourceSlotsView,
  DeadLetterView,
  Delivery,
  ExportDocument,
  GoMigrationResult,
  GoSyncReport,
  HistoryEntry,
  ImportResult,
  Incident,
  OffsetChange,
  OffsetDocument,
  OffsetView,
  SyncActivity,
  SyncList,
  SyncOverview,
  OverviewPage,
  OverviewSummary,
  TimelineEvent,
  UserView,
  ValidateResult,
  WhoAmI,
} from '@idra/api-client';
import {
  ConnectionSchema,
  DataSourceSchema,
  DELETE_POLICIES,
  EndpointSchema,
  PositionSchema,
  SCHEMA_CHANGE_POLICIES,
  SyncSchema,
  WATERMARKS,
  type ConnectorRole,
  type Lag,
  type SyncHealth,
  type SyncStatus,
} from '@idra/core';
import { RoleSchema } from './schemas.ts';

const Nullable = <T extends TSchema>(schema: T) => Type.Union([schema, Type.Null()]);
const Time = (description?: string) => Type.String({ description: `ISO 8601 time${description ? `: ${description}` : ''}` });

export const LagSchema = Type.Object(
  {
    rows: Type.Optional(Type.Number({ description: 'rows not yet copied (estimate), when countable' })),
    seconds: Type.Optional(Type.Number({ description: 'seconds between the newest source row and the position (timestamp cursors)' })),
    head: Type.Optional(Type.String({ description: "the source's newest cursor value" })),
    parts: Type.Optional(Type.Record(Type.String(), Type.Number(), { description: 'rows not yet copied per part of the source (Kafka: per partition)' })),
    bytes: Type.Optional(Type.Number({ description: 'bytes of change log between the position and the server’s current one (PostgreSQL WAL, binlog)' })),
    snapshot: Type.Optional(
      Type.Object(
        { rows: Type.Number(), total: Type.Number(), etaSeconds: Type.Optional(Type.Number()) },
        { description: 'the initial copy of a change-log sync, while it runs: rows copied of about total' },
      ),
    ),
  },
  { $id: 'Lag', description: 'How far behind the source the sync is' },
);

const SyncErrorSchema = Type.Object({
  message: Type.String(),
  code: Type.String({ description: 'IDRA_ERR_* code' }),
  at: Time(),
  transient: Type.Optional(Type.Boolean({ description: 'a retry alone may fix it' })),
  row: Type.Optional(
    Type.Record(Type.String(), Type.Unknown(), { description: 'key values of the row the destination rejected (open: the columns of the user’s table)' }),
  ),
  column: Type.Optional(Type.String({ description: 'the column the destination named in its refusal' })),
});

export const SyncStatusSchema = Type.Object(
  {
    syncId: Type.String(),
    agentId: Type.String(),
    state: Type.Union(
      [
        Type.Literal('starting'),
        Type.Literal('waiting'),
        Type.Literal('running'),
        Type.Literal('idle'),
        Type.Literal('retrying'),
        Type.Literal('failed'),
        Type.Literal('stopped'),
      ],
      {
        description:
          'starting · waiting (for a data source slot) · running (copying) · idle (caught up, waiting for the next poll) · retrying · failed (needs an operator) · stopped',
      },
    ),
    rowsCopied: Type.Number({ description: 'since startedAt' }),
    rowsSkipped: Type.Number({ description: 'since startedAt' }),
    batches: Type.Number({ description: 'since startedAt' }),
    rowsDeleted: Type.Optional(Type.Number({ description: 'since startedAt' })),
    rowsUpdated: Type.Optional(Type.Number({ description: 'rows a change log reported as updates, since startedAt' })),
    schemaChanges: Type.Optional(
      Type.Array(
        Type.Object({
          at: Time(),
          changes: Type.Array(Type.String(), { description: 'each change in one line' }),
          outcome: Type.Union([Type.Literal('applied'), Type.Literal('ignored'), Type.Literal('refused')]),
          batch: Type.Number(),
        }),
        { description: 'the last schema changes of the source' },
      ),
    ),
    reconciliation: Type.Optional(
      Type.Object(
        {
          at: Time(),
          kind: Type.Union([Type.Literal('mirror'), Type.Literal('reconcile')]),
          sourceKeys: Type.Number(),
          destinationKeys: Type.Number(),
          deleted: Type.Number(),
          missing: Type.Number(),
          durationMs: Type.Number(),
          refused: Type.Optional(Type.String()),
        },
        { description: 'the last key reconciliation' },
      ),
    ),
    lastBatchAt: Type.Optional(Time()),
    position: Type.Optional(PositionSchema),
    heldBack: Type.Optional(Type.String({ description: 'why the source holds rows back (open transaction, delay)' })),
    blockedBy: Type.Optional(Type.Object({ session: Type.String(), seconds: Type.Number() }, { description: 'the open transaction holding rows back' })),
    watermark: Type.Optional(Type.String({ description: 'the cursor value the source reads up to' })),
    warning: Type.Optional(Type.String({ description: 'a condition weakening what the source guarantees' })),
    lag: Type.Optional(Type.Ref('Lag')),
    lastError: Type.Optional(SyncErrorSchema),
    retryInMs: Type.Optional(Type.Number()),
    nextRetryAt: Type.Optional(Time('the next automatic attempt')),
    attempts: Type.Optional(Type.Number({ description: 'consecutive failed attempts' })),
    failingSince: Type.Optional(Time()),
    startedAt: Type.Optional(Time('when this run began')),
    waitingFor: Type.Optional(
      Type.Object(
        {
          dataSourceId: Type.String(),
          limit: Type.Union([Type.Literal('syncs'), Type.Literal('readers'), Type.Literal('writers')]),
          held: Type.Number(),
          max: Type.Number(),
          holders: Type.Array(Type.String()),
          ahead: Type.Number(),
          since: Time(),
        },
        { description: 'a data source slot the sync waits for' },
      ),
    ),
    totals: Type.Optional(
      Type.Object(
        {
          rowsCopied: Type.Number(),
          rowsSkipped: Type.Number(),
          batches: Type.Number(),
          rowsDeleted: Type.Optional(Type.Number()),
          rowsUpdated: Type.Optional(Type.Number()),
          since: Time(),
          caughtUpAt: Type.Optional(Time('the end of the initial copy')),
        },
        { description: 'across runs, agents and pauses' },
      ),
    ),
    updatedAt: Time(),
  },
  { $id: 'SyncStatus', description: 'What the agent running a sync last reported' },
);

export const SyncHealthSchema = Type.Object(
  {
    health: Type.Union([
      Type.Literal('healthy'),
      Type.Literal('lagging'),
      Type.Literal('retrying'),
      Type.Literal('failed'),
      Type.Literal('paused'),
      Type.Literal('unassigned'),
    ]),
    reason: Type.String({ description: 'one line saying why' }),
    attempts: Type.Optional(Type.Number()),
    failingSince: Type.Optional(Time()),
    nextRetryAt: Type.Optional(Time()),
  },
  { $id: 'SyncHealth', description: 'healthy · lagging (beyond its lag threshold) · retrying · failed · paused · unassigned' },
);

const EndpointSummary = Type.Object({ connector: Type.String(), dataSourceId: Type.Optional(Type.String()), table: Type.Optional(Type.String()) });
const AssignmentSchema = Type.Object({ syncId: Type.String(), agentId: Type.String(), epoch: Type.Number() });

export const SyncOverviewSchema = Type.Object(
  {
    id: Type.String(),
    name: Type.String(),
    enabled: Type.Boolean(),
    mode: SyncSchema.properties.mode,
    source: EndpointSummary,
    destination: EndpointSummary,
    status: Nullable(Type.Ref('SyncStatus')),
    assignment: Nullable(AssignmentSchema),
    runningOn: Nullable(Type.String({ description: "the agent holding the sync's lock" })),
    deadLetters: Type.Number(),
    unassigned: Type.Optional(Nullable(Type.Object({ reason: Type.String(), since: Time() }, { description: 'why the leader gives the sync to no agent' }))),
    health: Type.Ref('SyncHealth'),
    lagThreshold: SyncSchema.properties.lagThreshold,
  },
  { $id: 'SyncOverview' },
);

const HealthCountsSchema = Type.Object(
  {
    all: Type.Integer(),
    failed: Type.Integer(),
    retrying: Type.Integer(),
    unassigned: Type.Integer(),
    lagging: Type.Integer(),
    healthy: Type.Integer(),
    paused: Type.Integer(),
  },
  { description: 'syncs per health, and all of them' },
);

export const OverviewPageSchema = Type.Object(
  {
    items: Type.Array(Type.Ref('SyncOverview')),
    total: Type.Integer({ description: 'syncs matching the query, on every page' }),
    page: Type.Integer({ description: '1-based' }),
    pages: Type.Integer(),
    pageSize: Type.Integer(),
    counts: { ...HealthCountsSchema, description: 'per health, among the syncs matching the text alone (whatever the health asked)' },
  },
  { $id: 'OverviewPage', description: 'One page of the overview' },
);

export const OverviewSummarySchema = Type.Object(
  {
    counts: HealthCountsSchema,
    busiest: Type.Array(Type.Ref('SyncOverview'), { description: 'at most 12 enabled syncs: problems first, then the most rows copied' }),
    recentErrors: Type.Array(Type.Ref('SyncOverview'), { description: 'at most 10 syncs whose last error is the newest' }),
  },
  { $id: 'OverviewSummary', description: "The dashboard's view of every sync" },
);

export const AgentViewSchema = Type.Object(
  {
    agentId: Type.String(),
    host: Type.String(),
    pid: Type.Number(),
    version: Type.String(),
    startedAt: Time(),
    capacity: Type.Optional(Type.Number({ description: 'syncs the agent runs at most (--max-syncs)' })),
    labels: Type.Optional(Type.Record(Type.String(), Type.String(), { description: 'where the agent runs (--labels)' })),
    leaseId: Type.Optional(Type.String()),
    leader: Type.Boolean({ description: 'the elected leader computes assignments' }),
    syncs: Type.Array(Type.String(), { description: 'syncs assigned to this agent' }),
  },
  { $id: 'AgentView' },
);

export const ClusterHealthSchema = Type.Object(
  {
    healthy: Type.Boolean(),
    leaderId: Nullable(Type.String()),
    members: Type.Array(
      Type.Object({
        id: Type.String(),
        name: Type.String(),
        clientURLs: Type.Array(Type.String()),
        peerURLs: Type.Array(Type.String()),
        isLeader: Type.Boolean(),
        dbSize: Nullable(Type.Number({ description: 'bytes; null when the member did not answer' })),
        dbSizeInUse: Nullable(Type.Number()),
        version: Nullable(Type.String()),
        raftIndex: Nullable(Type.String()),
        error: Nullable(Type.String()),
      }),
    ),
    prefix: Type.String(),
  },
  { $id: 'ClusterHealth' },
);

export const UserViewSchema = Type.Object(
  { name: Type.String(), role: RoleSchema, mustChangePassword: Type.Boolean(), createdAt: Time(), updatedAt: Time() },
  { $id: 'UserView' },
);

export const WhoAmISchema = Type.Object(
  {
    name: Type.String(),
    role: RoleSchema,
    via: Type.Union([Type.Literal('session'), Type.Literal('api-token')]),
    tokenId: Type.Optional(Type.String()),
    mustChangePassword: Type.Boolean(),
  },
  { $id: 'WhoAmI' },
);

type LiteralsOf<V extends readonly string[]> = { -readonly [K in keyof V]: TLiteral<V[K]> };
/** A union of string literals, typed as the tuple of them (inferred from a mapped array, Static would widen to string). */
const Literals = <const V extends readonly string[]>(values: V, description?: string) =>
  Type.Union(
    values.map((v) => Type.Literal(v)),
    description ? { description } : {},
  ) as unknown as TUnion<LiteralsOf<V>>;

export const SyncActivitySchema = Type.Object(
  {
    syncId: Type.String(),
    range: Literals(['1h', '6h', '24h']),
    from: Time(),
    to: Time(),
    points: Type.Array(
      Type.Object({
        t: Time('start of the minute'),
        rows: Type.Number(),
        skipped: Type.Number(),
        batches: Type.Number(),
        errors: Type.Number(),
        lagRows: Type.Optional(Type.Number({ description: 'at the end of the minute' })),
        lagSeconds: Type.Optional(Type.Number()),
        state: SyncStatusSchema.properties.state,
        agentId: Type.String(),
      }),
      { description: 'one per minute and agent with something new; a minute without is absent (carry the lag forward)' },
    ),
  },
  { $id: 'SyncActivity', description: 'Per-minute throughput, lag and errors of one sync (kept 24 h)' },
);

export const TimelineEventSchema = Type.Object(
  {
    at: Time(),
    kind: Literals(['started', 'handoff', 'stopped', 'error', 'recovered', 'schema', 'offset', 'paused', 'resumed', 'config', 'agent']),
    text: Type.String(),
    by: Type.Optional(Type.String({ description: "the person or token behind an operator's action" })),
    agentId: Type.Optional(Type.String()),
  },
  { $id: 'TimelineEvent', description: 'Something that happened to a sync' },
);

const ScopeChangeSchema = Type.Object({
  field: Literals(['mode', 'source', 'cursorColumn', 'tiebreakerColumn', 'keyColumns']),
  old: Type.String(),
  new: Type.String(),
});

export const HistoryEntrySchema = Type.Object(
  {
    id: Type.String({ description: 'sorts in time order; unique per object' }),
    at: Time(),
    by: Type.String({ description: 'the user (or `user (token <id>)`) who made the change' }),
    kind: Literals(['sync', 'dataSource']),
    objectId: Type.String(),
    action: Literals(['created', 'updated', 'paused', 'resumed', 'deleted']),
    reason: Type.Optional(Type.String()),
    via: Type.Optional(Type.String({ description: 'api (when absent), import, migrate, duplicate, bulk' })),
    changes: Type.Array(
      Type.Object(
        {
          path: Type.String(),
          old: Type.Optional(Type.Unknown({ description: 'the value at path before (open: any part of the document)' })),
          new: Type.Optional(Type.Unknown({ description: 'the value at path after (open: any part of the document)' })),
        },
        { description: 'secrets masked' },
      ),
    ),
    offset: Type.Optional(
      Type.Object(
        { decision: Literals(['reset', 'keep']), changes: Type.Array(ScopeChangeSchema) },
        { description: "a change of what the sync's offset points into, and what was chosen" },
      ),
    ),
  },
  { $id: 'HistoryEntry', description: 'One recorded change of a sync or data source: who, when, what, why' },
);

const SlotHolderSchema = Type.Object({
  syncId: Type.String(),
  agentId: Type.String(),
  roles: Type.Array(Literals(['read', 'write'])),
  since: Time('when it began to wait'),
  grantedAt: Type.Optional(Time()),
});

export const DataSourceSlotsViewSchema = Type.Object(
  {
    dataSourceId: Type.String(),
    maxConcurrentSyncs: Nullable(Type.Number()),
    maxReaders: Nullable(Type.Number()),
    maxWriters: Nullable(Type.Number()),
    holdSlotWhileIdle: Type.Boolean(),
    held: Type.Array(SlotHolderSchema),
    waiting: Type.Array(SlotHolderSchema, { description: 'in queue order' }),
  },
  { $id: 'DataSourceSlotsView', description: 'The concurrency of one data source: its limits, who holds its slots and who waits' },
);

export const AgentEventSchema = Type.Object(
  {
    at: Time(),
    agentId: Type.String(),
    kind: Literals(['stopped', 'lost'], 'stopped: it said so (SIGTERM) before its lease ended; lost: its lease expired'),
    moved: Type.Array(Type.Object({ syncId: Type.String(), to: Nullable(Type.String({ description: 'null: no agent left to take it' })) })),
  },
  { $id: 'AgentEvent', description: 'An agent that left the cluster, and where its syncs went' },
);

export const DeadLetterViewSchema = Type.Object(
  {
    id: Type.String(),
    at: Time(),
    syncId: Type.String(),
    row: Type.Record(Type.String(), Type.Unknown(), { description: 'the rejected row, by column (open: the columns of the user’s table)' }),
    error: Type.String(),
  },
  { $id: 'DeadLetterView', description: 'A row the destination rejected, set aside by the error policy skip' },
);

export const OffsetChangeSchema = Type.Object(
  { at: Time(), by: Type.String(), reason: Type.String(), old: Nullable(PositionSchema), new: Nullable(PositionSchema) },
  { $id: 'OffsetChange', description: 'A manual change of an offset (null: start over)' },
);

export const IncidentSchema = Type.Object(
  {
    id: Type.String({ description: '<ruleId>/<kind>/<syncId or ->' }),
    ruleId: Type.String(),
    kind: Literals(['sync-failing', 'sync-lagging', 'agents']),
    syncId: Type.Optional(Type.String()),
    state: Literals(['pending', 'open'], 'pending: not lasted long enough to be told yet'),
    since: Time('when the condition began'),
    openedAt: Type.Optional(Time()),
    health: Type.Optional(SyncHealthSchema.properties.health),
    reason: Type.String(),
  },
  { $id: 'Incident' },
);

export const DeliverySchema = Type.Object(
  {
    id: Type.String(),
    channelId: Type.String(),
    eventId: Type.String(),
    eventType: Literals(['opened', 'recovered', 'test']),
    incidentId: Type.String(),
    syncId: Type.Optional(Type.String()),
    text: Type.String(),
    status: Literals(['pending', 'delivered', 'failed']),
    attempts: Type.Number(),
    httpStatus: Type.Optional(Type.Number({ description: "the receiver's answer to the last attempt" })),
    error: Type.Optional(Type.String()),
    createdAt: Time(),
    updatedAt: Time(),
  },
  { $id: 'Delivery' },
);

export const SyncListSchema = Type.Object(
  {
    syncs: Type.Array(SyncSchema, { description: 'secrets masked' }),
    invalid: Type.Array(Type.Object({ id: Type.String(), error: Type.String() }), { description: 'stored documents that no longer validate, with the reason' }),
  },
  { $id: 'SyncList' },
);

export const ExportDocumentSchema = Type.Object(
  { dataSources: Type.Array(DataSourceSchema), syncs: Type.Array(SyncSchema) },
  { $id: 'ExportDocument', description: 'Importable with POST /import (secrets masked: an import into the same cluster keeps them)' },
);

const [IdPosition, TimestampPosition, FullPosition, StreamPosition] = PositionSchema.anyOf;
const OffsetFields = Type.Object({
  v: Type.Literal(1),
  committedAt: Time(),
  agentId: Type.String({ description: 'the agent that committed it (or the person who set it, for a manual change)' }),
  epoch: Type.Number({ description: "the agent's ownership of the sync it was committed under (0 in single mode)" }),
  scope: Type.Optional(
    Type.Object(
      {
        mode: SyncSchema.properties.mode,
        source: Type.String({ description: 'the source in words, without credentials' }),
        fingerprint: Type.String({ description: 'short hash of the source (the query’s full text included)' }),
        cursorColumn: Type.Optional(Type.String()),
        tiebreakerColumn: Type.Optional(Type.String()),
        keyColumns: Type.Optional(Type.Array(Type.String())),
      },
      { description: 'what the position points into (absent in offsets written before it was recorded)' },
    ),
  ),
});

export const OffsetDocumentSchema = Type.Union(
  [
    Type.Composite([IdPosition, OffsetFields]),
    Type.Composite([TimestampPosition, OffsetFields]),
    Type.Composite([FullPosition, OffsetFields]),
    Type.Composite([StreamPosition, OffsetFields]),
  ],
  { $id: 'OffsetDocument', description: 'A stored offset: the position (by kind) and who committed it, when, under which epoch' },
);

export const OffsetViewSchema = Type.Object(
  {
    syncId: Type.String(),
    offset: Nullable(Type.Ref('OffsetDocument')),
    enabled: Type.Boolean(),
    runningOn: Nullable(Type.String({ description: "the agent holding the sync's lock; an offset can be set only when null and the sync is paused" })),
  },
  { $id: 'OffsetView', description: "A sync's stored offset (null: none yet), and whether it can be changed now" },
);

const ResolvedEndpointSchema = Type.Object(
  { ...EndpointSchema.properties, connection: ConnectionSchema },
  { description: 'connection filled in from the data source' },
);

/** Core's `Sync`: what `normalizeSync` makes of a `SyncConfig`. */
const NormalizedSyncSchema = Type.Object(
  {
    id: Type.String(),
    name: Type.String(),
    enabled: Type.Boolean(),
    source: ResolvedEndpointSchema,
    destination: ResolvedEndpointSchema,
    mode: SyncSchema.properties.mode,
    cursorColumn: Type.Optional(Type.String()),
    tiebreakerColumn: Type.Optional(Type.String()),
    keyColumns: Type.Array(Type.String()),
    writeMode: Literals(['insert', 'upsert']),
    batchSize: Type.Integer(),
    batchBytes: Type.Integer(),
    parallelism: Type.Integer({ minimum: 1 }),
    pollIntervalMs: Type.Number(),
    delayMs: Type.Number(),
    watermark: Literals(WATERMARKS),
    onError: Literals(['stop', 'skip']),
    createTable: Type.Boolean(),
    schemaChanges: Literals(SCHEMA_CHANGE_POLICIES),
    deletes: Literals([...DELETE_POLICIES, 'none'], "'none' when the sync does not delete"),
    softDeleteColumn: Type.Optional(Type.String()),
    maxDeleteFraction: Type.Number(),
    reconcileEveryMs: Type.Optional(Type.Number()),

    placement: SyncSchema.properties.placement,
    lagThreshold: SyncSchema.properties.lagThreshold,
  },
  { description: 'The sync with every default applied, durations in milliseconds and connections resolved (secrets masked)' },
);

export const ValidateResultSchema = Type.Object({ valid: Type.Literal(true), normalized: NormalizedSyncSchema }, { $id: 'ValidateResult' });

const FIELD_OUTCOMES = ['mapped', 'converted', 'ignored', 'refused'] as const;

export const GoSyncReportSchema = Type.Object(
  {
    index: Type.Integer({ description: 'position in the imported document (0-based)' }),
    goId: Type.String({ description: "the Go sync's id ('' when it had none)" }),
    name: Type.String({ description: "the Go sync's sync_name" }),
    id: Type.Optional(Type.String({ description: 'the Idra sync id (the Go id when it is a valid Idra id)' })),
    outcome: Literals(['importable', 'refused']),
    fields: Type.Array(
      Type.Object({
        field: Type.String({ description: 'the Go field, e.g. source_connector.id' }),
        outcome: Literals(FIELD_OUTCOMES, 'mapped as it is · converted (detail: how) · ignored (detail: why) · refused (the sync is not imported)'),
        detail: Type.String({ description: 'never quotes a secret' }),
      }),
    ),
    offset: Type.Optional(
      Type.Object(
        {
          outcome: Literals([...FIELD_OUTCOMES, 'none']),
          detail: Type.String(),
          goKey: Type.Optional(Type.String({ description: 'the Go etcd key it was read from' })),
          goValue: Type.Optional(Type.String({ description: 'the raw Go value' })),
          position: Type.Optional(Nullable(PositionSchema)),
        },
        { description: "what became of the Go sync's stored offset (migrations)" },
      ),
    ),
  },
  { $id: 'GoSyncReport', description: 'What became of one Go Idra sync, field by field' },
);

const CreatedUpdated = Type.Object({ created: Type.Array(Type.String()), updated: Type.Array(Type.String()) });

export const ImportResultSchema = Type.Object(
  {
    format: Literals(['idra', 'go-idra']),
    dryRun: Type.Boolean({ description: 'true: nothing was written; the result says what the import would do' }),
    syncs: CreatedUpdated,
    dataSources: CreatedUpdated,
    offsetsSeeded: Type.Array(Type.String(), { description: 'syncs whose offset was seeded from a Go Idra start_offset' }),
    report: Type.Optional(Type.Array(Type.Ref('GoSyncReport'), { description: 'Go Idra documents: what became of every sync and field' })),
    refused: Type.Optional(Type.Array(Type.String(), { description: 'Go Idra syncs that cannot be imported faithfully (left out with skipRefused=true)' })),
  },
  { $id: 'ImportResult' },
);

export const GoMigrationResultSchema = Type.Object(
  {
    dryRun: Type.Boolean(),
    report: Type.Array(Type.Ref('GoSyncReport')),
    syncs: CreatedUpdated,
    refused: Type.Array(Type.String(), { description: 'syncs refused (left out with skipRefused)' }),
    offsetsSet: Type.Array(Type.String(), { description: 'syncs whose offset was stored (migrated, or seeded from start_offset)' }),
    unusedOffsets: Type.Array(Type.String(), { description: 'Go offset keys no imported sync claimed' }),
  },
  { $id: 'GoMigrationResult' },
);

const EndpointField = Literals(['schema', 'table', 'query', 'columns', 'collection', 'topic', 'bucket', 'prefix', 'url']);

/** The JSON Schema a connector role serves for its options: open where JSON Schema is (each option's keywords). */
const ConnectorOptionsSchema = Type.Object(
  {
    type: Type.Literal('object'),
    properties: Type.Record(
      Type.String(),
      Type.Object(
        { description: Type.Optional(Type.String()), default: Type.Optional(Type.Unknown({ description: 'open: a value of the option’s type' })) },
        { additionalProperties: true, description: "one option's JSON Schema, open as JSON Schema is: any of its keywords (type, minimum, enum, anyOf …)" },
      ),
    ),
    required: Type.Optional(Type.Array(Type.String())),
    additionalProperties: Type.Optional(Type.Boolean()),
  },
  { description: "the JSON Schema of the endpoint's options: what the role accepts, with descriptions and defaults" },
);

const ConnectorRoleSchema = Type.Object({
  fields: Type.Array(EndpointField, { description: 'the endpoint fields it uses; any other one given is refused' }),
  required: Type.Array(Type.Union([EndpointField, Type.Array(EndpointField)]), {
    description: 'fields that must be given; a list means exactly one of its fields',
  }),
  options: ConnectorOptionsSchema,
  modes: Type.Array(SyncSchema.properties.mode),
});

export const ConnectorDescriptionSchema = Type.Object(
  {
    kind: EndpointSchema.properties.connector,
    label: Type.String(),
    roles: Type.Object(
      { source: Type.Optional(ConnectorRoleSchema), destination: Type.Optional(ConnectorRoleSchema) },
      { description: 'a role that is absent is one the connector cannot play' },
    ),
  },
  { $id: 'ConnectorDescription', description: 'A connector: per role, the endpoint fields it uses (and requires), its options and the modes it plays' },
);

/** Registered once (app.addSchema) so that responses can `Type.Ref` them and the document names them. */
export const RESPONSE_SCHEMAS = [
  LagSchema,
  SyncStatusSchema,
  SyncHealthSchema,
  SyncOverviewSchema,
  OverviewPageSchema,
  OverviewSummarySchema,
  AgentViewSchema,
  ClusterHealthSchema,
  UserViewSchema,
  WhoAmISchema,
  SyncActivitySchema,
  TimelineEventSchema,
  HistoryEntrySchema,
  DataSourceSlotsViewSchema,
  AgentEventSchema,
  DeadLetterViewSchema,
  OffsetChangeSchema,
  IncidentSchema,
  DeliverySchema,
  SyncListSchema,
  ExportDocumentSchema,
  OffsetDocumentSchema,
  OffsetViewSchema,
  ValidateResultSchema,
  GoSyncReportSchema,
  ImportResultSchema,
  GoMigrationResultSchema,
  ConnectorDescriptionSchema,
];

// ---- compile-time: each schema describes exactly the type the code returns ----
/** T as JSON carries it: a property that may be undefined is absent instead (one flat object type, for Equal). */
type Json<T> =
  T extends ReadonlyArray<infer U>
    ? Array<Json<U>>
    : T extends object
      ? Flat<
          { [K in keyof T as undefined extends T[K] ? never : K]: Json<T[K]> } & {
            [K in keyof T as undefined extends T[K] ? K : never]?: Json<Exclude<T[K], undefined>>;
          }
        >
      : T;
type Flat<T> = { [K in keyof T]: T[K] };
/** Exactly the same type (an optional property missing on one side counts, unlike mutual assignability). */
type Same<A, B> = (<T>() => T extends A ? 1 : 2) extends <T>() => T extends B ? 1 : 2 ? true : false;
type Described<S extends TSchema, Refs> = Json<Omit<Static<S>, keyof Refs> & Refs>;
type GoSyncReportJson = Static<typeof GoSyncReportSchema>;
/** The options' JSON Schema is a TypeBox TObject in the code (symbols and all): held to the served shape, the rest is checked. */
type ConnectorRoleJson = Omit<NonNullable<ConnectorDescription['roles']['source']>, 'options'> & { options: Static<typeof ConnectorOptionsSchema> };

const checks: [
  Same<Json<Lag>, Json<Static<typeof LagSchema>>>,
  Same<Json<SyncStatus>, Described<typeof SyncStatusSchema, { lag?: Static<typeof LagSchema> }>>,
  Same<Json<SyncHealth>, Json<Static<typeof SyncHealthSchema>>>,
  Same<Json<SyncOverview>, Described<typeof SyncOverviewSchema, { status: SyncStatus | null; health: SyncHealth }>>,
  Same<Json<OverviewPage>, Described<typeof OverviewPageSchema, { items: SyncOverview[] }>>,
  Same<Json<OverviewSummary>, Described<typeof OverviewSummarySchema, { busiest: SyncOverview[]; recentErrors: SyncOverview[] }>>,
  Same<Json<AgentView>, Json<Static<typeof AgentViewSchema>>>,
  Same<Json<ClusterHealth>, Json<Static<typeof ClusterHealthSchema>>>,
  Same<Json<UserView>, Json<Static<typeof UserViewSchema>>>,
  Same<Json<WhoAmI>, Json<Static<typeof WhoAmISchema>>>,
  Same<Json<SyncActivity>, Json<Static<typeof SyncActivitySchema>>>,
  Same<Json<TimelineEvent>, Json<Static<typeof TimelineEventSchema>>>,
  Same<Json<HistoryEntry>, Json<Static<typeof HistoryEntrySchema>>>,
  Same<Json<DataSourceSlotsView>, Json<Static<typeof DataSourceSlotsViewSchema>>>,
  Same<Json<AgentEvent>, Json<Static<typeof AgentEventSchema>>>,
  Same<Json<DeadLetterView>, Json<Static<typeof DeadLetterViewSchema>>>,
  Same<Json<OffsetChange>, Json<Static<typeof OffsetChangeSchema>>>,
  Same<Json<Incident>, Json<Static<typeof IncidentSchema>>>,
  Same<Json<Delivery>, Json<Static<typeof DeliverySchema>>>,
  Same<Json<SyncList>, Json<Static<typeof SyncListSchema>>>,
  Same<Json<ExportDocument>, Json<Static<typeof ExportDocumentSchema>>>,
  Same<Json<OffsetDocument>, Json<Static<typeof OffsetDocumentSchema>>>,
  Same<Json<OffsetView>, Described<typeof OffsetViewSchema, { offset: OffsetDocument | null }>>,
  Same<Json<ValidateResult>, Json<Static<typeof ValidateResultSchema>>>,
  Same<Json<GoSyncReport>, Json<GoSyncReportJson>>,
  Same<Json<ImportResult>, Described<typeof ImportResultSchema, { report?: GoSyncReportJson[] }>>,
  Same<Json<GoMigrationResult>, Described<typeof GoMigrationResultSchema, { report: GoSyncReportJson[] }>>,
  Same<Json<Omit<ConnectorDescription, 'roles'> & { roles: { [R in ConnectorRole]?: ConnectorRoleJson } }>, Json<Static<typeof ConnectorDescriptionSchema>>>,
] = [
  true,
  true,
  true,
  true,
  true,
  true,
  true,
  true,
  true,
  true,
  true,
  true,
  true,
  true,
  true,
  true,
  true,
  true,
  true,
  true,
  true,
  true,
  true,
  true,
  true,
  true,
  true,
  true,
];
void checks;
