import type { SyncOverview } from '@idra/api-client';

/** What an operator needs to know about a sync at a glance. */
export type DisplayState = 'running' | 'paused' | 'failing' | 'unassigned';

export const DISPLAY_STATES: readonly DisplayState[] = ['running', 'paused', 'failing', 'unassigned'];

/**
 * paused: disabled · failing: its agent reports `failed` or `retrying` · unassigned: enabled but no
 * agent was given it (no agent running, or the leader has not planned yet) · running: the rest.
 */
export function displayState(o: Pick<SyncOverview, 'enabled' | 'status' | 'assignment'>): DisplayState {
  if (!o.enabled) return 'paused';
  if (o.status && (o.status.state === 'failed' || o.status.state === 'retrying')) return 'failing';
  if (!o.assignment) return 'unassigned';
  return 'running';
}

/** The agent's own word for what it does now (idle, starting …), when the sync is running. */
export function detailOf(o: Pick<SyncOverview, 'enabled' | 'status' | 'assignment'>): string | undefined {
  const state = displayState(o);
  if (state === 'failing') return o.status?.state === 'retrying' ? `retrying${o.status.retryInMs ? ` in ${Math.ceil(o.status.retryInMs / 1000)} s` : ''}` : 'stopped by an error';
  if (state === 'running') return o.status && o.status.state !== 'running' ? o.status.state : undefined;
  if (state === 'paused' && o.status && o.status.state !== 'stopped') return 'stopping';
  return undefined;
}
