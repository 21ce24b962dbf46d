import { describePosition, type Logger, type SyncStatus } from '@idra/core';

/** Logs, per sync and at a fixed interval, rows copied, rows/s and the offset — only when something moved. */
export class ProgressLog {
  private readonly last = new Map<string, { rows: number; at: number; logged: boolean }>();
  private readonly latest = new Map<string, SyncStatus>();
  private readonly timer: NodeJS.Timeout;
  private readonly log: Logger;

  constructor(log: Logger, intervalMs: number) {
    this.log = log;
    this.timer = setInterval(() => this.flush(), intervalMs);
    this.timer.unref();
  }

  update(status: SyncStatus): void {
    if (!this.latest.has(status.syncId)) this.last.set(status.syncId, { rows: status.rowsCopied, at: Date.now(), logged: false });
    this.latest.set(status.syncId, status);
  }

  flush(): void {
    const now = Date.now();
    for (const [syncId, s] of this.latest) {
      const prev = this.last.get(syncId) ?? { rows: 0, at: now, logged: false };
      if (s.rowsCopied === prev.rows && prev.logged) continue;
      const seconds = Math.max((now - prev.at) / 1000, 0.001);
      const rowsPerSec = Math.round((s.rowsCopied - prev.rows) / seconds);
      this.log.info(
        { syncId, rows: s.rowsCopied, skipped: s.rowsSkipped, rowsPerSec, offset: describePosition(s.position), state: s.state },
        `sync ${syncId}: ${s.rowsCopied} rows (${rowsPerSec} rows/s), offset ${describePosition(s.position)}`,
      );
      this.last.set(syncId, { rows: s.rowsCopied, at: now, logged: true });
    }
  }

  stop(): void {
    clearInterval(this.timer);
    this.flush();
  }
}
