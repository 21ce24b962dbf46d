import { join } from 'node:path';
import { readFile } from 'node:fs/promises';
import {
  FileDeadLetterSink,
  FileOffsetStore,
  SyncRunner,
  makePrivateDir,
  writeFileAtomic,
  describePosition,
  errorMessage,
  type ConnectorRegistry,
  type Logger,
  type Sync,
  type SyncStatus,
  type BackoffOptions,
  type Position,
  offsetScopeOf,
} from '@idra/core';
import { ProgressLog } from './progress.ts';
import type { AgentMetrics } from './http/agent-metrics.ts';

export interface SingleModeOptions {
  syncs: Sync[];
  stateDir: string;
  agentId: string;
  connectors: ConnectorRegistry;
  logger: Logger;
  progressIntervalMs: number;
  /** Offsets to seed for syncs that have none yet (from a Go Idra export's start_offset). */
  startOffsets?: Map<string, Position>;
  backoff?: BackoffOptions;
  /** Prometheus metrics fed by every sync, when the agent serves them. */
  metrics?: AgentMetrics | undefined;
}

/** Runs every enabled sync of a configuration file concurrently, offsets in files under the state dir. */
export class SingleModeAgent {
  private readonly opts: SingleModeOptions;
  private readonly offsets: FileOffsetStore;
  private readonly runners: SyncRunner[] = [];
  private readonly statuses = new Map<string, SyncStatus>();
  private readonly progress: ProgressLog;
  private statusTimer: NodeJS.Timeout | undefined;
  private statusDirty = false;
  private stopping = false;
  private settle: ((outcome: 'all-failed') => void) | undefined;

  constructor(opts: SingleModeOptions) {
    this.opts = opts;
    this.offsets = new FileOffsetStore(opts.stateDir);
    this.progress = new ProgressLog(opts.logger, opts.progressIntervalMs);
  }

  async start(): Promise<void> {
    const { syncs, logger, stateDir } = this.opts;
    await makePrivateDir(stateDir);
    const enabled = syncs.filter((s) => s.enabled);
    const metrics = this.opts.metrics;
    const offsets = metrics ? metrics.measureOffsets(this.offsets) : this.offsets;
    logger.info({ syncs: enabled.map((s) => s.id), stateDir }, `single mode: ${enabled.length} enabled sync(s) of ${syncs.length}`);
    const previous = await this.previousStatuses();
    for (const sync of enabled) {
      const seed = this.opts.startOffsets?.get(sync.id);
      if (seed && !(await this.offsets.load(sync.id))) {
        await this.offsets.commit(sync.id, seed, { agentId: this.opts.agentId, epoch: 0, scope: offsetScopeOf(sync) });
      }
      const stored = await this.offsets.load(sync.id);
      logger.info(
        { syncId: sync.id, mode: sync.mode },
        `sync ${sync.id}: ${stored ? `resuming from ${describePosition(stored)}` : 'starting from the beginning'}`,
      );
      const runner = new SyncRunner({
        sync,
        connectors: this.opts.connectors,
        offsets,
        deadLetters: new FileDeadLetterSink(stateDir, sync.id),
        agentId: this.opts.agentId,
        logger,
        ...(this.opts.backoff ? { backoff: this.opts.backoff } : {}),
        onStatus: (s) => this.onStatus(s),
        previous: previous.get(sync.id),
        ...(metrics ? { onBatch: (b) => metrics.observeBatch(sync.id, b), onSchemaChange: (r) => metrics.observeSchemaChange(sync.id, r) } : {}),
      });
      this.runners.push(runner);
      void runner.start();
    }
    this.statusTimer = setInterval(() => void this.writeStatus(), 1000);
    this.statusTimer.unref();
  }

  /** The statuses of the last run (their totals carry over); none when the file is missing or unreadable. */
  private async previousStatuses(): Promise<Map<string, SyncStatus>> {
    try {
      const list = JSON.parse(await readFile(join(this.opts.stateDir, 'status.json'), 'utf8')) as SyncStatus[];
      return new Map(Array.isArray(list) ? list.filter((s) => typeof s?.syncId === 'string').map((s) => [s.syncId, s]) : []);
    } catch {
      return new Map();
    }
  }

  private onStatus(s: SyncStatus): void {
    this.opts.metrics?.observeStatus(s, this.opts.syncs.find((x) => x.id === s.syncId)?.lagThreshold);
    this.statuses.set(s.syncId, s);
    this.progress.update(s);
    this.statusDirty = true;
    this.checkSettled();
  }

  /** `<stateDir>/status.json`: the latest status of every sync, at most once a second. */
  private async writeStatus(): Promise<void> {
    if (!this.statusDirty) return;
    this.statusDirty = false;
    try {
      await writeFileAtomic(join(this.opts.stateDir, 'status.json'), JSON.stringify([...this.statuses.values()], null, 2) + '\n');
    } catch (err) {
      this.opts.logger.warn({ err: errorMessage(err) }, 'cannot write status file');
    }
  }

  status(): SyncStatus[] {
    return this.runners.map((r) => r.snapshot);
  }

  /**
   * Resolves when no sync is left to run by itself: at once when none is enabled, else once every
   * sync has failed in a way only an operator can fix (unusable configuration, a row refused under
   * `onError: stop`, an offset that no longer fits): those wait for a "retry now" that nothing sends
   * in single mode. Syncs failing on something outside Idra (a password, a missing table) retry by
   * themselves and keep the agent running. It never resolves for an agent being stopped.
   */
  settled(): Promise<'none-enabled' | 'all-failed'> {
    if (this.runners.length === 0) return Promise.resolve('none-enabled');
    return new Promise((resolve) => {
      this.settle = resolve;
      this.checkSettled();
    });
  }

  private checkSettled(): void {
    if (this.stopping || !this.settle) return;
    const waiting = (id: string) => {
      const s = this.statuses.get(id);
      return s?.state === 'failed' && s.retryInMs === undefined;
    };
    if (this.runners.every((r) => waiting(r.sync.id))) this.settle('all-failed');
  }

  /** Stops every sync after its batch in flight; aborts the batches still running after `timeoutMs`. */
  async stop(timeoutMs: number): Promise<void> {
    this.stopping = true;
    const graceful = Promise.all(this.runners.map((r) => r.stop()));
    const timer = setTimeout(() => {
      this.opts.logger.warn({ timeoutMs }, 'batches still running after the shutdown timeout: aborting them');
      for (const r of this.runners) void r.abort();
    }, timeoutMs);
    await graceful;
    clearTimeout(timer);
    if (this.statusTimer) clearInterval(this.statusTimer);
    this.progress.stop();
    this.statusDirty = true;
    await this.writeStatus();
  }
}
