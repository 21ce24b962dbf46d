import { createHmac, timingSafeEqual } from 'node:crypto';
import { errorMessage } from '../errors.ts';
import type { Channel, NotificationEvent } from './notify-model.ts';

/** Headers of a signed webhook: the signature covers `<timestamp>.<body>`, so a captured body cannot be replayed later under a new time. */
export const SIGNATURE_HEADER = 'x-idra-signature';
export const TIMESTAMP_HEADER = 'x-idra-timestamp';
export const EVENT_ID_HEADER = 'x-idra-event-id';

/** How long one attempt may take. */
const ATTEMPT_TIMEOUT_MS = 10_000;

/** `sha256=<hex>` of HMAC-SHA256(secret, `<timestamp>.<body>`). */
export function signWebhook(secret: string, timestamp: string, body: string): string {
  return `sha256=${createHmac('sha256', secret).update(`${timestamp}.${body}`).digest('hex')}`;
}

/** Whether a received webhook carries a valid signature (what a receiver does; used by Idra's tests). */
export function verifyWebhook(secret: string, timestamp: string, body: string, signature: string): boolean {
  const expected = Buffer.from(signWebhook(secret, timestamp, body));
  const given = Buffer.from(signature);
  return expected.length === given.length && timingSafeEqual(expected, given);
}

/** The body a channel is sent: the event as JSON (webhook), or a Slack message. */
export function channelBody(channel: Pick<Channel, 'kind'>, event: NotificationEvent): string {
  return JSON.stringify(channel.kind === 'slack' ? { text: event.text } : event);
}

/** What an attempt came to: delivered, or why not, and whether trying again may help. */
export interface AttemptResult {
  delivered: boolean;
  httpStatus?: number | undefined;
  error?: string | undefined;
  /** A later attempt may succeed (network error, timeout, 5xx, 408, 429); other refusals are final. */
  retryable: boolean;
}

/**
 * One POST of an event to a channel whose secrets are open. Redirects are not followed (a receiver
 * must be named by its final URL); the error never holds the URL, which is a secret.
 */
export async function deliverOnce(channel: Channel, event: NotificationEvent, signal?: AbortSignal): Promise<AttemptResult> {
  const body = channelBody(channel, event);
  const timestamp = String(Math.floor(Date.now() / 1000));
  const headers: Record<string, string> = {
    'content-type': 'application/json',
    'user-agent': 'idra-notifier',
    [EVENT_ID_HEADER]: event.id,
    [TIMESTAMP_HEADER]: timestamp,
  };
  if (channel.kind === 'webhook' && channel.secret) headers[SIGNATURE_HEADER] = signWebhook(channel.secret, timestamp, body);
  const timeout = AbortSignal.timeout(ATTEMPT_TIMEOUT_MS);
  try {
    const res = await fetch(channel.url, { method: 'POST', body, headers, redirect: 'manual', signal: signal ? AbortSignal.any([signal, timeout]) : timeout });
    await res.body?.cancel();
    if (res.ok) return { delivered: true, httpStatus: res.status, retryable: false };
    const retryable = res.status >= 500 || res.status === 408 || res.status === 429;
    return {
      delivered: false,
      httpStatus: res.status,
      error: `the receiver answered ${res.status}${res.status >= 300 && res.status < 400 ? ' (a redirect: give the final URL)' : ''}`,
      retryable,
    };
  } catch (err) {
    const cause = (err as { cause?: unknown }).cause;
    const text = timeout.aborted ? `no answer within ${ATTEMPT_TIMEOUT_MS / 1000} s` : errorMessage(cause ?? err);
    return { delivered: false, error: `cannot reach the receiver: ${text.replaceAll(channel.url, '<url>')}`, retryable: true };
  }
}

/** Milliseconds before attempt `attempts + 1`: 1 s, 2 s, 4 s … capped at 5 minutes. */
export function retryDelayMs(attempts: number): number {
  return Math.min(1000 * 2 ** Math.max(0, attempts - 1), 300_000);
}

/** Attempts per message before it is given up (about 17 minutes of backoff). */
export const MAX_ATTEMPTS = 12;
