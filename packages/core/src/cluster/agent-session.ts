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
  private validUntil = 0;
  private firedAt = 0;
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
    const lease = this.ns.lease(this.ttlSeconds, { autoKeepAlive: true });
    this.lease = lease;
    lease.on('keepaliveFired', () => (this.firedAt = performance.now()));
    lease.on('keepaliveSucceeded', () => {
      this.validUntil = Math.max(this.validUntil, (this.firedAt || performance.now()) + this.ttlSeconds * 1000 - this.marginMs);
    });
    lease.on('lost', (err) => this.end(`lease lost: ${errorMessage(err)}`));
    this.leaseIdValue = await lease.grant();
    this.validUntil = started + this.ttlSeconds * 1000 - this.marginMs;
    await lease.put(KEYS.agent(this.info.agentId)).value(JSON.stringify({ ...this.info, leaseId: this.leaseIdValue }));
    this.watchdog = setInterval(() => {
      if (performance.now() > this.validUntil) this.end('lease not renewed in time (etcd unreachable?)');
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
    return !this.ended && performance.now() <= this.validUntil;
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
