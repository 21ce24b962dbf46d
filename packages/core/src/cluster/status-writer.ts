import { errorMessage } from '../errors.ts';
import type { Logger } from '../log.ts';
import type { SyncStatus } from '../runner/status.ts';
import type { StatusStore } from './status-store.ts';
import type { Fence } from './fence.ts';

/**
 * Writes a sync's status at most once per `intervalMs`, always ending with the latest one, and only
 * while `fenceOf()` is the sync's lock: an agent that lost the sync never overwrites the new owner's.
 */
export class ThrottledStatusWriter {
  private readonly store: StatusStore;
  private readonly intervalMs: number;
  private readonly log: Logger;
  private readonly fenceOf: () => Fence | undefined;
  private pending: SyncStatus | undefined;
  private lastWrite = 0;
  private timer: NodeJS.Timeout | undefined;
  private writing: Promise<void> = Promise.resolve();

  constructor(store: StatusStore, log: Logger, fenceOf: () => Fence | undefined, intervalMs = 1000) {
    this.store = store;
    this.log = log;
    this.fenceOf = fenceOf;
    this.intervalMs = intervalMs;
  }

  update(status: SyncStatus): void {
    this.pending = status;
    if (this.timer) return;
    const wait = Math.max(0, this.lastWrite + this.intervalMs - Date.now());
    this.timer = setTimeout(() => {
      this.timer = undefined;
      void this.flush();
    }, wait);
    this.timer.unref();
  }

  /** Writes the latest status now (used when a sync stops). */
  async flush(): Promise<void> {
    if (this.timer) {
      clearTimeout(this.timer);
      this.timer = undefined;
    }
    const status = this.pending;
    this.pending = undefined;
    if (!status) return this.writing;
    this.lastWrite = Date.now();
    const fence = this.fenceOf();
    this.writing = this.writing.then(async () => {
      try {
        if (!fence || !(await this.store.put(status, fence))) this.log.info({ syncId: status.syncId, state: status.state }, 'status not written: the sync lock is no longer ours');
      } catch (err) {
        this.log.warn({ err: errorMessage(err), syncId: status.syncId }, 'cannot write sync status');
      }
    });
    return this.writing;
  }
}
