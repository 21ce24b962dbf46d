import type { Namespace } from 'etcd3';
import { readClusterSnapshot } from '../cluster/snapshot.ts';
import { errorMessage } from '../errors.ts';
import { silentLogger, type Logger } from '../log.ts';
import { sleep } from '../runner/backoff.ts';
import type { SecretBox } from '../secrets.ts';
import { deliverOnce, type AttemptResult } from './deliver.ts';
import { evaluateIncidents } from './incidents.ts';
import type { OutboxEntry } from './notify-model.ts';
import { NotifyStore } from './notify-store.ts';

export interface NotifierOptions {
  ns: Namespace;
  box?: SecretBox | undefined;
  logger?: Logger;
  /** The leader's campaign key while this agent leads, else undefined: only the leader notifies. */
  leaderKey: () => string | undefined;
  /** Pause between two passes. @default 1000 */
  intervalMs?: number;
}

/** Passes between two prunings of the delivery log. */
const PRUNE_EVERY = 300;

/**
 * The leader's notifications: each pass judges every rule against the cluster (core's health of each
 * sync, the registered agents), writes incidents and the messages they queue in etcd — guarded by the
 * leadership, so that after a failover the next leader carries on from the same incidents, neither
 * repeating nor dropping one — then sends what is due, retrying with backoff.
 */
export class Notifier {
  private readonly opts: NotifierOptions;
  private readonly log: Logger;
  private readonly store: NotifyStore;
  private readonly stopCtl = new AbortController();
  private loop: Promise<void> | undefined;
  private passes = 0;

  constructor(opts: NotifierOptions) {
    this.opts = opts;
    this.log = (opts.logger ?? silentLogger).child({ component: 'notifier' });
    this.store = new NotifyStore(opts.ns, opts.box);
  }

  start(): void {
    this.loop ??= this.run();
  }

  async stop(): Promise<void> {
    this.stopCtl.abort();
    await this.loop;
  }

  private async run(): Promise<void> {
    const signal = this.stopCtl.signal;
    while (!signal.aborted) {
      const key = this.opts.leaderKey();
      if (key) {
        try {
          await this.pass(key);
        } catch (err) {
          if (signal.aborted) break;
          this.log.warn({ err: errorMessage(err) }, 'notification pass failed; trying again');
        }
      }
      await sleep(this.opts.intervalMs ?? 1000, signal);
    }
  }

  /** One pass as the leader holding `key`. */
  async pass(key: string, now = Date.now()): Promise<void> {
    const [rules, incidents] = await Promise.all([this.store.listRules(), this.store.listIncidents()]);
    if (rules.length > 0 || incidents.size > 0) {
      const changes = evaluateIncidents(rules, await readClusterSnapshot(this.opts.ns), incidents, now);
      if (changes.put.length > 0 || changes.remove.length > 0) {
        if (!(await this.store.applyIncidentChanges(key, changes, now))) return;
        for (const { event } of changes.messages)
          this.log.info({ incident: event.incident.id, syncId: event.incident.syncId, type: event.type }, `incident ${event.type}: ${event.text}`);
      }
    }
    const due = (await this.store.listOutbox()).filter((e) => Date.parse(e.nextAttemptAt) <= now);
    await Promise.all(due.map((entry) => this.send(key, entry)));
    if (++this.passes % PRUNE_EVERY === 0) await this.store.pruneDeliveries();
  }

  private async send(key: string, entry: OutboxEntry): Promise<void> {
    if (this.opts.leaderKey() !== key) return;
    const stored = await this.store.getChannel(entry.channelId);
    let result: AttemptResult;
    if (!stored) result = { delivered: false, error: `channel ${entry.channelId} no longer exists`, retryable: false };
    else if (stored.enabled === false) result = { delivered: false, error: `channel ${entry.channelId} is disabled`, retryable: false };
    else {
      try {
        result = await deliverOnce(this.store.open(stored), entry.event, this.stopCtl.signal);
      } catch (err) {
        result = { delivered: false, error: errorMessage(err), retryable: true };
      }
    }
    const status = await this.store.recordAttempt(key, entry, result);
    const fields = { channelId: entry.channelId, eventId: entry.event.id, attempt: entry.attempts + 1, httpStatus: result.httpStatus };
    if (status === 'delivered') this.log.info(fields, 'notification delivered');
    else this.log.warn({ ...fields, err: result.error }, status === 'failed' ? 'notification given up' : 'notification not delivered; retrying with backoff');
  }
}
