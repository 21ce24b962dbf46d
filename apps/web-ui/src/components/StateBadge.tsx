import type { DisplayState } from '../lib/sync-state.ts';

/** The state of a sync as a coloured word (the colour is never the only cue). */
export function StateBadge({ state, detail }: { state: DisplayState; detail?: string | undefined }) {
  return (
    <span className={`badge state-${state}`}>
      {state}
      {detail && <span className="badge-detail"> · {detail}</span>}
    </span>
  );
}
