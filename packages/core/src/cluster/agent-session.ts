import { EventEmitter } from 'node:events';
import { hostname } from 'node:os';
import type { Lease, Namespace } from 'etcd3';
import { FencedError, errorMessage } from '../errors.ts';
import { KEYS } from './keys.ts';

/** What an agent publishes about itself under `agents/<agentId>`. */
export interface AgentInfo {
  agentId: string;
  host: string;
  pid: number;
  version: string;
  startedAt: string;
  /** How many syncs the agent runs at most (`--max-syncs`); the leader assigns no more. Unset: no limit. */
  capacity?: number | undefined;
  /** Where the agent runs (`--labels region=eu,net=dc1`): syncs whose placement asks for labels run only on agents that have them. */
  labels?: Record<string, string> | undefined;
}

export function agentInfo(agentId: string, version: string, placement: Pick<AgentInfo, 'capacity' | 'labels'> = {}): AgentInfo {
  return { agentId, host: hostname(), pid: process.pid, version, startedAt: new Date().toISOString(), ...placement };
}

/**
 * Until when a lease kept alive by keepalives is certainly valid. A keepalive is sent every third of
 * the TTL whether or not the previous one was answered, and answers come back in order on the stream:
 * each answer extends the validity from the send time of the keepalive it answers (the oldest one not
 * answered yet), not of a later one — slow answers must not make a lease look younger than it is.
 */
export class LeaseValidity {
  private readonly windowMs: number;
  private readonly pending: number[] = [];
  private until: number;

  /** `windowMs`: the TTL less a margin; `grantedAt`: when the grant was asked for. */
  constructor(windowMs: number, grantedAt: number) {
    this.windowMs = windowMs;
    this.until = grantedAt + windowMs;
  }

  get validUntil(): number {
    return this.until;
  }

  /** A keepalive was sent at `at`. */
  fired(at: number): void {
    this.pending.push(at);
  }

  /** The next keepalive not answered yet was answered. */
  answered(): void {
    const sentAt = this.pending.shift();
    if (sentAt !== undefined) this.until = Math.max(this.until, sentAt + this.windowMs);
  }

  /** A new keepalive stream: what was sent on the old one will not be answered. */
  restarted(): void {
    this.pending.length = 0;
  }
}

/**
 * One registration of an agent: `agents/<agentId>` on a lease kept alive continuously. The session
 * knows, by the monotonic clock, until when the lease is certainly still valid (keepalive send time +
 * TTL − margin); once that moment passes without a renewal it emits `lost` and every sync must stop.
 */
export class AgentSession extends EventEmitter {
  readonly info: AgentInfo;
  readonly ttlSeconds: number;
  private readonly ns: Namespace;
  private lease: Lease | undefined;
  private leaseIdValue: string | undefined;
  private validity: LeaseValidity | undefined;
  private watchdog: NodeJS.Timeout | undefined;
  private ended = false;

  constructor(ns: Namespace, info: AgentInfo, ttlSeconds: number) {
    super();
    this.ns = ns;
    this.info = info;
    this.ttlSeconds = ttlSeconds;
  }

  get leaseId(): string {
    if (!this.leaseIdValue) throw new Error('agent session not started');
    return this.leaseIdValue;
  }

  /** Margin kept before the lease's expiry: commits stop a little before etcd could expire it. */
  private get marginMs(): number {
    return Math.min(500, (this.ttlSeconds * 1000) / 4);
  }

  /** Grants the lease and registers the agent; rejects when etcd is unreachable. */
  async start(): Promise<void> {
    const started = performance.now();
    const validity = (this.validity = new LeaseValidity(this.ttlSeconds * 1000 - this.marginMs, started));
    const lease = this.ns.lease(this.ttlSeconds, { autoKeepAlive: true });
    this.lease = lease;
    lease.on('keepaliveEstablished', () => validity.restarted());
    lease.on('keepaliveFailed', () => validity.restarted());
    lease.on('keepaliveFired', () => validity.fired(performance.now()));
    lease.on('keepaliveSucceeded', () => validity.answered());
    lease.on('lost', (err) => this.end(`lease lost: ${errorMessage(err)}`));
    this.leaseIdValue = await lease.grant();
    await lease.put(KEYS.agent(this.info.agentId)).value(JSON.stringify({ ...this.info, leaseId: this.leaseIdValue }));
    this.watchdog = setInterval(() => {
      if (performance.now() > validity.validUntil) this.end('lease not renewed in time (etcd unreachable?)');
    }, 100);
    this.watchdog.unref();
  }

  /** Says in the registration that this agent is stopping on purpose, so that the leader records a stop, not a loss. */
  async markStopping(): Promise<void> {
    if (this.ended || !this.lease) return;
    await this.lease.put(KEYS.agent(this.info.agentId)).value(JSON.stringify({ ...this.info, leaseId: this.leaseIdValue, stopping: true }));
  }

  /** True while the lease is certainly alive. */
  get valid(): boolean {
    return !this.ended && this.validity !== undefined && performance.now() <= this.validity.validUntil;
  }

  /** Throws FencedError when the lease may have expired: nothing may be written for `syncId`. */
  assertValid(syncId: string): void {
    if (!this.valid) throw new FencedError(syncId, 'the agent lease may have expired; not writing');
  }

  private end(reason: string): void {
    if (this.ended) return;
    this.ended = true;
    if (this.watchdog) clearInterval(this.watchdog);
    this.lease?.release();
    this.emit('lost', reason);
  }

  /** Ends the session; `revoke` deletes the registration and every lock held on the lease at once. */
  async close(revoke: boolean): Promise<void> {
    const wasEnded = this.ended;
    this.ended = true;
    if (this.watchdog) clearInterval(this.watchdog);
    if (revoke && !wasEnded && this.lease) await this.lease.revoke().catch(() => {});
    else this.lease?.release();
  }
}
