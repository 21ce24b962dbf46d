import { createHash } from 'node:crypto';
import type { Namespace } from 'etcd3';
import type { FastifyRequest } from 'fastify';
import { KEYS } from '@idra/core';
import { ApiError } from '../errors.ts';

/** One key's count in its current window, as `@fastify/rate-limit` wants it. */
interface WindowCount {
  current: number;
  /** Milliseconds until the window ends. */
  ttl: number;
}

interface StoredCount {
  n: number;
  /** When the window ends (epoch ms). */
  until: number;
}

/** Compare-and-put rounds before giving up when other API servers count the same key at the same instant. */
const MAX_ROUNDS = 20;

/**
 * Attempts counted in etcd, shared by every API server of the cluster: with N replicas an attacker
 * still gets `max` password guesses per window, not N × `max`. One key per counted thing (its name
 * hashed: it holds a user name and an address), on a lease as long as the window, so a key lives no
 * longer than its window and a flood of distinct names cannot fill etcd. Increments are compare-and-put
 * on the key's revision, so concurrent attempts on two servers are never lost.
 */
export class AttemptCounter {
  private readonly ns: Namespace;

  constructor(ns: Namespace) {
    this.ns = ns;
  }

  /** Counts one attempt of `name` in a window of `windowMs` and returns the count so far. */
  async increment(name: string, windowMs: number): Promise<WindowCount> {
    const key = KEYS.attempts(createHash('sha256').update(name).digest('hex'));
    for (let round = 0; round < MAX_ROUNDS; round++) {
      const kv = (await this.ns.get(key).exec()).kvs[0];
      const now = Date.now();
      const stored = kv ? (JSON.parse(kv.value.toString()) as StoredCount) : undefined;
      if (stored && kv && stored.until > now) {
        const next: StoredCount = { n: stored.n + 1, until: stored.until };
        // ignoreLease: the key keeps expiring with its window.
        const put = await this.ns
          .if(key, 'Mod', '==', kv.mod_revision)
          .then(this.ns.put(key).value(JSON.stringify(next)).ignoreLease())
          .commit();
        if (put.succeeded) return { current: next.n, ttl: next.until - now };
        continue;
      }
      const lease = this.ns.lease(Math.ceil(windowMs / 1000) + 1, { autoKeepAlive: false });
      const leaseId = await lease.grant();
      const first: StoredCount = { n: 1, until: now + windowMs };
      const unchanged = kv ? this.ns.if(key, 'Mod', '==', kv.mod_revision) : this.ns.if(key, 'Create', '==', 0);
      const put = await unchanged.then(this.ns.put(key).value(JSON.stringify(first)).lease(leaseId)).commit();
      if (put.succeeded) {
        lease.release();
        return { current: 1, ttl: windowMs };
      }
      await lease.revoke();
    }
    throw new Error(`could not count an attempt: ${MAX_ROUNDS} concurrent updates in a row`);
  }

  /**
   * A store for `@fastify/rate-limit` (its `store` option takes a class) counting through this
   * counter. Errors reach the plugin, which answers 500: an attempt that cannot be counted is not let through.
   */
  rateLimitStore(): new () => RateLimitStore {
    const counter = this;
    return class {
      incr(key: string, cb: (err: Error | null, res?: WindowCount) => void, timeWindow: number): void {
        counter.increment(key, timeWindow).then(
          (r) => cb(null, r),
          (err: Error) => cb(err),
        );
      }
      child(): RateLimitStore {
        return this;
      }
    };
  }
}

/** The store interface of `@fastify/rate-limit`. */
interface RateLimitStore {
  incr(key: string, cb: (err: Error | null, res?: WindowCount) => void, timeWindow: number, max: number): void;
  child(routeOptions: unknown): RateLimitStore;
}

/**
 * A route's `config.rateLimit`: at most `max` attempts of `what` per minute per `keyOf(req)`, counted
 * after authentication (the key may name the user), answered 429 with `code`.
 */
export function attemptLimit(max: number, what: string, keyOf: (req: FastifyRequest) => string, code: string) {
  return {
    max,
    timeWindow: 60_000,
    hook: 'preHandler' as const,
    keyGenerator: (req: FastifyRequest) => `${what}|${keyOf(req)}`,
    errorResponseBuilder: (_req: FastifyRequest, ctx: { after: string }) => new ApiError(429, code, `too many ${what} attempts: retry in ${ctx.after}`),
  };
}
