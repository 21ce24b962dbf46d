import type { SyncHealth } from '../lib/sync-state.ts';
import { failureDetail } from '../lib/sync-state.ts';

/** A sync's health as a coloured word (the colour is never the only cue); the reason is in the tooltip. */
export function HealthBadge({ health, showDetail = true }: { health: SyncHealth; showDetail?: boolean }) {
  const detail = showDetail ? failureDetail(health) : undefined;
  return (
    <span className={`badge health-${health.health}`} title={health.reason}>
      {health.health}
      {detail && <span className="badge-detail"> · {detail}</span>}
    </span>
  );
}
