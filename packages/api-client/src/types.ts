import type {
  AgentEvent,
  AgentInfo,
  GoSyncReport,
  HistoryEntry,
  ScopeChange,
  ActivityPoint,
  TimelineEvent,
  AssignmentRecord,
  ConfigIssue,
  ConnectorDescription,
  DataSource,
  DeadLetter,
  OffsetChange,
  OffsetDocument,
  Position,
  SourceCheck,
  Sync,
  SyncConfig,
  SyncHealth,
  SyncStatus,
  TransactionVisibility,
  Channel,
  Rule,
  Incident,
  Delivery,
  OverviewPageOf,
  OverviewQuery,
  OverviewSummaryOf,
  HealthCounts,
} from '@idra/core';

export type { Channel as NotificationChannel, Rule as NotificationRule, Incident, Delivery };
export type {
  AgentEvent,
  AgentInfo,
  ActivityPoint,
  GoSyncReport,
  HistoryEntry,
  ScopeChange,
  TimelineEvent,
  ConfigIssue,
  ConnectorDescription,
  DataSource,
  DeadLetter,
  OffsetChange,
  OffsetDocument,
  Position,
  SourceCheck,
  Sync,
  SyncConfig,
  SyncHealth,
  SyncStatus,
  TransactionVisibility,
};

/** admin: everything · operator: syncs and data sources, pause/resume · viewer: read only. */
export type Role = 'admin' | 'operator' | 'viewer';
export const ROLES: readonly Role[] = ['viewer', 'operator', 'admin'];

/** Body of every error response. */
export interface ApiErrorBody {
  /** Stable code, `IDRA_ERR_<AREA>_<WHAT>`. */
  code: string;
  message: string;
  /** `issues` names each bad field (validation errors); other keys depend on the code. */
  details?: { issues?: ConfigIssue[]; [key: string]: unknown };
}

export interface UserView {
  name: string;
  role: Role;
  mustChangePassword: boolean;
  createdAt: string;
  updatedAt: string;
}

export interface LoginResult {
  token: string;
  expiresAt: string;
  /** When true every route but `POST /auth/password` and `POST /auth/logout` answers 403 until the password is changed. */
  mustChangePassword: boolean;
  user: UserView;
}

/** What the login page may know before anyone logs in. */
export interface AuthSetup {
  /** The user admin still has the first start's password (admin), to be changed at the first login. */
  defaultAdminPassword: boolean;
}

/** Who a request is authenticated as. */
export interface WhoAmI {
  name: string;
  role: Role;
  via: 'session' | 'api-token';
  tokenId?: string;
  mustChangePassword: boolean;
}

export interface ApiTokenView {
  id: string;
  name: string;
  role: Role;
  /** The user who created it. */
  owner: string;
  createdAt: string;
  lastUsedAt: string | null;
  expiresAt: string | null;
}

/** A new API token: `token` is shown this once and never stored in clear. */
export interface CreatedApiToken extends ApiTokenView {
  token: string;
}

export interface SyncList {
  syncs: SyncConfig[];
  /** Stored documents that no longer validate, with the reason. */
  invalid: Array<{ id: string; error: string }>;
}

export interface AssignmentView extends AssignmentRecord {
  syncId: string;
}

/** One row of the combined view: a sync, what its agent reports, and who runs it. */
export interface SyncOverview {
  id: string;
  name: string;
  enabled: boolean;
  mode: SyncConfig['mode'];
  source: { connector: string; dataSourceId?: string | undefined; table?: string | undefined };
  destination: { connector: string; dataSourceId?: string | undefined; table?: string | undefined };
  status: SyncStatus | null;
  assignment: AssignmentView | null;
  /** The agent holding the sync's lock (it runs the sync now), if any. */
  runningOn: string | null;
  deadLetters: number;
  /** Why the leader gives the sync to no agent (no agent matches its placement, all are at capacity), when it does not. */
  unassigned?: { reason: string; since: string } | null;
  /** Derived by core's `deriveHealth` from the status, the assignment and the sync's lag threshold. */
  health: SyncHealth;
  lagThreshold?: SyncConfig['lagThreshold'];
}

/** One page of the overview, filtered and sorted by the server (`GET /overview/page`). */
export type OverviewPage = OverviewPageOf<SyncOverview>;
/** The dashboard's view of every sync: counts by health, the busiest and the newest errors (`GET /overview/summary`). */
export type OverviewSummary = OverviewSummaryOf<SyncOverview>;
export type { OverviewQuery, HealthCounts };

/** Per-minute points of one sync (minutes with nothing new are absent: carry the lag forward). */
export interface SyncActivity {
  syncId: string;
  range: '1h' | '6h' | '24h';
  from: string;
  to: string;
  points: ActivityPoint[];
}

export interface AgentView extends AgentInfo {
  leaseId?: string;
  /** The elected leader computes assignments. */
  leader: boolean;
  /** Syncs assigned to this agent. */
  syncs: string[];
}

/** A sync waiting for or holding a slot of a limited data source. */
export interface SlotHolderView {
  syncId: string;
  agentId: string;
  roles: Array<'read' | 'write'>;
  /** When it began to wait. */
  since: string;
  grantedAt?: string | undefined;
}

/** The concurrency of one data source: its limits, who holds its slots and who waits, in queue order. */
export interface DataSourceSlotsView {
  dataSourceId: string;
  maxConcurrentSyncs: number | null;
  maxReaders: number | null;
  maxWriters: number | null;
  holdSlotWhileIdle: boolean;
  held: SlotHolderView[];
  waiting: SlotHolderView[];
}

export interface ClusterMember {
  id: string;
  name: string;
  clientURLs: string[];
  peerURLs: string[];
  isLeader: boolean;
  /** Bytes allocated by the member's database (null when the member did not answer). */
  dbSize: number | null;
  dbSizeInUse: number | null;
  version: string | null;
  raftIndex: string | null;
  error: string | null;
}

export interface ClusterHealth {
  healthy: boolean;
  leaderId: string | null;
  members: ClusterMember[];
  prefix: string;
}

/**
 * Options of a change of a sync or data source: why (kept in its history), and — when the change
 * moves what a stored offset points into (409 IDRA_ERR_OFFSET_SCOPE_CHANGED) — what to do with it:
 * `reset` (start over) or `keep` with `confirm` set to the sync's (data source's) id, typed by the user.
 */
export interface ChangeOptions {
  reason?: string;
  offset?: 'reset' | 'keep';
  confirm?: string;
}

/** `details` of a 409 IDRA_ERR_OFFSET_SCOPE_CHANGED. */
export interface OffsetScopeConflict {
  changes: ScopeChange[];
  offset: Position;
  choices: Array<'reset' | 'keep'>;
}

export interface OffsetView {
  syncId: string;
  offset: OffsetDocument | null;
  enabled: boolean;
  /** The agent holding the sync's lock; an offset can be set only when null and the sync is paused. */
  runningOn: string | null;
}

export interface SetOffsetRequest {
  /** The new position; null starts the sync over. */
  position: Position | null;
  reason: string;
}

export interface DeadLetterView extends DeadLetter {
  id: string;
}

/** What retrying rejected rows did: written ones left the list, refused ones keep their new error. */
export interface RetryDeadLettersResult {
  written: string[];
  rejected: Array<{ id: string; error: string }>;
}

export interface ErrorSummary {
  syncId: string;
  count: number;
}

export interface ValidateResult {
  valid: true;
  /** The sync with every default applied (secrets masked). */
  normalized: Sync;
}

export interface ExportDocument {
  dataSources: DataSource[];
  syncs: SyncConfig[];
}

export interface ImportResult {
  format: 'idra' | 'go-idra';
  /** True for `dryRun=true`: nothing was written; the result says what the import would do. */
  dryRun: boolean;
  syncs: { created: string[]; updated: string[] };
  dataSources: { created: string[]; updated: string[] };
  /** Syncs whose offset was seeded from a Go Idra `start_offset`. */
  offsetsSeeded: string[];
  /** Go Idra documents: what became of every sync and field (mapped, converted, ignored, refused). */
  report?: GoSyncReport[];
  /** Go Idra syncs that cannot be imported faithfully (left out with `skipRefused=true`). */
  refused?: string[];
}

export interface ImportOptions {
  /** Replace syncs and data sources that exist (default: 409). */
  overwrite?: boolean;
  /** Check and report only; write nothing. */
  dryRun?: boolean;
  /** Go Idra: import the importable syncs, leave the refused ones out (default: refuse the whole import). */
  skipRefused?: boolean;
}

/** `POST /migrate/go-idra`: Go Idra syncs and offsets read from its etcd (`idra migrate`). */
export interface GoMigrationRequest extends ImportOptions {
  /** The values of Go Idra's `/syncs/<id>` keys. */
  syncs: unknown[];
  /** Go Idra's `/offsets/<name>` values, by `<name>`. */
  offsets: Record<string, string>;
  /** The zone Go read wall-clock timestamps in (IANA name, UTC, +02:00), when not the one its connection strings imply. */
  timeZone?: string;
  /** Import every sync paused. */
  paused?: boolean;
}

export interface GoMigrationResult {
  dryRun: boolean;
  report: GoSyncReport[];
  syncs: { created: string[]; updated: string[] };
  /** Syncs refused (left out with `skipRefused`). */
  refused: string[];
  /** Syncs whose offset was stored (migrated, or seeded from `start_offset`). */
  offsetsSet: string[];
  /** Go offset keys no imported sync claimed. */
  unusedOffsets: string[];
}

/** What a data source holds (tables and views, collections, topics, bucket prefixes …), for choosing what to sync. */
export interface TableListing {
  ok: boolean;
  tables: Array<{ schema?: string | undefined; name: string; columns: Array<{ name: string; type: string; primaryKey: boolean }> }>;
  error?: string | undefined;
}

export interface ConnectionTestResult {
  ok: boolean;
  connector: string;
  latencyMs: number;
  error?: string | undefined;
  /** SQL connections only. */
  transactions?: TransactionVisibility | undefined;
  /** SQL connections with a change log: whether a `cdc` sync could read it, and what to change if not. */
  changeLog?:
    | { ready: boolean; problems: string[]; slots?: Array<{ name: string; active: boolean; lagBytes: number; sync?: string | null | undefined }> | undefined }
    | undefined;
}

/** A change pushed by `GET /api/v1/events` (server-sent events; the SSE event name is `kind`). */
export interface ClusterEvent {
  kind: 'status' | 'assignment' | 'agent';
  type: 'put' | 'delete';
  id: string;
  value: unknown;
  revision: string;
}

/** What sending a test notification came to. */
export interface NotificationTestResult {
  ok: boolean;
  httpStatus?: number | undefined;
  error?: string | undefined;
  /** Its entry in the delivery log. */
  deliveryId: string;
}
