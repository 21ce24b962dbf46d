import { errorMessage } from '../errors.ts';
import type { Logger } from '../log.ts';
import type { SyncStatus } from '../runner/status.ts';
import type { StatusStore } from './status-store.ts';
import type { Fence } from './fence.ts';

/** What a status says, without the fields that move on every poll of an idle sync (its time, a timestamp cursor's watermark). */
function meaning(status: SyncStatus): string {
  return JSON.stringify({ ...status, updatedAt: undefined, watermark: undefined });
}

/**
 * How often a status that says nothing new is written all the same, so readers see it is still
 * reported: 1,000 idle syncs then cost etcd about 3 writes a second, not 17 (item 5 of issue #19 asks
 * for at most one write per idle sync per minute; whether the agent lives is told by its lease). @default 300000
 */
export const STATUS_HEARTBEAT_MS = 300_000;

/**
 * How soon a status whose state changed (starting → running → idle, a failure) is written, whatever
 * the interval: a sync taken over shows running at once, not a second after its 'starting'. The
 * few milliseconds let a state that follows at once (running → idle) go in the same write.
 */
export const STATE_CHANGE_WAIT_MS = 100;

/**
 * Writes a sync's status at most once per `intervalMs` (a change of state sooner, {@link
 * STATE_CHANGE_WAIT_MS}), always ending with the latest one, and only
 * while `fenceOf()` is the sync's lock: an agent that lost the sync never overwrites the new owner's.
 * A status that says nothing new (an idle sync polling again) is written only every `heartbeatMs`:
 * etcd gets one write per idle sync every five minutes, not one per poll; whether the agent is alive
 * is told by its lease, not by these writes.
 */
export class ThrottledStatusWriter {
  private readonly store: StatusStore;
  private readonly intervalMs: number;
  private readonly log: Logger;
  private readonly fenceOf: () => Fence | undefined;
  private readonly heartbeatMs: number;
  private pending: SyncStatus | undefined;
  /** {@link meaning} of the last status written (or queued to be). */
  private written: string | undefined;
  private lastWrite = 0;
  /** The state of the last status written. */
  private stateWritten: SyncStatus['state'] | undefined;
  private timer: NodeJS.Timeout | undefined;
  /** When the pending write is due (ms since the epoch). */
  private dueAt = 0;
  private writing: Promise<void> = Promise.resolve();

  constructor(store: StatusStore, log: Logger, fenceOf: () => Fence | undefined, intervalMs = 1000, heartbeatMs = STATUS_HEARTBEAT_MS) {
    this.store = store;
    this.log = log;
    this.fenceOf = fenceOf;
    this.intervalMs = intervalMs;
    this.heartbeatMs = heartbeatMs;
  }

  update(status: SyncStatus): void {
    const said = meaning(status);
    if (!this.pending && said === this.written && Date.now() - this.lastWrite < this.heartbeatMs) return;
    this.written = said;
    this.pending = status;
    const now = Date.now();
    const regular = this.lastWrite + this.intervalMs;
    const due = status.state !== this.stateWritten ? Math.min(regular, now + STATE_CHANGE_WAIT_MS) : regular;
    if (this.timer && this.dueAt <= due) return;
    if (this.timer) clearTimeout(this.timer);
    this.dueAt = due;
    this.timer = setTimeout(
      () => {
        this.timer = undefined;
        void this.flush();
      },
      Math.max(0, due - now),
    );
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
    const said = meaning(status);
    // A status that did not reach etcd is not "written": the next update saying the same must try again,
    // not wait for the heartbeat (a handoff's first statuses can precede the lock this agent writes under).
    const notWritten = () => {
      if (this.written === said) this.written = undefined;
      // The next status is written soon, as a change of state.
      this.stateWritten = undefined;
    };
    this.stateWritten = status.state;
    this.writing = this.writing.then(async () => {
      try {
        if (!fence || !(await this.store.put(status, fence))) {
          notWritten();
          this.log.info({ syncId: status.syncId, state: status.state }, 'status not written: the sync lock is no longer ours');
        }
      } catch (err) {
        notWritten();
        this.log.warn({ err: errorMessage(err), syncId: status.syncId }, 'cannot write sync status');
      }
    });
    return this.writing;
  }
}
