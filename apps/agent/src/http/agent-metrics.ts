import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import {
  FencedError,
  effectiveLagThreshold,
  deriveHealth,
  HEALTH_ORDER,
  type CommitContext,
  type LagThreshold,
  type OffsetStore,
  type Position,
  type SchemaChangeRecord,
  type StrayErrorKind,
  type SyncState,
  type SyncStatus,
} from '@idra/core';

const SYNC_STATES: readonly SyncState[] = ['starting', 'waiting', 'running', 'idle', 'retrying', 'failed', 'stopped'];
/** Every outcome a schema change can have: each series exists from a sync's first status on. */
const SCHEMA_CHANGE_OUTCOMES = Object.keys({ applied: 0, ignored: 0, refused: 0 } satisfies Record<SchemaChangeRecord['outcome'], 0>) as Array<
  SchemaChangeRecord['outcome']
>;

/** What `SyncRunner`'s `onBatch` reports about one committed batch. */
export interface BatchInfo {
  rows: number;
  skipped: number;
  deleted?: number | undefined;
  /** Rows among `rows` that updated a source row, when the source tells (cdc). */
  updated?: number | undefined;
  durationMs: number;
  position: Position;
}

/** The cluster facts exported as gauges, read at scrape time. */
export interface ClusterFacts {
  readonly registeredNow: boolean;
  readonly isLeader: boolean;
}

/**
 * The agent's Prometheus metrics (`idra_*`, labels `sync` and `agent`), fed by the sync runners'
 * status and batch hooks and by an offset store wrapper that times commits.
 */
export class AgentMetrics {
  readonly registry = new Registry();
  private readonly agentId: string;
  private readonly rowsRead: Counter<'sync' | 'agent'>;
  private readonly rowsWritten: Counter<'sync' | 'agent'>;
  private readonly rowsSkipped: Counter<'sync' | 'agent'>;
  private readonly rowsDeleted: Counter<'sync' | 'agent'>;
  private readonly schemaChanges: Counter<'sync' | 'agent' | 'outcome'>;
  private readonly batches: Counter<'sync' | 'agent'>;
  private readonly batchDuration: Histogram<'sync' | 'agent'>;
  private readonly commitDuration: Histogram<'sync' | 'agent'>;
  private readonly commitFailures: Counter<'sync' | 'agent'>;
  private readonly commitsFenced: Counter<'sync' | 'agent'>;
  private readonly leaseLosses: Counter<'agent'>;
  private readonly errors: Counter<'sync' | 'agent' | 'code'>;
  private readonly lagRows: Gauge<'sync' | 'agent'>;
  private readonly lagSeconds: Gauge<'sync' | 'agent'>;
  private readonly changeLogLagBytes: Gauge<'sync' | 'agent'>;
  private readonly slotLagBytes: Gauge<'sync' | 'agent' | 'slot'>;
  private readonly changes: Counter<'sync' | 'agent' | 'kind'>;
  /** The replication slot each cdc sync's series is labelled with, so that it goes when the sync stops here. */
  private readonly slots = new Map<string, string>();
  private readonly lagPartRows: Gauge<'sync' | 'agent' | 'part'>;
  private readonly lagThresholdRows: Gauge<'sync' | 'agent'>;
  private readonly lagThresholdSeconds: Gauge<'sync' | 'agent'>;
  private readonly headChanges: Counter<'sync' | 'agent'>;
  /** The source head each sync reported last, so that only a change counts. */
  private readonly heads = new Map<string, string>();
  private readonly watermarkBlocked: Gauge<'sync' | 'agent' | 'session'>;
  /** The session each sync's watermark was blocked by last, so that its series goes when it ends. */
  private readonly blockers = new Map<string, string | undefined>();
  /** The parts whose lag each sync exported last, so that a part that went away loses its series. */
  private readonly lagParts = new Map<string, string[]>();
  private readonly lastBatch: Gauge<'sync' | 'agent'>;
  private readonly state: Gauge<'sync' | 'agent' | 'state'>;
  private readonly stray: Counter<'agent' | 'kind' | 'sync'>;
  private readonly health: Gauge<'sync' | 'agent' | 'health'>;
  private readonly slotWait: Histogram<'sync' | 'agent' | 'datasource'>;
  /** The last error counted per sync (its `at`), so that re-published statuses count it once. */
  private readonly lastErrorAt = new Map<string, string>();
  private readonly seen = new Set<string>();
  private cluster: ClusterFacts | undefined;

  constructor(agentId: string) {
    this.agentId = agentId;
    const registers = [this.registry];
    const labelNames = ['sync', 'agent'] as const;
    this.rowsRead = new Counter({ name: 'idra_rows_read_total', help: 'Rows read from the source in committed batches', labelNames, registers });
    this.rowsWritten = new Counter({ name: 'idra_rows_written_total', help: 'Rows written and committed to the destination', labelNames, registers });
    this.rowsSkipped = new Counter({
      name: 'idra_rows_skipped_total',
      help: 'Rows the destination rejected and onError: skip set aside',
      labelNames,
      registers,
    });
    this.rowsDeleted = new Counter({
      name: 'idra_rows_deleted_total',
      help: 'Destination rows deleted: deletes from a change log, soft-deleted rows, mirror passes, key reconciliation',
      labelNames,
      registers,
    });
    this.schemaChanges = new Counter({
      name: 'idra_schema_changes_total',
      help: "Changes of a source's columns, by what the sync's schemaChanges policy did (applied, ignored, refused)",
      labelNames: ['sync', 'agent', 'outcome'],
      registers,
    });
    this.batches = new Counter({ name: 'idra_batches_total', help: 'Batches committed (destination, then offset)', labelNames, registers });
    this.batchDuration = new Histogram({
      name: 'idra_batch_duration_seconds',
      help: 'Time of one batch: read, write and commit in the destination, commit of the offset',
      labelNames,
      buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30],
      registers,
    });
    this.commitDuration = new Histogram({
      name: 'idra_offset_commit_duration_seconds',
      help: 'Latency of an offset commit (a file rename in single mode, a fenced etcd transaction in cluster mode)',
      labelNames,
      buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5],
      registers,
    });
    this.commitFailures = new Counter({
      name: 'idra_offset_commit_failures_total',
      help: 'Offset commits that failed (including fenced ones)',
      labelNames,
      registers,
    });
    this.commitsFenced = new Counter({
      name: 'idra_offset_commits_fenced_total',
      help: "Offset commits refused because this agent no longer held the sync's lock (another agent owns it now)",
      labelNames,
      registers,
    });
    this.leaseLosses = new Counter({
      name: 'idra_agent_lease_losses_total',
      help: 'Cluster mode: times the agent lost its etcd lease and stopped every sync at once',
      labelNames: ['agent'],
      registers,
    });
    this.errors = new Counter({
      name: 'idra_sync_errors_total',
      help: 'Errors a sync reported (retried or fatal), by error code',
      labelNames: ['sync', 'agent', 'code'],
      registers,
    });
    this.lagRows = new Gauge({
      name: 'idra_sync_lag_rows',
      help: 'Rows the source has beyond the offset (estimate), where the source can count them',
      labelNames,
      registers,
    });
    this.lagSeconds = new Gauge({
      name: 'idra_sync_lag_seconds',
      help: 'Seconds between the newest source row and the offset, for timestamp cursors',
      labelNames,
      registers,
    });
    this.changes = new Counter({
      name: 'idra_sync_changes_total',
      help: "cdc: changes applied from the source's change log, by kind (insert, update, delete)",
      labelNames: ['sync', 'agent', 'kind'],
      registers,
    });
    this.changeLogLagBytes = new Gauge({
      name: 'idra_sync_change_log_lag_bytes',
      help: "cdc: bytes of the source's change log (PostgreSQL WAL, MySQL / MariaDB binlog) between the sync's offset and the server's position",
      labelNames: ['sync', 'agent'],
      registers,
    });
    this.slotLagBytes = new Gauge({
      name: 'idra_sync_replication_slot_lag_bytes',
      help: "cdc: bytes of the source's WAL between the sync's offset and the server's position, which its replication slot keeps",
      labelNames: ['sync', 'agent', 'slot'],
      registers,
    });
    this.lagPartRows = new Gauge({
      name: 'idra_sync_lag_part_rows',
      help: 'Rows not yet copied per part of the source (Kafka: per partition)',
      labelNames: ['sync', 'agent', 'part'],
      registers,
    });
    this.lagThresholdRows = new Gauge({
      name: 'idra_sync_lag_threshold_rows',
      help: "The sync's lag threshold in rows (its lagThreshold, or the default)",
      labelNames,
      registers,
    });
    this.lagThresholdSeconds = new Gauge({
      name: 'idra_sync_lag_threshold_seconds',
      help: "The sync's lag threshold in seconds (its lagThreshold, or the default)",
      labelNames,
      registers,
    });
    this.headChanges = new Counter({
      name: 'idra_sync_source_head_changes_total',
      help: "Times the source's newest cursor value (its head) was seen to change: with no batches meanwhile, the offset is stuck",
      labelNames,
      registers,
    });
    this.watermarkBlocked = new Gauge({
      name: 'idra_sync_watermark_blocked_seconds',
      help: "How long the open source transaction holding the sync's watermark back has been open (session: the database session holding it)",
      labelNames: ['sync', 'agent', 'session'],
      registers,
    });
    this.lastBatch = new Gauge({ name: 'idra_sync_last_batch_timestamp_seconds', help: 'Unix time of the last committed batch', labelNames, registers });
    this.state = new Gauge({
      name: 'idra_sync_state',
      help: 'Current state of a sync on this agent: 1 for its state, 0 for the others',
      labelNames: ['sync', 'agent', 'state'],
      registers,
    });
    this.stray = new Counter({
      name: 'idra_agent_uncaught_errors_total',
      help: "Errors the process's last-line guard caught (kind: uncaught exception or unhandled rejection; sync: the sync it was handed to, or empty)",
      labelNames: ['agent', 'kind', 'sync'],
      registers,
    });
    this.stray.inc({ agent: agentId, kind: 'uncaught exception', sync: '' }, 0);
    this.health = new Gauge({
      name: 'idra_sync_health',
      help: 'Health of a sync on this agent (the one the API, UI and CLI show): 1 for its health, 0 for the others',
      labelNames: ['sync', 'agent', 'health'],
      registers,
    });
    this.slotWait = new Histogram({
      name: 'idra_slot_wait_seconds',
      help: 'Time a sync waited for a slot of a data source at its concurrency limit (maxConcurrentSyncs, maxReaders, maxWriters), per slot taken',
      labelNames: ['sync', 'agent', 'datasource'],
      buckets: [0.01, 0.05, 0.1, 0.5, 1, 5, 10, 30, 60, 300, 900],
      registers,
    });
    const metrics = this;
    this.leaseLosses.inc({ agent: agentId }, 0);
    new Gauge({
      name: 'idra_agent_registered',
      help: 'Cluster mode: 1 while the agent holds a live etcd lease (registered), else 0',
      labelNames: ['agent'],
      registers,
      collect() {
        if (metrics.cluster) this.set({ agent: agentId }, metrics.cluster.registeredNow ? 1 : 0);
      },
    });
    new Gauge({
      name: 'idra_agent_leader',
      help: 'Cluster mode: 1 while the agent is the elected leader, else 0',
      labelNames: ['agent'],
      registers,
      collect() {
        if (metrics.cluster) this.set({ agent: agentId }, metrics.cluster.isLeader ? 1 : 0);
      },
    });
    collectDefaultMetrics({ register: this.registry, prefix: 'idra_agent_', labels: { agent: agentId } });
    // prom-client's totals of active handles/requests/resources are gauges named like counters (`promtool check metrics`
    // refuses them); the per-type gauges without `_total` remain, and their sum is the same figure.
    for (const kind of ['handles', 'requests', 'resources']) this.registry.removeSingleMetric(`idra_agent_nodejs_active_${kind}_total`);
  }

  /** A slot of a limited data source taken after `waitedMs` (while waiting, the sync's state is `waiting`). */
  observeSlotWait(sync: string, dataSource: string, waitedMs: number): void {
    this.slotWait.observe({ sync, agent: this.agentId, datasource: dataSource }, waitedMs / 1000);
  }

  /** Cluster mode: export registration and leadership from now on. */
  watchCluster(facts: ClusterFacts): void {
    this.cluster = facts;
  }

  /** A sync's status changed (`SyncRunner`'s `onStatus`); `lagThreshold` is the sync's own, when it sets one. */
  observeStatus(s: SyncStatus, lagThreshold?: LagThreshold): void {
    const labels = { sync: s.syncId, agent: this.agentId };
    if (!this.seen.has(s.syncId)) {
      // Counters start at 0 rather than appearing with the first event, so that rate() and alerts see them.
      this.seen.add(s.syncId);
      for (const counter of [
        this.rowsRead,
        this.rowsWritten,
        this.rowsSkipped,
        this.rowsDeleted,
        this.batches,
        this.commitFailures,
        this.commitsFenced,
        this.headChanges,
      ])
        counter.inc(labels, 0);
      for (const outcome of SCHEMA_CHANGE_OUTCOMES) this.schemaChanges.inc({ ...labels, outcome }, 0);
    }
    for (const state of SYNC_STATES) this.state.set({ ...labels, state }, state === s.state ? 1 : 0);
    // A stopped sync is no longer this agent's to judge: its health series go, like its lag.
    const { health } = deriveHealth({ enabled: true, assigned: true, status: s, lagThreshold });
    for (const h of HEALTH_ORDER) {
      if (s.state === 'stopped') this.health.remove({ ...labels, health: h });
      else this.health.set({ ...labels, health: h }, h === health ? 1 : 0);
    }
    // A stopped sync (moved to another agent, paused) has no lag here: a stale value would mask the real one.
    const lag = s.state === 'stopped' ? undefined : s.lag;
    setOrRemove(this.lagRows, labels, lag?.rows);
    setOrRemove(this.lagSeconds, labels, lag?.seconds);
    setOrRemove(this.changeLogLagBytes, labels, lag?.bytes);
    const running = s.state !== 'stopped';
    const limit = running ? effectiveLagThreshold(lagThreshold) : undefined;
    setOrRemove(this.lagThresholdRows, labels, limit?.rows);
    setOrRemove(this.lagThresholdSeconds, labels, limit?.seconds);
    if (lag?.head !== undefined) {
      const previous = this.heads.get(s.syncId);
      if (previous !== undefined && previous !== lag.head) this.headChanges.inc(labels);
      this.heads.set(s.syncId, lag.head);
    }
    const blocker = running ? s.blockedBy : undefined;
    const previousBlocker = this.blockers.get(s.syncId);
    if (previousBlocker !== undefined && previousBlocker !== blocker?.session) this.watermarkBlocked.remove({ ...labels, session: previousBlocker });
    if (blocker) this.watermarkBlocked.set({ ...labels, session: blocker.session }, blocker.seconds);
    this.blockers.set(s.syncId, blocker?.session);
    const value = s.position?.kind === 'stream' ? (s.position.value as { slot?: unknown } | null) : null;
    const slot = typeof value?.slot === 'string' ? value.slot : undefined;
    const shown = this.slots.get(s.syncId);
    if (shown !== undefined && (shown !== slot || lag?.bytes === undefined)) this.slotLagBytes.remove({ ...labels, slot: shown });
    if (slot !== undefined && lag?.bytes !== undefined) this.slotLagBytes.set({ ...labels, slot }, lag.bytes);
    if (slot !== undefined && lag?.bytes !== undefined) this.slots.set(s.syncId, slot);
    else this.slots.delete(s.syncId);
    const parts = lag?.parts ?? {};
    for (const part of this.lagParts.get(s.syncId) ?? []) if (!(part in parts)) this.lagPartRows.remove({ ...labels, part });
    for (const [part, rows] of Object.entries(parts)) this.lagPartRows.set({ ...labels, part }, rows);
    this.lagParts.set(s.syncId, Object.keys(parts));
    if (s.lastError && this.lastErrorAt.get(s.syncId) !== s.lastError.at) {
      this.lastErrorAt.set(s.syncId, s.lastError.at);
      this.errors.inc({ ...labels, code: s.lastError.code });
    }
  }

  /** Cluster mode: the agent's lease was lost (every sync stopped at once). */
  countLeaseLoss(): void {
    this.leaseLosses.inc({ agent: this.agentId });
  }

  /** The last-line guard caught an error (see `guardProcess`). */
  countStray(kind: StrayErrorKind, syncId: string | undefined): void {
    this.stray.inc({ agent: this.agentId, kind, sync: syncId ?? '' });
  }

  /** A batch was committed (`SyncRunner`'s `onBatch`). */
  observeBatch(syncId: string, batch: BatchInfo): void {
    const labels = { sync: syncId, agent: this.agentId };
    this.rowsRead.inc(labels, batch.rows + batch.skipped);
    this.rowsWritten.inc(labels, batch.rows);
    if (batch.skipped > 0) this.rowsSkipped.inc(labels, batch.skipped);
    if (batch.deleted) this.rowsDeleted.inc(labels, batch.deleted);
    this.batches.inc(labels);
    this.batchDuration.observe(labels, batch.durationMs / 1000);
    this.lastBatch.set(labels, Date.now() / 1000);
    if (batch.updated !== undefined) {
      // A change log tells inserts from updates: events per second by kind are rate() of these.
      this.changes.inc({ ...labels, kind: 'insert' }, batch.rows - batch.updated);
      this.changes.inc({ ...labels, kind: 'update' }, batch.updated);
      this.changes.inc({ ...labels, kind: 'delete' }, batch.deleted ?? 0);
    }
  }

  /** The source's columns changed (`SyncRunner`'s `onSchemaChange`). */
  observeSchemaChange(syncId: string, record: SchemaChangeRecord): void {
    this.schemaChanges.inc({ sync: syncId, agent: this.agentId, outcome: record.outcome }, record.changes.length);
  }

  /** The same offset store, with every commit timed and its failures counted. */
  measureOffsets(store: OffsetStore): OffsetStore {
    const metrics = this;
    return {
      load: (syncId) => store.load(syncId),
      set: (syncId, position, change) => store.set(syncId, position, change),
      history: (syncId) => store.history(syncId),
      async commit(syncId: string, position: Position, ctx: CommitContext) {
        const labels = { sync: syncId, agent: metrics.agentId };
        const end = metrics.commitDuration.startTimer(labels);
        try {
          return await store.commit(syncId, position, ctx);
        } catch (err) {
          metrics.commitFailures.inc(labels);
          if (err instanceof FencedError) metrics.commitsFenced.inc(labels);
          throw err;
        } finally {
          end();
        }
      },
    };
  }
}

function setOrRemove(gauge: Gauge<'sync' | 'agent'>, labels: { sync: string; agent: string }, value: number | undefined): void {
  if (value === undefined) gauge.remove(labels);
  else gauge.set(labels, value);
}
