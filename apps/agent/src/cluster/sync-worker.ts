import {
  ConfigError,
  DataSourceSlots,
  hasSlotLimits,
  EtcdOffsetStore,
  ActivityRecorder,
  ActivityStore,
  SyncLock,
  SyncRunner,
  ThrottledStatusWriter,
  carriedOver,
  errorMessage,
  newSyncStatus,
  sleep,
  type AgentSession,
  type BackoffOptions,
  type ConfigStore,
  type ConnectorRegistry,
  type LagThreshold,
  type Logger,
  type SlotNeed,
  type StatusStore,
  type SyncConfig,
  type SyncStatus,
  type TimelineEvent,
} from '@idra/core';
import type { Namespace } from 'etcd3';
import type { AgentMetrics } from '../http/agent-metrics.ts';

export interface SyncWorkerDeps {
  ns: Namespace;
  session: AgentSession;
  configs: ConfigStore;
  statuses: StatusStore;
  connectors: ConnectorRegistry;
  logger: Logger;
  backoff?: BackoffOptions | undefined;
  onStatus?: (status: SyncStatus) => void;
  metrics?: AgentMetrics | undefined;
}

/**
 * Runs one assigned sync on this agent: waits for `locks/<syncId>`, loads the sync from etcd, runs it
 * with offsets fenced by the lock, and releases the lock when it stops. A configuration change
 * restarts it after the batch in flight.
 */
export class SyncWorker {
  readonly syncId: string;
  private readonly deps: SyncWorkerDeps;
  private readonly log: Logger;
  private readonly stopCtl = new AbortController();
  private readonly statusWriter: ThrottledStatusWriter;
  private runner: SyncRunner | undefined;
  private restartWanted = false;
  private wakeIdle: (() => void) | undefined;
  private loop: Promise<void> | undefined;
  private latest: SyncStatus | undefined;
  /** The sync's lock while this worker holds it: every write for the sync is fenced by it. */
  private lock: SyncLock | undefined;
  /** The data sources the running configuration uses: a change to one of them restarts this sync. */
  private dataSourceIds = new Set<string>();
  private lagThreshold: LagThreshold | undefined;
  private readonly activity: ActivityStore;
  /** This run's minutes and timeline, written under the lock held (fenced like the offset). */
  private recorder: ActivityRecorder | undefined;
  private activityWrites: Promise<unknown> = Promise.resolve();

  constructor(syncId: string, deps: SyncWorkerDeps) {
    this.syncId = syncId;
    this.deps = deps;
    this.log = deps.logger.child({ syncId });
    this.statusWriter = new ThrottledStatusWriter(deps.statuses, this.log, () => this.lock?.fence);
    this.activity = new ActivityStore(deps.ns);
  }

  start(): void {
    this.loop ??= this.run().catch((err) => this.log.error({ err: errorMessage(err) }, 'sync worker crashed'));
  }

  get status(): SyncStatus | undefined {
    return this.latest;
  }

  /** The sync's configuration (or a data source it uses) changed: run it again with the new one. */
  restart(): void {
    this.restartWanted = true;
    this.wakeIdle?.();
    void this.runner?.stop();
  }

  /** Whether the sync's current configuration reads or writes through this data source. */
  usesDataSource(id: string): boolean {
    return this.dataSourceIds.has(id);
  }

  /** An operator asked for an attempt now: skip the backoff, or leave the wait after a configuration error. */
  retryNow(): void {
    if (this.runner) this.runner.retryNow();
    else this.restart();
  }

  /** Stops after the batch in flight and releases the lock. */
  async stop(): Promise<void> {
    this.stopCtl.abort();
    this.wakeIdle?.();
    await this.runner?.stop();
    await this.loop;
  }

  /** Stops at once (the lease is gone: nothing could be committed anyway). */
  async abort(): Promise<void> {
    this.stopCtl.abort();
    this.wakeIdle?.();
    await this.runner?.abort();
    await this.loop;
  }

  private publish(status: SyncStatus): void {
    this.timelineOfStatus(this.latest, status);
    this.recorder?.observeStatus(status);
    this.latest = status;
    this.statusWriter.update(status);
    this.deps.metrics?.observeStatus(status, this.lagThreshold);
    this.deps.onStatus?.(status);
  }

  /** Failures beginning, changing and ending go to the timeline; every other status only to the minute's point. */
  private timelineOfStatus(before: SyncStatus | undefined, after: SyncStatus): void {
    const failing = (s: SyncStatus | undefined) => s !== undefined && (s.state === 'failed' || s.state === 'retrying');
    if (failing(after) && (!failing(before) || before!.lastError?.message !== after.lastError?.message)) {
      this.event({ kind: 'error', text: `${after.state}: ${after.lastError?.message ?? 'unknown error'}` });
    } else if (failing(before) && (after.state === 'running' || after.state === 'idle')) {
      this.event({ kind: 'recovered', text: `recovered after ${before!.attempts ?? 1} failed attempt(s)` });
    }
  }

  private event(e: Omit<TimelineEvent, 'at' | 'agentId'>): void {
    const fence = this.lock?.fence;
    if (!fence) return;
    const event: TimelineEvent = { at: new Date().toISOString(), agentId: this.deps.session.info.agentId, ...e };
    this.activityWrites = this.activityWrites.then(() =>
      this.activity.addEvent(this.syncId, event, fence).catch((err) => this.log.warn({ err: errorMessage(err) }, 'cannot write a timeline event')),
    );
  }

  private async run(): Promise<void> {
    const { ns, session } = this.deps;
    const signal = this.stopCtl.signal;
    while (!signal.aborted) {
      let lock: SyncLock | undefined;
      try {
        lock = await SyncLock.acquire(ns, this.syncId, { agentId: session.info.agentId, leaseId: session.leaseId }, signal);
      } catch (err) {
        this.log.warn({ err: errorMessage(err) }, 'cannot take the sync lock; retrying');
        await sleep(500, signal);
        continue;
      }
      if (!lock) break;
      this.lock = lock;
      this.log.info({ epoch: lock.fence.createRevision }, 'sync lock acquired');
      const me = session.info.agentId;
      const recorder = new ActivityRecorder(me, (point) => {
        const fence = lock.fence;
        this.activityWrites = this.activityWrites.then(() =>
          this.activity.writePoint(this.syncId, point, fence).catch((err) => this.log.warn({ err: errorMessage(err) }, 'cannot write sync history')),
        );
      });
      this.recorder = recorder;
      // A quiet sync's minute still closes (and is written only if its lag or state changed).
      const ticker = setInterval(() => recorder.tick(), 15_000);
      ticker.unref();
      const last = this.latest ?? (await this.deps.statuses.get(this.syncId).catch(() => undefined));
      this.event(
        last && last.agentId !== me
          ? { kind: 'handoff', text: `moved from agent ${last.agentId} to agent ${me}` }
          : { kind: 'started', text: `started on agent ${me}` },
      );
      try {
        await this.runLocked(lock);
      } finally {
        clearInterval(ticker);
        recorder.close();
        this.recorder = undefined;
        if (session.valid) this.event({ kind: 'stopped', text: `stopped on agent ${me}` });
        await this.activityWrites;
        await this.statusWriter.flush();
        this.lock = undefined;
        if (session.valid) await lock.release().catch((err) => this.log.warn({ err: errorMessage(err) }, 'cannot release the sync lock'));
      }
      if (!session.valid) break;
    }
  }

  private async runLocked(lock: SyncLock): Promise<void> {
    const { session, configs } = this.deps;
    const signal = this.stopCtl.signal;
    while (!signal.aborted && session.valid) {
      this.restartWanted = false;
      let runner: SyncRunner;
      try {
        const config = await configs.getSync(this.syncId);
        if (!config) return; // deleted: the leader will drop the assignment
        this.lagThreshold = config.lagThreshold;
        this.dataSourceIds = new Set([config.source.dataSourceId, config.destination.dataSourceId].filter((x): x is string => x !== undefined));
        const sync = await configs.resolveSync(config);
        const slots = await this.slotsFor(config, lock);
        // Totals, position and lag carry over from the last status, whichever agent wrote it.
        const previous = this.latest ?? (await this.deps.statuses.get(this.syncId));
        const offsets = new EtcdOffsetStore(this.deps.ns, (id) => (id === this.syncId ? lock.fence : undefined));
        runner = new SyncRunner({
          sync,
          connectors: this.deps.connectors,
          offsets: this.deps.metrics ? this.deps.metrics.measureOffsets(offsets) : offsets,
          deadLetters: this.deps.statuses.deadLetterSink(this.syncId, () => lock.fence),
          agentId: session.info.agentId,
          epoch: Number(lock.fence.createRevision),
          logger: this.deps.logger,
          ...(this.deps.backoff ? { backoff: this.deps.backoff } : {}),
          beforeWrite: () => session.assertValid(this.syncId),
          slots,
          previous,
          onStatus: (s) => this.publish(s),
          onSchemaChange: (record) => {
            this.deps.metrics?.observeSchemaChange(this.syncId, record);
            this.event({ kind: 'schema', text: `source columns changed (${record.outcome}): ${record.changes.join('; ')}` });
          },
          onBatch: (batch) => {
            this.recorder?.observeBatch(batch.rows, batch.skipped);
            this.deps.metrics?.observeBatch(this.syncId, batch);
            const { rows, durationMs } = batch;
            const committedAt = Date.now();
            const revision = offsets.lastCommitRevision(this.syncId);
            this.log.debug({ rows, epoch: lock.fence.createRevision, revision, startedAt: committedAt - durationMs, committedAt }, 'batch committed');
          },
        });
      } catch (err) {
        const transient = !(err instanceof ConfigError);
        this.publishError(err, transient);
        if (transient) await sleep(1000, signal);
        else await this.idleUntilRestart();
        continue;
      }
      // Stopped while the configuration was being read (a pause brings a change and an unassignment
      // at once): stop() found no runner to stop, so none may start.
      if (signal.aborted) return;
      this.runner = runner;
      await runner.start();
      this.runner = undefined;
      const state = runner.snapshot.state;
      if (runner.snapshot.lastError?.code === 'IDRA_ERR_OFFSET_FENCED') return; // the lock is not ours anymore
      if (state === 'failed') await this.idleUntilRestart(); // error policy 'stop': wait for a change or an operator
      if (!this.restartWanted) return;
    }
  }

  /** Slots on the limited data sources the sync reads (its source) and writes (its destination); none when no limit applies. */
  private async slotsFor(config: SyncConfig, lock: SyncLock): Promise<DataSourceSlots | undefined> {
    const roles = new Map<string, SlotNeed['roles']>();
    if (config.source.dataSourceId) roles.set(config.source.dataSourceId, ['read']);
    const written = config.destination.dataSourceId;
    if (written) roles.set(written, [...(roles.get(written) ?? []), 'write']);
    const needs: SlotNeed[] = [];
    let holdWhileIdle = false;
    for (const [dataSourceId, used] of roles) {
      const ds = await this.deps.configs.getDataSource(dataSourceId);
      if (!ds || !hasSlotLimits(ds)) continue;
      needs.push({ dataSourceId, roles: used });
      holdWhileIdle ||= ds.holdSlotWhileIdle === true;
    }
    if (needs.length === 0) return undefined;
    const { session, metrics } = this.deps;
    return new DataSourceSlots({
      ns: this.deps.ns,
      syncId: this.syncId,
      agentId: session.info.agentId,
      leaseId: session.leaseId,
      fenceOf: () => (this.lock === lock ? lock.fence : undefined),
      needs,
      holdWhileIdle,
      onGranted: (dataSourceId, waitedMs) => metrics?.observeSlotWait(this.syncId, dataSourceId, waitedMs),
    });
  }

  private publishError(err: unknown, transient: boolean): void {
    const now = new Date().toISOString();
    this.log.error({ err: errorMessage(err) }, transient ? 'cannot load the sync; retrying' : 'invalid sync configuration');
    const previous = this.latest;
    this.publish(
      newSyncStatus(this.syncId, this.deps.session.info.agentId, {
        ...carriedOver(previous),
        state: transient ? 'retrying' : 'failed',
        attempts: (previous?.attempts ?? 0) + 1,
        failingSince: previous?.failingSince ?? now,
        lastError: { message: errorMessage(err), code: err instanceof ConfigError ? err.code : 'IDRA_ERR_UNEXPECTED', at: now, transient },
        retryInMs: transient ? 1000 : undefined,
        nextRetryAt: transient ? new Date(Date.now() + 1000).toISOString() : undefined,
        updatedAt: now,
      }),
    );
  }

  private idleUntilRestart(): Promise<void> {
    return new Promise((resolve) => {
      if (this.restartWanted || this.stopCtl.signal.aborted) return resolve();
      this.wakeIdle = () => {
        this.wakeIdle = undefined;
        resolve();
      };
    });
  }
}
