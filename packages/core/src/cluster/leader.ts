import type { Campaign, Namespace, Watcher } from 'etcd3';
import { errorMessage } from '../errors.ts';
import { silentLogger, type Logger } from '../log.ts';
import { sleep } from '../runner/backoff.ts';
import { validateSyncConfig } from '../model/sync.ts';
import type { DataSource, Placement, SyncConfig } from '../model/schema.ts';
import { planPlacement, changedSyncs, type PlacementSync } from './assignment-planner.ts';
import { readAgents, readAssignments, readUnassigned, type AssignmentRecord, type UnassignedRecord } from './assignments.ts';
import { agentEventOps, type AgentEvent } from './agent-events.ts';
import { KEYS, idOf } from './keys.ts';
import { OPS_PER_TXN } from './etcd-client.ts';

export interface LeaderOptions {
  ns: Namespace;
  agentId: string;
  /** TTL of the campaign's lease. */
  ttlSeconds: number;
  logger?: Logger;
  /** Full reconciliation even without events (safety net). @default 5000 */
  reconcileIntervalMs?: number;
  /** Called when this agent becomes or stops being the leader. */
  onLeadership?: (leader: boolean) => void;
}

/**
 * Syncs that should run — enabled ones, and stored documents too broken to say (their agent reports
 * the error) — with the labels their agent needs: the sync's placement and its data sources' together.
 * A sync whose placements disagree on a label can run nowhere: it comes back in `conflicts`.
 */
async function plannedSyncs(ns: Namespace): Promise<{ syncs: PlacementSync[]; conflicts: Map<string, string> }> {
  const [all, dataSourceDocs] = await Promise.all([ns.getAll().prefix(KEYS.syncs).strings(), ns.getAll().prefix(KEYS.dataSources).strings()]);
  const placementOf = new Map<string, Placement | undefined>();
  for (const [key, text] of Object.entries(dataSourceDocs)) {
    try {
      placementOf.set(idOf(key, KEYS.dataSources), (JSON.parse(text) as DataSource).placement);
    } catch {
      // A broken data source document places nothing; the syncs using it report it.
    }
  }
  const syncs: PlacementSync[] = [];
  const conflicts = new Map<string, string>();
  for (const [key, text] of Object.entries(all)) {
    const id = idOf(key, KEYS.syncs);
    let config: SyncConfig;
    try {
      config = validateSyncConfig(JSON.parse(text));
    } catch {
      syncs.push({ id });
      continue;
    }
    if (config.enabled === false) continue;
    const placement: Record<string, string> = {};
    const sources: Array<[string, Placement | undefined]> = [
      ['the sync', config.placement],
      ...[config.source.dataSourceId, config.destination.dataSourceId]
        .filter((d): d is string => d !== undefined)
        .map((d): [string, Placement | undefined] => [`data source ${d}`, placementOf.get(d)]),
    ];
    const origin: Record<string, string> = {};
    for (const [from, wanted] of sources) {
      for (const [label, value] of Object.entries(wanted ?? {})) {
        if (placement[label] !== undefined && placement[label] !== value) {
          conflicts.set(id, `its placement asks for ${label}=${placement[label]} (${origin[label]}) and ${label}=${value} (${from})`);
        }
        placement[label] ??= value;
        origin[label] ??= from;
      }
    }
    syncs.push({ id, placement });
  }
  return { syncs, conflicts };
}

/**
 * Leader election (etcd election API) and, while leader, the assignment of syncs to agents: on any
 * change of agents or syncs it plans a balanced, sticky assignment and writes the difference in
 * transactions that succeed only while its campaign key — its leadership — still exists.
 */
export class LeaderLoop {
  private readonly opts: LeaderOptions;
  private readonly log: Logger;
  private readonly stopCtl = new AbortController();
  private campaign: Campaign | undefined;
  private watchers: Watcher[] = [];
  private dirty = true;
  /** Agents seen at the last reconciliation: who left is told by the next one. */
  private seen = new Map<string, { stopping: boolean }>();
  /** Agents that said they are stopping (a graceful shutdown): their departure is a stop, not a loss. */
  private readonly stopping = new Set<string>();
  private wake: (() => void) | undefined;
  private loop: Promise<void> | undefined;
  isLeader = false;
  /** The campaign key (relative to the namespace) while this agent leads: a transaction comparing it commits only while the leadership holds. */
  leaderKey: string | undefined;

  constructor(opts: LeaderOptions) {
    this.opts = opts;
    this.log = (opts.logger ?? silentLogger).child({ component: 'leader' });
  }

  start(): void {
    this.loop ??= this.run();
  }

  async stop(): Promise<void> {
    this.stopCtl.abort();
    this.wake?.();
    await this.campaign?.resign().catch(() => {});
    await this.loop;
  }

  private async run(): Promise<void> {
    let attempt = 0;
    while (!this.stopCtl.signal.aborted) {
      try {
        await this.campaignOnce();
        attempt = 0;
      } catch (err) {
        if (this.stopCtl.signal.aborted) break;
        this.log.warn({ err: errorMessage(err) }, 'leader election interrupted; campaigning again');
      } finally {
        await this.stepDown();
      }
      await sleep(Math.min(2000, 100 * 2 ** attempt++), this.stopCtl.signal);
    }
  }

  private async stepDown(): Promise<void> {
    for (const w of this.watchers) await w.cancel().catch(() => {});
    this.watchers = [];
    this.leaderKey = undefined;
    if (this.isLeader) {
      this.isLeader = false;
      this.opts.onLeadership?.(false);
    }
    await this.campaign?.resign().catch(() => {});
    this.campaign = undefined;
  }

  private async campaignOnce(): Promise<void> {
    const { ns, agentId, ttlSeconds } = this.opts;
    const campaign = ns.election(KEYS.election, ttlSeconds).campaign(agentId);
    this.campaign = campaign;
    let failure: Error | undefined;
    const failed = new Promise<void>((resolve) =>
      campaign.on('error', (err) => {
        failure = err;
        resolve();
        this.wake?.();
      }),
    );
    await Promise.race([campaign.wait(), failed, abortPromise(this.stopCtl.signal)]);
    if (failure) throw failure;
    if (this.stopCtl.signal.aborted) return;

    const campaignKey = (await campaign.getCampaignKey()).slice(prefixOf(ns).length);
    this.isLeader = true;
    this.leaderKey = campaignKey;
    // The agent's logger carries its agentId already.
    this.log.info({ campaignKey }, 'elected leader');
    this.opts.onLeadership?.(true);
    for (const prefix of [KEYS.agents, KEYS.syncs, KEYS.dataSources, KEYS.assignments]) {
      const watcher = await ns.watch().prefix(prefix).create();
      watcher.on('data', () => this.markDirty());
      // Seen in etcd's order, before the deletion that follows it, however fast that comes.
      if (prefix === KEYS.agents) watcher.on('put', (kv) => this.noteStopping(kv.key.toString(), kv.value.toString()));
      watcher.on('error', (err) => this.log.warn({ err: errorMessage(err), prefix }, 'watch error (it resumes by itself)'));
      this.watchers.push(watcher);
    }
    this.dirty = true;
    while (!this.stopCtl.signal.aborted && !failure) {
      if (this.dirty) {
        this.dirty = false;
        await sleep(50, this.stopCtl.signal); // let a burst of changes settle
        await this.reconcile(campaignKey);
      }
      await new Promise<void>((resolve) => {
        this.wake = resolve;
        setTimeout(resolve, this.opts.reconcileIntervalMs ?? 5000).unref();
        if (this.dirty) resolve();
      });
      this.wake = undefined;
      if (!this.dirty) this.dirty = true; // periodic pass
    }
    if (failure) throw failure;
  }

  private noteStopping(key: string, value: string): void {
    try {
      if ((JSON.parse(value) as { stopping?: boolean }).stopping === true) this.stopping.add(key.slice(key.lastIndexOf(KEYS.agents) + KEYS.agents.length));
    } catch {
      // Not an agent's registration: nothing to note.
    }
  }

  private markDirty(): void {
    this.dirty = true;
    this.wake?.();
  }

  /** Plans and writes assignments (and why the syncs left out run nowhere); returns the syncs whose assignment changed. */
  async reconcile(campaignKey: string): Promise<string[]> {
    const { ns } = this.opts;
    const [agents, { syncs, conflicts }, { assignments }, unassignedBefore] = await Promise.all([
      readAgents(ns),
      plannedSyncs(ns),
      readAssignments(ns),
      readUnassigned(ns),
    ]);
    const current = new Map([...assignments].map(([id, rec]) => [id, rec.agentId]));
    const plan = planPlacement(
      agents,
      syncs.filter((s) => !conflicts.has(s.id)),
      current,
    );
    const reasons = new Map([...plan.unassigned, ...conflicts]);
    const changed = changedSyncs(current, plan.assignment);
    const registry = new Map(agents.map((a) => [a.id, { stopping: a.stopping }]));
    const left = this.agentsLeft(registry, current, plan.assignment);
    this.seen = registry;
    const ops = changed.map((id) => {
      const agentId = plan.assignment.get(id);
      if (agentId === undefined) return ns.delete().key(KEYS.assignment(id));
      const record: AssignmentRecord = { agentId, epoch: (assignments.get(id)?.epoch ?? 0) + 1 };
      return ns.put(KEYS.assignment(id)).value(JSON.stringify(record));
    });
    const now = new Date().toISOString();
    for (const [id, reason] of reasons) {
      if (unassignedBefore.get(id)?.reason === reason) continue;
      const record: UnassignedRecord = { reason, since: unassignedBefore.get(id)?.since ?? now };
      ops.push(ns.put(KEYS.unassigned(id)).value(JSON.stringify(record)));
    }
    for (const id of unassignedBefore.keys()) if (!reasons.has(id)) ops.push(ns.delete().key(KEYS.unassigned(id)));
    ops.push(...agentEventOps(ns, left));
    if (ops.length === 0) return changed;
    for (let i = 0; i < ops.length; i += OPS_PER_TXN) {
      const res = await ns
        .if(campaignKey, 'Create', '>', 0)
        .then(...ops.slice(i, i + OPS_PER_TXN))
        .commit();
      if (!res.succeeded) throw new Error('lost leadership while writing assignments');
    }
    for (const e of left)
      this.log.warn({ agentId: e.agentId, moved: e.moved }, e.kind === 'lost' ? 'agent lost: its syncs moved' : 'agent stopped: its syncs moved');
    if (changed.length > 0)
      this.log.info({ agents: agents.length, syncs: syncs.length, moved: changed.length, unassigned: reasons.size }, 'assignments updated');
    for (const [id, reason] of reasons) if (unassignedBefore.get(id)?.reason !== reason) this.log.warn({ syncId: id, reason }, 'sync unassigned');
    return changed;
  }

  /**
   * Agents that were here (seen by this leader, or holding an assignment — a new leader has seen
   * nobody) and are gone, each with where its syncs go now.
   */
  private agentsLeft(registry: Map<string, { stopping: boolean }>, current: Map<string, string>, plan: Map<string, string>): AgentEvent[] {
    const gone = new Set([...this.seen.keys(), ...current.values()].filter((id) => !registry.has(id)));
    const at = new Date().toISOString();
    return [...gone].sort().map((agentId) => ({
      at,
      agentId,
      kind: this.stopping.delete(agentId) || this.seen.get(agentId)?.stopping ? 'stopped' : 'lost',
      moved: [...current].filter(([, owner]) => owner === agentId).map(([syncId]) => ({ syncId, to: plan.get(syncId) ?? null })),
    }));
  }
}

function prefixOf(ns: Namespace): string {
  return (ns as unknown as { prefix: Buffer }).prefix.toString();
}

function abortPromise(signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => (signal.aborted ? resolve() : signal.addEventListener('abort', () => resolve(), { once: true })));
}
