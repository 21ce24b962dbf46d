import type { SyncOverview, SyncStatus } from '@idra/api-client';
import { deriveHealth, HEALTH_ORDER, type Health, type SyncHealth } from '@idra/core/health';
import { formatAgo, formatIn } from './format.ts';

export { HEALTH_ORDER, type Health, type SyncHealth };

/**
 * The health of a sync whose status may be fresher than the overview's (the detail page's own query,
 * the event stream): derived again by core's one function, not restated here.
 */
export function healthOf(o: Pick<SyncOverview, 'enabled' | 'assignment' | 'unassigned' | 'lagThreshold'>, status: SyncStatus | null | undefined): SyncHealth {
  return deriveHealth({ enabled: o.enabled, status, assigned: o.assignment !== null, unassignedReason: o.unassigned?.reason, lagThreshold: o.lagThreshold });
}

/** "attempt 4 · next in 25 s", "attempt 2 · waits for Retry now" for failing syncs. */
export function failureDetail(h: SyncHealth, now = Date.now()): string | undefined {
  if (h.health !== 'retrying' && h.health !== 'failed') return undefined;
  const parts = [
    h.attempts ? `attempt ${h.attempts}` : undefined,
    h.nextRetryAt ? `next ${formatIn(h.nextRetryAt, now)}` : h.health === 'failed' ? 'waits for a fix' : undefined,
  ];
  return parts.filter(Boolean).join(' · ') || undefined;
}

/** "failing since 3 min ago" */
export function failingSince(h: SyncHealth, now = Date.now()): string | undefined {
  return h.failingSince ? `failing since ${formatAgo(h.failingSince, now)}` : undefined;
}
