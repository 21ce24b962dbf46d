import { errorMessage } from '../errors.ts';
import type { Logger } from '../log.ts';
import type { SyncStatus } from '../runner/status.ts';
import type { StatusStore } from './status-store.ts';

/** Writes a sync's status at most once per `intervalMs`, always ending with the latest one. */
export class ThrottledStatusWriter {
  private readonly store: StatusStore;
  private readonly intervalMs: number;
  private readonly log: Logger;
  private pending: SyncStatus | undefined;
  private lastWrite = 0;
  private timer: NodeJS.Timeout | undefined;
  private writing: Promise<void> = Promise.resolve();

  constructor(store: StatusStore, log: Logger, intervalMs = 1000) {
    this.store = store;
    this.log = log;
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
    this.writing = this.writing.then(() =>
      this.store.put(status).catch((err) => this.log.warn({ err: errorMessage(err), syncId: status.syncId }, 'cannot write sync status')),
    );
    return this.writing;
  }
}
