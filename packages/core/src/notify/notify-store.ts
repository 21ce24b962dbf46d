import type { Namespace } from 'etcd3';
import { ConfigError } from '../errors.ts';
import { KEYS, sequenceKey } from '../cluster/keys.ts';
import { isSealed, type SecretBox } from '../secrets.ts';
import type { AttemptResult } from './deliver.ts';
import { MAX_ATTEMPTS, retryDelayMs } from './deliver.ts';
import type { IncidentChanges } from './incidents.ts';
import { validateChannel, validateRule, type Channel, type Delivery, type Incident, type OutboxEntry, type Rule } from './notify-model.ts';

/** Deliveries kept in the log; older ones are removed. */
export const DELIVERY_LOG_LIMIT = 500;

async function values<T>(ns: Namespace, prefix: string): Promise<T[]> {
  const all = await ns.getAll().prefix(prefix).sort('Key', 'Ascend').strings();
  return Object.values(all).map((text) => JSON.parse(text) as T);
}

/** A transaction that commits only while `leaderKey` (the leader's campaign key) exists: a deposed leader writes nothing. */
async function asLeader(ns: Namespace, leaderKey: string, ops: Array<ReturnType<Namespace['put']> | ReturnType<Namespace['delete']>>): Promise<boolean> {
  if (ops.length === 0) return true;
  const res = await ns
    .if(leaderKey, 'Create', '>', 0)
    .then(...ops)
    .commit();
  return res.succeeded;
}

/**
 * Notification channels and rules (written by the API; channel URLs and secrets sealed), and what the
 * leader keeps of its work: incidents, messages waiting to be sent, the delivery log.
 */
export class NotifyStore {
  private readonly ns: Namespace;
  private readonly box: SecretBox | undefined;

  constructor(ns: Namespace, box?: SecretBox) {
    this.ns = ns;
    this.box = box;
  }

  /** Channels as stored (sealed). */
  listChannels(): Promise<Channel[]> {
    return values<Channel>(this.ns, KEYS.notifyChannels);
  }

  async getChannel(id: string): Promise<Channel | undefined> {
    const text = await this.ns.get(KEYS.notifyChannel(id)).string();
    return text === null ? undefined : (JSON.parse(text) as Channel);
  }

  /** Validates and stores a channel with its URL and secret sealed; refuses when no key can seal them. */
  async putChannel(input: unknown): Promise<Channel> {
    const channel = validateChannel(input);
    if (!this.box) {
      throw new ConfigError(
        [{ path: 'url', message: 'a notification URL is a secret, but IDRA_SECRET_KEY is not set: secrets are only stored encrypted' }],
        'cannot store the channel',
      );
    }
    const sealed: Channel = {
      ...channel,
      url: this.box.encrypt(channel.url),
      secret: channel.secret === undefined ? undefined : this.box.encrypt(channel.secret),
    };
    await this.ns.put(KEYS.notifyChannel(channel.id)).value(JSON.stringify(sealed));
    return sealed;
  }

  async deleteChannel(id: string): Promise<boolean> {
    return (await this.ns.delete().key(KEYS.notifyChannel(id)).exec()).deleted !== '0';
  }

  /** A stored channel with its URL and secret decrypted, ready to send. */
  open(channel: Channel): Channel {
    if (!this.box && (isSealed(channel.url) || isSealed(channel.secret))) {
      throw new ConfigError([{ path: 'IDRA_SECRET_KEY', message: `notification channel ${channel.id} is sealed, but IDRA_SECRET_KEY is not set here` }]);
    }
    if (!this.box) return channel;
    return { ...channel, url: this.box.decrypt(channel.url), secret: channel.secret === undefined ? undefined : this.box.decrypt(channel.secret) };
  }

  listRules(): Promise<Rule[]> {
    return values<Rule>(this.ns, KEYS.notifyRules);
  }

  async getRule(id: string): Promise<Rule | undefined> {
    const text = await this.ns.get(KEYS.notifyRule(id)).string();
    return text === null ? undefined : (JSON.parse(text) as Rule);
  }

  /** Validates and stores a rule; `check` may refuse it first (the API checks that its channels exist). */
  async putRule(input: unknown, check?: (rule: Rule) => Promise<void>): Promise<Rule> {
    const rule = validateRule(input);
    await check?.(rule);
    await this.ns.put(KEYS.notifyRule(rule.id)).value(JSON.stringify(rule));
    return rule;
  }

  async deleteRule(id: string): Promise<boolean> {
    return (await this.ns.delete().key(KEYS.notifyRule(id)).exec()).deleted !== '0';
  }

  async listIncidents(): Promise<Map<string, Incident>> {
    const list = await values<Incident>(this.ns, KEYS.notifyIncidents);
    return new Map(list.map((i) => [i.id, i]));
  }

  listOutbox(): Promise<OutboxEntry[]> {
    return values<OutboxEntry>(this.ns, KEYS.notifyOutbox);
  }

  /** The delivery log, newest first. */
  async listDeliveries(limit = DELIVERY_LOG_LIMIT): Promise<Delivery[]> {
    const res = await this.ns.getAll().prefix(KEYS.notifyDeliveries).sort('Key', 'Descend').limit(limit).strings();
    return Object.values(res).map((text) => JSON.parse(text) as Delivery);
  }

  /**
   * The leader writes what an evaluation decided: each incident with the messages it queues, in one
   * transaction (so a failover between the two can neither drop nor repeat a message). False when
   * this agent is no longer the leader.
   */
  async applyIncidentChanges(leaderKey: string, changes: IncidentChanges, now = Date.now()): Promise<boolean> {
    const at = new Date(now).toISOString();
    const byIncident = new Map<string, Array<ReturnType<Namespace['put']> | ReturnType<Namespace['delete']>>>();
    const opsOf = (id: string) => byIncident.get(id) ?? byIncident.set(id, []).get(id)!;
    for (const i of changes.put) opsOf(i.id).push(this.ns.put(`${KEYS.notifyIncidents}${i.id}`).value(JSON.stringify(i)));
    for (const i of changes.remove) opsOf(i.id).push(this.ns.delete().key(`${KEYS.notifyIncidents}${i.id}`));
    let index = 0;
    for (const { event, channels } of changes.messages) {
      for (const channelId of channels) {
        const id = sequenceKey(now, index++);
        const entry: OutboxEntry = { id, channelId, event, attempts: 0, nextAttemptAt: at };
        const delivery = deliveryOf(entry, now);
        opsOf(event.incident.id).push(
          this.ns.put(`${KEYS.notifyOutbox}${id}`).value(JSON.stringify(entry)),
          this.ns.put(`${KEYS.notifyDeliveries}${id}`).value(JSON.stringify(delivery)),
        );
      }
    }
    for (const ops of byIncident.values()) if (!(await asLeader(this.ns, leaderKey, ops))) return false;
    return true;
  }

  /** Records an attempt: the message leaves the outbox when delivered or given up, else waits for its next try. */
  async recordAttempt(leaderKey: string, entry: OutboxEntry, result: AttemptResult, now = Date.now()): Promise<Delivery['status']> {
    const attempts = entry.attempts + 1;
    const status: Delivery['status'] = result.delivered ? 'delivered' : !result.retryable || attempts >= MAX_ATTEMPTS ? 'failed' : 'pending';
    const previous = await this.ns.get(`${KEYS.notifyDeliveries}${entry.id}`).string();
    const delivery: Delivery = {
      ...(previous ? (JSON.parse(previous) as Delivery) : deliveryOf(entry, now)),
      status,
      attempts,
      httpStatus: result.httpStatus,
      error: result.error,
      updatedAt: new Date(now).toISOString(),
    };
    const outbox =
      status === 'pending'
        ? this.ns
            .put(`${KEYS.notifyOutbox}${entry.id}`)
            .value(JSON.stringify({ ...entry, attempts, nextAttemptAt: new Date(now + retryDelayMs(attempts)).toISOString() }))
        : this.ns.delete().key(`${KEYS.notifyOutbox}${entry.id}`);
    await asLeader(this.ns, leaderKey, [outbox, this.ns.put(`${KEYS.notifyDeliveries}${entry.id}`).value(JSON.stringify(delivery))]);
    return status;
  }

  /** Writes a delivery that was not queued (a test message sent by the API) to the log. */
  async logDelivery(delivery: Delivery): Promise<void> {
    await this.ns.put(`${KEYS.notifyDeliveries}${delivery.id}`).value(JSON.stringify(delivery));
  }

  /** Keeps the newest DELIVERY_LOG_LIMIT deliveries. */
  async pruneDeliveries(): Promise<void> {
    const keys = await this.ns.getAll().prefix(KEYS.notifyDeliveries).sort('Key', 'Descend').keys();
    for (const key of keys.slice(DELIVERY_LOG_LIMIT)) await this.ns.delete().key(key).exec();
  }
}

/** A delivery log entry for an outbox entry. */
export function deliveryOf(entry: Pick<OutboxEntry, 'id' | 'channelId' | 'event'>, now = Date.now()): Delivery {
  const at = new Date(now).toISOString();
  const { event } = entry;
  return {
    id: entry.id,
    channelId: entry.channelId,
    eventId: event.id,
    eventType: event.type,
    incidentId: event.incident.id,
    syncId: event.incident.syncId,
    text: event.text,
    status: 'pending',
    attempts: 0,
    createdAt: at,
    updatedAt: at,
  };
}
