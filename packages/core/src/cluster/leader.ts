import type { Campaign, Namespace, Watcher } from 'etcd3';
import { errorMessage } from '../errors.ts';
import { silentLogger, type Logger } from '../log.ts';
import { sleep } from '../runner/backoff.ts';
import { validateSyncConfig } from '../model/sync.ts';
import { planAssignments, changedSyncs } from './assignment-planner.ts';
import { readAgentIds, readAssignments, type AssignmentRecord } from './assignments.ts';
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

/** Syncs that should run: enabled ones, and stored documents too broken to say (their agent reports the error). */
async function enabledSyncIds(ns: Namespace): Promise<string[]> {
  const all = await ns.getAll().prefix(KEYS.syncs).strings();
  const ids: string[] = [];
  for (const [key, text] of Object.entries(all)) {
    try {
      if (validateSyncConfig(JSON.parse(text)).enabled !== false) ids.push(idOf(key, KEYS.syncs));
    } catch {
      ids.push(idOf(key, KEYS.syncs));
    }
  }
  return ids;
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
    for (const prefix of [KEYS.agents, KEYS.syncs, KEYS.assignments]) {
      const watcher = await ns.watch().prefix(prefix).create();
      watcher.on('data', () => this.markDirty());
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

  private markDirty(): void {
    this.dirty = true;
    this.wake?.();
  }

  /** Plans and writes assignments; returns the syncs whose assignment changed. */
  async reconcile(campaignKey: string): Promise<string[]> {
    const { ns } = this.opts;
    const [agents, syncIds, { assignments }] = await Promise.all([readAgentIds(ns), enabledSyncIds(ns), readAssignments(ns)]);
    const current = new Map([...assignments].map(([id, rec]) => [id, rec.agentId]));
    const plan = planAssignments(agents, syncIds, current);
    const changed = changedSyncs(current, plan);
    if (changed.length === 0) return changed;
    const ops = changed.map((id) => {
      const agentId = plan.get(id);
      if (agentId === undefined) return ns.delete().key(KEYS.assignment(id));
      const record: AssignmentRecord = { agentId, epoch: (assignments.get(id)?.epoch ?? 0) + 1 };
      return ns.put(KEYS.assignment(id)).value(JSON.stringify(record));
    });
    for (let i = 0; i < ops.length; i += OPS_PER_TXN) {
      const res = await ns.if(campaignKey, 'Create', '>', 0).then(...ops.slice(i, i + OPS_PER_TXN)).commit();
      if (!res.succeeded) throw new Error('lost leadership while writing assignments');
    }
    this.log.info({ agents: agents.length, syncs: syncIds.length, moved: changed.length }, 'assignments updated');
    return changed;
  }
}

function prefixOf(ns: Namespace): string {
  return (ns as unknown as { prefix: Buffer }).prefix.toString();
}

function abortPromise(signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => (signal.aborted ? resolve() : signal.addEventListener('abort', () => resolve(), { once: true })));
}
