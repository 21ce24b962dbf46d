import type { Namespace, Watcher } from 'etcd3';
import {
  AgentSession,
  ConfigStore,
  KEYS,
  LeaderLoop,
  Notifier,
  StatusStore,
  agentInfo,
  connectEtcd,
  errorMessage,
  idOf,
  readAssignments,
  sleep,
  type AssignmentRecord,
  type BackoffOptions,
  type ConnectorRegistry,
  type EtcdConnection,
  type EtcdOptions,
  type Logger,
  type SecretBox,
  type SyncStatus,
} from '@idra/core';
import { SyncWorker } from './sync-worker.ts';
import type { AgentMetrics } from '../http/agent-metrics.ts';

export interface ClusterAgentOptions {
  etcd: EtcdOptions;
  agentId: string;
  version: string;
  leaseTtlSeconds: number;
  /** Where the agent runs (`--labels`): the leader gives it only syncs whose placement these labels match. */
  labels?: Record<string, string> | undefined;
  /** The most syncs the leader gives this agent (`--max-syncs`). */
  maxSyncs?: number | undefined;
  connectors: ConnectorRegistry;
  logger: Logger;
  secretBox?: SecretBox | undefined;
  backoff?: BackoffOptions | undefined;
  onStatus?: (status: SyncStatus) => void;
  /** Prometheus metrics fed by every sync this agent runs, when the agent serves them. */
  metrics?: AgentMetrics | undefined;
}

/**
 * An agent of a cluster: registers on a lease, takes part in the leader election, runs the syncs
 * assigned to it (each under its lock), and stops them all at once when its lease is lost.
 */
export class ClusterAgent {
  private readonly opts: ClusterAgentOptions;
  private readonly log: Logger;
  private readonly conn: EtcdConnection;
  private readonly configs: ConfigStore;
  private readonly statuses: StatusStore;
  private readonly stopCtl = new AbortController();
  private readonly workers = new Map<string, SyncWorker>();
  private session: AgentSession | undefined;
  private leader: LeaderLoop | undefined;
  /** Sends notifications while this agent is the leader. */
  private readonly notifier: Notifier;
  private loop: Promise<void> | undefined;
  private registered: (() => void) | undefined;
  readonly ready: Promise<void>;

  constructor(opts: ClusterAgentOptions) {
    this.opts = opts;
    this.log = opts.logger;
    this.conn = connectEtcd(opts.etcd);
    this.configs = new ConfigStore(this.conn.ns, opts.secretBox);
    this.statuses = new StatusStore(this.conn.ns);
    this.ready = new Promise((resolve) => (this.registered = resolve));
    this.notifier = new Notifier({
      ns: this.conn.ns,
      box: opts.secretBox,
      logger: opts.logger,
      leaderKey: () => (this.leader?.isLeader ? this.leader.leaderKey : undefined),
    });
  }

  get ns(): Namespace {
    return this.conn.ns;
  }

  get isLeader(): boolean {
    return this.leader?.isLeader ?? false;
  }

  get registeredNow(): boolean {
    return this.session?.valid ?? false;
  }

  workerStatuses(): SyncStatus[] {
    return [...this.workers.values()].map((w) => w.status).filter((s): s is SyncStatus => s !== undefined);
  }

  start(): void {
    this.loop ??= this.run();
    this.notifier.start();
  }

  /** One registration after another: a lost lease stops every sync, then the agent registers again. */
  private async run(): Promise<void> {
    let attempt = 0;
    const signal = this.stopCtl.signal;
    while (!signal.aborted) {
      const placement = { labels: this.opts.labels, capacity: this.opts.maxSyncs };
      const session = new AgentSession(this.conn.ns, agentInfo(this.opts.agentId, this.opts.version, placement), this.opts.leaseTtlSeconds);
      try {
        await session.start();
      } catch (err) {
        const delay = Math.min(5000, 250 * 2 ** attempt++);
        this.log.warn({ err: errorMessage(err), retryInMs: delay }, 'cannot register with etcd; retrying');
        await session.close(false);
        await sleep(delay, signal);
        continue;
      }
      attempt = 0;
      this.session = session;
      this.log.info({ leaseId: session.leaseId, ttlSeconds: this.opts.leaseTtlSeconds }, 'registered with etcd');
      this.registered?.();
      const lost = new Promise<string>((resolve) => session.once('lost', resolve));
      this.leader = new LeaderLoop({ ns: this.conn.ns, agentId: this.opts.agentId, ttlSeconds: this.opts.leaseTtlSeconds, logger: this.log });
      this.leader.start();
      const watchers = await this.watch(session).catch((err: unknown) => {
        this.log.warn({ err: errorMessage(err) }, 'cannot watch etcd');
        return [] as Watcher[];
      });
      const reason = await Promise.race([lost, abortPromise(signal)]);
      for (const w of watchers) await w.cancel().catch(() => {});
      if (signal.aborted) break;
      this.log.error({ reason }, 'lease lost: stopping every sync now');
      this.opts.metrics?.countLeaseLoss();
      await Promise.all([...this.workers.values()].map((w) => w.abort()));
      this.workers.clear();
      await this.leader.stop();
      await session.close(false);
    }
  }

  private async watch(session: AgentSession): Promise<Watcher[]> {
    const ns = this.conn.ns;
    const { assignments, revision } = await readAssignments(ns);
    const mine = new Map(assignments);
    this.applyAssignments(mine, session);
    const assignmentWatcher = await ns
      .watch()
      .prefix(KEYS.assignments)
      .startRevision(String(BigInt(revision) + 1n))
      .create();
    assignmentWatcher.on('put', (kv) => {
      mine.set(idOf(kv.key.toString(), KEYS.assignments), JSON.parse(kv.value.toString()) as AssignmentRecord);
      this.applyAssignments(mine, session);
    });
    assignmentWatcher.on('delete', (kv) => {
      mine.delete(idOf(kv.key.toString(), KEYS.assignments));
      this.applyAssignments(mine, session);
    });
    const configWatcher = await ns.watch().prefix(KEYS.syncs).create();
    configWatcher.on('put', (kv) => this.workers.get(idOf(kv.key.toString(), KEYS.syncs))?.restart());
    const dataSourceWatcher = await ns.watch().prefix(KEYS.dataSources).create();
    // Only the syncs that use the changed data source restart; the others keep running. One line names them all.
    dataSourceWatcher.on('put', (kv) => {
      const id = idOf(kv.key.toString(), KEYS.dataSources);
      const using = [...this.workers.values()].filter((w) => w.usesDataSource(id));
      for (const w of using) w.restart();
      this.log.info({ dataSourceId: id, restarted: using.map((w) => w.syncId) }, 'data source changed: its syncs restart after their batch');
    });
    const retryWatcher = await ns.watch().prefix(KEYS.retries).create();
    retryWatcher.on('put', (kv) => this.workers.get(idOf(kv.key.toString(), KEYS.retries))?.retryNow());
    const watchers = [assignmentWatcher, configWatcher, dataSourceWatcher, retryWatcher];
    for (const w of watchers) w.on('error', (err) => this.log.warn({ err: errorMessage(err) }, 'watch error (it resumes by itself)'));
    return watchers;
  }

  private applyAssignments(assignments: Map<string, AssignmentRecord>, session: AgentSession): void {
    if (!session.valid || this.stopCtl.signal.aborted) return;
    const wanted = new Set([...assignments].filter(([, a]) => a.agentId === this.opts.agentId).map(([id]) => id));
    for (const id of wanted) {
      if (this.workers.has(id)) continue;
      const worker = new SyncWorker(id, {
        ns: this.conn.ns,
        session,
        configs: this.configs,
        statuses: this.statuses,
        connectors: this.opts.connectors,
        logger: this.log,
        backoff: this.opts.backoff,
        onStatus: this.opts.onStatus,
        metrics: this.opts.metrics,
      });
      this.workers.set(id, worker);
      this.log.info({ syncId: id }, 'sync assigned to this agent');
      worker.start();
    }
    for (const [id, worker] of this.workers) {
      if (wanted.has(id)) continue;
      this.workers.delete(id);
      this.log.info({ syncId: id }, 'sync unassigned from this agent: stopping after its batch');
      void worker.stop();
    }
  }

  /** Graceful stop: syncs finish their batch and release their locks, then the lease is revoked. */
  async stop(timeoutMs: number): Promise<void> {
    this.stopCtl.abort();
    await this.session?.markStopping().catch((err: unknown) => this.log.warn({ err: errorMessage(err) }, 'cannot say in etcd that this agent is stopping'));
    const workers = [...this.workers.values()];
    const graceful = Promise.all(workers.map((w) => w.stop()));
    const timer = setTimeout(() => {
      this.log.warn({ timeoutMs }, 'batches still running after the shutdown timeout: aborting them');
      for (const w of workers) void w.abort();
    }, timeoutMs);
    await graceful;
    clearTimeout(timer);
    await this.notifier.stop();
    await this.leader?.stop();
    await this.session?.close(true);
    await this.loop;
    this.conn.close();
  }
}

function abortPromise(signal: AbortSignal): Promise<string> {
  return new Promise((resolve) => (signal.aborted ? resolve('stopped') : signal.addEventListener('abort', () => resolve('stopped'), { once: true })));
}
