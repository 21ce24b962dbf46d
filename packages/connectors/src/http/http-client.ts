import { backoffDelay, sleep } from '@idra/core';
import type { Response } from 'undici';
import { HttpTargetRefused, guardedFetch, statusText } from './http-guard.ts';

/**
 * An HTTP answer that is final (not retried): a status the server meant. The message has the status
 * and its standard reason, never the body: whatever the server answered (a metadata document, an
 * internal page) would otherwise be shown to everyone who can read the sync's status.
 */
export class HttpStatusError extends Error {
  readonly status: number;
  constructor(method: string, url: URL, response: Response) {
    super(`${method} ${url.origin}${url.pathname} → ${statusText(response)}`);
    this.status = response.status;
  }
}

/** The refusal of the target in an error's chain of causes (undici wraps what its DNS lookup threw). */
export function refusalIn(err: unknown): HttpTargetRefused | undefined {
  for (let e: unknown = err, depth = 0; e instanceof Error && depth < 5; e = e.cause, depth++) if (e instanceof HttpTargetRefused) return e;
  return undefined;
}

/** Statuses worth another attempt: throttling, timeouts, server errors. */
function isRetryableStatus(status: number): boolean {
  return status === 408 || status === 425 || status === 429 || status >= 500;
}

/** Milliseconds a Retry-After header asks for (seconds or an HTTP date), capped at 5 minutes. */
export function retryAfterMs(header: string | null, now = Date.now()): number | undefined {
  if (!header) return undefined;
  const seconds = Number(header.trim());
  const ms = Number.isFinite(seconds) ? seconds * 1000 : Date.parse(header) - now;
  return Number.isFinite(ms) ? Math.min(Math.max(0, ms), 300_000) : undefined;
}

/** The answer of a request that succeeded (2xx). */
export interface HttpAnswer {
  status: number;
  headers: Headers;
  text: string;
}

/** Bearer tokens that expire (OAuth2): the current one's header, and a way to drop it when the server refuses it. */
export interface TokenSource {
  header(signal: AbortSignal): Promise<Record<string, string>>;
  invalidate(): void;
}

/** How requests to one API are made: per-request timeout, retries, the headers every request carries, tokens. */
export interface HttpRetries {
  timeoutMs: number;
  retries: number;
  retryBackoffMs: number;
  headers?: Record<string, string>;
  tokens?: TokenSource | undefined;
  /** The only origin requests may go to (they carry the connection's credentials); any when absent. */
  origin?: string | undefined;
}

/**
 * Sends a request, retrying 429, 5xx and network errors with capped exponential backoff (a
 * Retry-After header wins) up to `config.retries` times; with tokens, a 401 fetches a new token and
 * sends the request again once. Throws HttpStatusError for a final status, or the last error when
 * the attempts are spent.
 */
export async function httpRequest(
  config: HttpRetries,
  request: { method: 'GET' | 'POST'; url: URL; headers?: Record<string, string>; body?: string },
  signal: AbortSignal,
): Promise<HttpAnswer> {
  if (config.origin !== undefined && request.url.origin !== config.origin) {
    // A next-page link or a stored cursor naming another server: what the request carries is the connection's.
    throw new HttpTargetRefused(
      `${request.method} ${request.url.origin}${request.url.pathname}: not the connection's origin ${config.origin}; its requests (and their credentials) go only there`,
    );
  }
  const backoff = { initialMs: config.retryBackoffMs, maxMs: 30_000 };
  let renewed = false;
  for (let attempt = 0; ; attempt++) {
    let wait: number;
    let failure: Error;
    try {
      const token = config.tokens ? await config.tokens.header(signal) : {};
      const response = await guardedFetch(request.url, {
        method: request.method,
        headers: { accept: 'application/json', ...config.headers, ...token, ...request.headers },
        body: request.body ?? null,
        signal: AbortSignal.any([signal, AbortSignal.timeout(config.timeoutMs)]),
      });
      const text = await response.text();
      if (response.ok) return { status: response.status, headers: response.headers as unknown as Headers, text };
      failure = new HttpStatusError(request.method, request.url, response);
      if (response.status === 401 && config.tokens && !renewed) {
        // The token was revoked or expired early: one more try with a new one.
        config.tokens.invalidate();
        renewed = true;
        attempt--;
        continue;
      }
      if (!isRetryableStatus(response.status)) throw failure;
      wait = retryAfterMs(response.headers.get('retry-after')) ?? backoffDelay(attempt, backoff);
    } catch (err) {
      if (err instanceof HttpStatusError || signal.aborted) throw err;
      const refused = refusalIn(err);
      if (refused) throw refused;
      const cause = (err as { cause?: { code?: string; message?: string } }).cause;
      failure = new Error(`${request.method} ${request.url.origin}${request.url.pathname}: ${cause?.code ?? cause?.message ?? (err as Error).message}`, {
        cause: err,
      });
      wait = backoffDelay(attempt, backoff);
    }
    if (attempt >= config.retries) throw new Error(`${failure.message} (after ${attempt + 1} attempts)`, { cause: failure });
    await sleep(wait, signal);
    if (signal.aborted) throw failure;
  }
}
