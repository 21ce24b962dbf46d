import type { Namespace } from 'etcd3';
import type { SyncState, SyncStatus } from '../runner/status.ts';
import { fencedReportTxn, type Fence } from './fence.ts';
import { KEYS, sequenceKey } from './keys.ts';

/** One minute of a sync on one agent: what it copied, its errors, and its lag and state at the end. */
export interface ActivityPoint {
  /** Start of the minute (ISO). */
  t: string;
  rows: number;
  skipped: number;
  batches: number;
  errors: number;
  lagRows?: number | undefined;
  lagSeconds?: number | undefined;
  state: SyncState;
  agentId: string;
}

/** Something that happened to a sync: who and when. */
export interface TimelineEvent {
  at: string;
  kind: 'started' | 'handoff' | 'stopped' | 'error' | 'recovered' | 'schema' | 'offset' | 'paused' | 'resumed' | 'config' | 'agent';
  text: string;
  /** The person or token behind it, for operators' actions. */
  by?: string | undefined;
  agentId?: string | undefined;
}

export const MINUTE_MS = 60_000;
/** Per-minute points are kept this long. @default 24 h */
export const ACTIVITY_RETENTION_MS = 24 * 60 * MINUTE_MS;
/** Timeline events are kept this long. @default 7 days */
export const TIMELINE_RETENTION_MS = 7 * 24 * 60 * MINUTE_MS;

const pad = (ms: number) => String(ms).padStart(15, '0');

/**
 * Per-sync activity in etcd: `activity/<sync>/<minute>.<agent>` points and `timeline/<sync>/<seq>`
 * events. Each write also drops what is older than the retention, so the size stays bounded; an
 * agent's writes are fenced by the sync's lock like its offset commits, and need the sync to exist.
 */
export class ActivityStore {
  private readonly ns: Namespace;

  constructor(ns: Namespace) {
    this.ns = ns;
  }

  private async write(syncId: string, key: string, value: unknown, prefix: string, cutoffMs: number, fence: Fence | undefined): Promise<boolean> {
    const put = this.ns.put(key).value(JSON.stringify(value));
    const trim = this.ns.delete().inRange({ start: prefix, end: prefix + pad(cutoffMs) });
    if (!fence) {
      await this.ns.if(key, 'Version', '>', -1).then(put, trim).commit(); // always true: one transaction for both
      return true;
    }
    const res = await fencedReportTxn(this.ns, syncId, fence).then(put, trim).commit();
    return res.succeeded;
  }

  /** Stores one minute; false when the fence no longer holds (another agent owns the sync). */
  writePoint(syncId: string, point: ActivityPoint, fence?: Fence): Promise<boolean> {
    const prefix = KEYS.activity(syncId);
    return this.write(syncId, `${prefix}${pad(Date.parse(point.t))}.${point.agentId}`, point, prefix, Date.parse(point.t) - ACTIVITY_RETENTION_MS, fence);
  }

  addEvent(syncId: string, event: TimelineEvent, fence?: Fence): Promise<boolean> {
    const prefix = KEYS.timeline(syncId);
    const at = Date.parse(event.at);
    return this.write(syncId, prefix + sequenceKey(at), event, prefix, at - TIMELINE_RETENTION_MS, fence);
  }

  /** Points since `fromMs`, oldest first; several agents' points of one minute (a handoff) are merged. */
  async points(syncId: string, fromMs: number): Promise<ActivityPoint[]> {
    const prefix = KEYS.activity(syncId);
    const all = await this.ns
      .getAll()
      .inRange({ start: prefix + pad(fromMs), end: `${prefix}~` })
      .sort('Key', 'Ascend')
      .strings();
    const byMinute = new Map<string, ActivityPoint>();
    for (const text of Object.values(all)) {
      const p = JSON.parse(text) as ActivityPoint;
      const seen = byMinute.get(p.t);
      byMinute.set(
        p.t,
        seen ? { ...p, rows: seen.rows + p.rows, skipped: seen.skipped + p.skipped, batches: seen.batches + p.batches, errors: seen.errors + p.errors } : p,
      );
    }
    return [...byMinute.values()];
  }

  /** The newest events first. */
  async events(syncId: string, limit = 200): Promise<TimelineEvent[]> {
    const all = await this.ns.getAll().prefix(KEYS.timeline(syncId)).sort('Key', 'Descend').limit(limit).strings();
    return Object.values(all).map((t) => JSON.parse(t) as TimelineEvent);
  }

  async deleteAll(syncId: string): Promise<void> {
    await this.ns.delete().prefix(KEYS.activity(syncId)).exec();
    await this.ns.delete().prefix(KEYS.timeline(syncId)).exec();
  }
}

/**
 * Sums one sync's activity per minute and hands a point over when a minute ends, only if something
 * happened in it (rows, errors) or the lag or state changed: an idle sync writes nothing.
 */
export class ActivityRecorder {
  private readonly agentId: string;
  private readonly emit: (p: ActivityPoint) => void;
  private readonly now: () => number;
  private minute: number;
  private current = { rows: 0, skipped: 0, batches: 0, errors: 0 };
  private state: SyncState = 'starting';
  private lag: SyncStatus['lag'];
  private lastErrorAt: string | undefined;
  private written: { lagRows?: number | undefined; lagSeconds?: number | undefined; state: SyncState } | undefined;

  constructor(agentId: string, emit: (p: ActivityPoint) => void, now: () => number = Date.now) {
    this.agentId = agentId;
    this.emit = emit;
    this.now = now;
    this.minute = Math.floor(now() / MINUTE_MS) * MINUTE_MS;
  }

  observeBatch(rows: number, skipped: number): void {
    this.tick();
    this.current.rows += rows;
    this.current.skipped += skipped;
    this.current.batches += 1;
  }

  observeStatus(s: SyncStatus): void {
    this.tick();
    if (s.lastError && s.lastError.at !== this.lastErrorAt) this.current.errors += 1;
    this.lastErrorAt = s.lastError?.at;
    this.state = s.state;
    this.lag = s.lag;
  }

  /** Hands over the minute that ended, if any; call it on a timer too so that a quiet sync's minute closes. */
  tick(): void {
    const minute = Math.floor(this.now() / MINUTE_MS) * MINUTE_MS;
    if (minute > this.minute) this.close();
    this.minute = minute;
  }

  /** Hands over the current minute now (the sync stops here: another agent continues its counts). */
  close(): void {
    const c = this.current;
    const lagRows = this.lag?.rows;
    const lagSeconds = this.lag?.seconds;
    const w = this.written;
    const changed = !w || w.lagRows !== lagRows || w.lagSeconds !== lagSeconds || w.state !== this.state;
    if (c.rows > 0 || c.skipped > 0 || c.errors > 0 || changed) {
      this.emit({ t: new Date(this.minute).toISOString(), ...c, lagRows, lagSeconds, state: this.state, agentId: this.agentId });
      this.written = { lagRows, lagSeconds, state: this.state };
    }
    this.current = { rows: 0, skipped: 0, batches: 0, errors: 0 };
  }
}
