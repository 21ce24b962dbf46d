import type { IKeyValue, Namespace, Watcher } from 'etcd3';
import { FencedError } from '../errors.ts';
import type { DataSource } from '../model/schema.ts';
import { hasSlotLimits } from '../model/schema.ts';
import { sleep } from '../runner/backoff.ts';
import type { SlotWait } from '../runner/status.ts';
import type { SlotGate } from '../runner/sync-runner.ts';
import { fencedTxn, type Fence } from './fence.ts';
import { KEYS, idOf } from './keys.ts';

export type SlotRole = 'read' | 'write';

/** One data source a sync uses, and how. */
export interface SlotNeed {
  dataSourceId: string;
  roles: SlotRole[];
}

/** `slots/<dataSourceId>/<syncId>`: a sync waiting for (held false) or holding a slot, on its agent's lease. */
export interface SlotEntry {
  syncId: string;
  agentId: string;
  roles: SlotRole[];
  held: boolean;
  /** When it began to wait. */
  since: string;
  grantedAt?: string | undefined;
}

type Limits = Pick<DataSource, 'maxConcurrentSyncs' | 'maxReaders' | 'maxWriters'>;

/** An entry with its place in the queue (the etcd revision that created its key). */
export interface QueuedSlot extends SlotEntry {
  ticket: bigint;
}

/**
 * Whether the sync `syncId` may take its slot now, judged from every entry of the data source in queue
 * order: the holders count against the limits, and so does every earlier waiter that fits (its agent
 * takes its slot next); a waiter that does not fit stops the queue, so that nobody overtakes it and
 * none starves. Undefined when granted; else why it waits.
 */
export function slotDecision(dataSourceId: string, limits: Limits, queue: readonly QueuedSlot[], syncId: string, now = new Date()): SlotWait | undefined {
  const ordered = [...queue].sort((a, b) => (a.ticket < b.ticket ? -1 : a.ticket > b.ticket ? 1 : 0));
  const used = { syncs: 0, readers: 0, writers: 0 };
  const holders: string[] = [];
  const count = (e: SlotEntry) => {
    used.syncs++;
    if (e.roles.includes('read')) used.readers++;
    if (e.roles.includes('write')) used.writers++;
  };
  for (const e of ordered) {
    if (!e.held) continue;
    count(e);
    holders.push(`${e.syncId} on ${e.agentId}`);
  }
  const full = (e: Pick<SlotEntry, 'roles'>): SlotWait['limit'] | undefined => {
    if (limits.maxConcurrentSyncs !== undefined && used.syncs >= limits.maxConcurrentSyncs) return 'syncs';
    if (e.roles.includes('read') && limits.maxReaders !== undefined && used.readers >= limits.maxReaders) return 'readers';
    if (e.roles.includes('write') && limits.maxWriters !== undefined && used.writers >= limits.maxWriters) return 'writers';
    return undefined;
  };
  const mine = ordered.find((e) => e.syncId === syncId);
  let ahead = 0;
  let blocked = false;
  for (const e of ordered) {
    if (e.held) continue;
    if (e.syncId === syncId) break;
    ahead++;
    if (blocked || full(e) !== undefined) blocked = true;
    else count(e);
  }
  const limit = full(mine ?? { roles: [] });
  if (!blocked && limit === undefined) return undefined;
  const which = limit ?? (limits.maxConcurrentSyncs !== undefined ? 'syncs' : limits.maxReaders !== undefined ? 'readers' : 'writers');
  const max = which === 'syncs' ? limits.maxConcurrentSyncs! : which === 'readers' ? limits.maxReaders! : limits.maxWriters!;
  const held = ordered.filter((e) => e.held && (which === 'syncs' || e.roles.includes(which === 'readers' ? 'read' : 'write'))).length;
  return { dataSourceId, limit: which, held, max, holders, ahead, since: mine?.since ?? now.toISOString() };
}

function parseEntries(kvs: IKeyValue[]): QueuedSlot[] {
  return kvs.map((kv) => ({ ...(JSON.parse(kv.value.toString()) as SlotEntry), ticket: BigInt(kv.create_revision) }));
}

/** Every waiting and held slot of every data source (API, CLI, UI). */
export async function readSlots(ns: Namespace): Promise<Map<string, QueuedSlot[]>> {
  const res = await ns.getAll().prefix(KEYS.allSlots).exec();
  const byDataSource = new Map<string, QueuedSlot[]>();
  for (const kv of res.kvs) {
    const [dataSourceId] = idOf(kv.key.toString(), KEYS.allSlots).split('/');
    const list = byDataSource.get(dataSourceId!) ?? [];
    list.push(...parseEntries([kv]));
    byDataSource.set(dataSourceId!, list);
  }
  for (const list of byDataSource.values()) list.sort((a, b) => (a.ticket < b.ticket ? -1 : a.ticket > b.ticket ? 1 : 0));
  return byDataSource;
}

export interface DataSourceSlotsOptions {
  ns: Namespace;
  syncId: string;
  agentId: string;
  leaseId: string;
  /** The sync's lock while held: every slot write is fenced by it. */
  fenceOf: () => Fence | undefined;
  /** The data sources with a limit that the sync reads or writes. */
  needs: SlotNeed[];
  holdWhileIdle: boolean;
  /** A full re-read even without a change seen (safety net for a watch that lags). @default 1000 */
  recheckMs?: number;
  /** Called for each slot taken, with how long the sync waited for it (metrics). */
  onGranted?: (dataSourceId: string, waitedMs: number) => void;
}

/**
 * The slots one sync needs on limited data sources: a fair counting semaphore per data source in etcd.
 * A sync queues with a key on its agent's lease (a dead agent's slots and places free themselves);
 * its key's creation revision is its place in the queue; it takes its slot in a transaction fenced by
 * the sync's lock that also checks that no other grant and no change of the limits happened since
 * it looked. Data sources are taken in id order, so that two syncs can never wait for each other.
 */
export class DataSourceSlots implements SlotGate {
  readonly holdWhileIdle: boolean;
  private readonly opts: DataSourceSlotsOptions;
  private readonly needs: SlotNeed[];
  private readonly taken = new Set<string>();

  constructor(opts: DataSourceSlotsOptions) {
    this.opts = opts;
    this.holdWhileIdle = opts.holdWhileIdle;
    this.needs = [...opts.needs].sort((a, b) => a.dataSourceId.localeCompare(b.dataSourceId));
  }

  private fence(): Fence {
    const fence = this.opts.fenceOf();
    if (!fence) throw new FencedError(this.opts.syncId, 'no lock held on this sync; not taking a data source slot');
    return fence;
  }

  async acquire(signal: AbortSignal, onWait: (wait: SlotWait) => void): Promise<boolean> {
    for (const need of this.needs) {
      if (this.taken.has(need.dataSourceId)) continue;
      if (!(await this.acquireOne(need, signal, onWait))) return false;
      this.taken.add(need.dataSourceId);
    }
    return true;
  }

  private async acquireOne(need: SlotNeed, signal: AbortSignal, onWait: (wait: SlotWait) => void): Promise<boolean> {
    const { ns, syncId, agentId, leaseId } = this.opts;
    const ds = need.dataSourceId;
    const key = KEYS.slot(ds, syncId);
    const since = new Date().toISOString();
    const started = performance.now();
    const entry = (held: boolean): string =>
      JSON.stringify({ syncId, agentId, roles: need.roles, held, since, grantedAt: held ? new Date().toISOString() : undefined } satisfies SlotEntry);
    const queued = await fencedTxn(ns, syncId, this.fence())
      .then(ns.put(key).value(entry(false)).lease(leaseId))
      .commit();
    if (!queued.succeeded) throw new FencedError(syncId, 'the sync lock is no longer ours; not taking a data source slot');

    let changed: () => void = () => {};
    const watchers: Watcher[] = [];
    try {
      for (const w of [ns.watch().prefix(KEYS.slots(ds)), ns.watch().key(KEYS.dataSource(ds))]) {
        const watcher = await w.create();
        watcher.on('data', () => changed());
        watchers.push(watcher);
      }
      while (!signal.aborted) {
        // Armed before reading, so that a change made while this looks wakes the wait below.
        const woken = new AbortController();
        changed = () => woken.abort();
        // Read the turn and the limits before the queue: a grant or a change in between fails the compare below.
        const turn = await ns.get(KEYS.slotTurn(ds)).exec();
        const doc = await ns.get(KEYS.dataSource(ds)).exec();
        const slots = await ns.getAll().prefix(KEYS.slots(ds)).exec();
        const queue = parseEntries(slots.kvs);
        const mine = slots.kvs.find((kv) => kv.key.toString() === key);
        if (!mine) throw new FencedError(syncId, 'its place in the data source queue is gone (the agent lease expired?)');
        const limits: Limits = doc.kvs[0] ? (JSON.parse(doc.kvs[0].value.toString()) as DataSource) : {};
        const wait = hasSlotLimits(limits) ? slotDecision(ds, limits, queue, syncId) : undefined;
        if (wait === undefined) {
          const res = await fencedTxn(ns, syncId, this.fence())
            .and(KEYS.slotTurn(ds), 'Mod', '==', turn.kvs[0]?.mod_revision ?? '0')
            .and(KEYS.dataSource(ds), 'Mod', '==', doc.kvs[0]?.mod_revision ?? '0')
            .and(key, 'Create', '==', mine.create_revision)
            .then(ns.put(key).value(entry(true)).lease(leaseId), ns.put(KEYS.slotTurn(ds)).value(syncId))
            .commit();
          if (res.succeeded) {
            this.opts.onGranted?.(ds, performance.now() - started);
            return true;
          }
          continue; // someone else was granted meanwhile: look again
        }
        onWait(wait);
        await sleep(this.opts.recheckMs ?? 1000, AbortSignal.any([signal, woken.signal]));
      }
      await this.releaseOne(ds);
      return false;
    } finally {
      for (const w of watchers) await w.cancel().catch(() => {});
    }
  }

  private async releaseOne(ds: string): Promise<void> {
    const { ns, syncId, leaseId } = this.opts;
    const key = KEYS.slot(ds, syncId);
    // Only this agent's entry: a new owner of the sync may have queued already.
    await ns.if(key, 'Lease', '==', leaseId).then(ns.delete().key(key)).commit();
  }

  /** Gives every slot and place in a queue back (in reverse order of taking). */
  async release(): Promise<void> {
    for (const need of [...this.needs].reverse()) {
      await this.releaseOne(need.dataSourceId);
      this.taken.delete(need.dataSourceId);
    }
  }
}
