import type { SyncStatus } from '@idra/api-client';

/** One point of a sync's recent history, as the UI saw it. */
export interface Sample {
  /** Agent time of the status (ms since epoch). */
  t: number;
  rowsCopied: number;
  /** Rows per second since the previous sample (0 for the first one, or after an agent restart). */
  rate: number;
  lagRows: number | undefined;
  lagSeconds: number | undefined;
}

/** @default 10 minutes */
const WINDOW_MS = 10 * 60_000;

/**
 * Recent throughput and lag per sync, accumulated in the page from polled statuses and the event
 * stream (the API keeps no history). Components read it with useSyncExternalStore.
 */
export class SampleStore {
  private readonly series = new Map<string, Sample[]>();
  private readonly listeners = new Set<() => void>();
  private version = 0;
  private readonly windowMs: number;

  constructor(windowMs = WINDOW_MS) {
    this.windowMs = windowMs;
  }

  /** Adds a status; the same report seen twice (poll and event) counts once. */
  record(status: SyncStatus): void {
    const t = Date.parse(status.updatedAt);
    if (!Number.isFinite(t)) return;
    const list = this.series.get(status.syncId) ?? [];
    const last = list.at(-1);
    if (last && t <= last.t) return;
    // rowsCopied counts from the start of the agent's run: a drop means another run began.
    const rate = last && status.rowsCopied >= last.rowsCopied ? ((status.rowsCopied - last.rowsCopied) * 1000) / (t - last.t) : 0;
    list.push({ t, rowsCopied: status.rowsCopied, rate, lagRows: status.lag?.rows, lagSeconds: status.lag?.seconds });
    while (list.length > 0 && list[0]!.t < t - this.windowMs) list.shift();
    this.series.set(status.syncId, list);
    this.version++;
    for (const l of this.listeners) l();
  }

  samples(syncId: string): readonly Sample[] {
    return this.series.get(syncId) ?? [];
  }

  /** Changes whenever a sample is added (for useSyncExternalStore). */
  snapshot = (): number => this.version;

  subscribe = (listener: () => void): (() => void) => {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  };

  clear(): void {
    this.series.clear();
    this.version++;
    for (const l of this.listeners) l();
  }
}
