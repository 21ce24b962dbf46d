import { backoffDelay, sleep } from '@idra/core';
import type { Response } from 'undici';
import type { HttpConfig } from './http-options.ts';
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
  text: string;
}

/**
 * Sends a request, retrying 429, 5xx and network errors with capped exponential backoff (a
 * Retry-After header wins) up to `config.retries` times. Throws HttpStatusError for a final
 * status, or the last error when the attempts are spent.
 */
export async function httpRequest(
  config: HttpConfig,
  request: { method: 'GET' | 'POST'; url: URL; headers?: Record<string, string>; body?: string },
  signal: AbortSignal,
): Promise<HttpAnswer> {
  const backoff = { initialMs: config.retryBackoffMs, maxMs: 30_000 };
  for (let attempt = 0; ; attempt++) {
    let wait: number;
    let failure: Error;
    try {
      const response = await guardedFetch(request.url, {
        method: request.method,
        headers: { accept: 'application/json', ...config.headers, ...request.headers },
        body: request.body ?? null,
        signal: AbortSignal.any([signal, AbortSignal.timeout(config.timeoutMs)]),
      });
      const text = await response.text();
      if (response.ok) return { status: response.status, text };
      failure = new HttpStatusError(request.method, request.url, response);
      if (!isRetryableStatus(response.status)) throw failure;
      wait = retryAfterMs(response.headers.get('retry-after')) ?? backoffDelay(attempt, backoff);
    } catch (err) {
      if (err instanceof HttpStatusError || signal.aborted) throw err;
      const refused = refusalIn(err);
      if (refused) throw refused;
      const cause = (err as { cause?: { code?: string; message?: string } }).cause;
      failure = new Error(`${request.method} ${request.url.origin}${request.url.pathname}: ${cause?.code ?? cause?.message ?? (err as Error).message}`, { cause: err });
      wait = backoffDelay(attempt, backoff);
    }
    if (attempt >= config.retries) throw new Error(`${failure.message} (after ${attempt + 1} attempts)`, { cause: failure });
    await sleep(wait, signal);
    if (signal.aborted) throw failure;
  }
}
