import { useSyncExternalStore } from 'react';
import { formatAgo, formatDateTime } from '../lib/format.ts';

/** Relative times show seconds under a minute ("12 s ago"), so they move on each second. */
const TICK_MS = 1000;

const listeners = new Set<() => void>();
let now = Date.now();
let timer: ReturnType<typeof setInterval> | undefined;

function tick(): void {
  now = Date.now();
  for (const listener of listeners) listener();
}

/**
 * One clock for every relative time on screen: a single timer, running while anything shows one, so
 * that the same moment reads the same in every card ("2 s ago" in Status and "2 s ago" in the Timeline)
 * and moves on without waiting for new data. Exported for tests; components call `useNow`.
 */
export const clock = {
  subscribe(listener: () => void): () => void {
    listeners.add(listener);
    if (timer === undefined) {
      now = Date.now();
      timer = setInterval(tick, TICK_MS);
    }
    return () => {
      listeners.delete(listener);
      if (listeners.size === 0) {
        clearInterval(timer);
        timer = undefined;
      }
    };
  },
  /** The clock's time: it changes only on a tick (React needs the same answer between ticks). */
  now(): number {
    // Nobody subscribed yet (the first render of a page): the time of the last tick may be long past.
    if (timer === undefined && Date.now() - now >= TICK_MS) now = Date.now();
    return now;
  },
};

/** The shared clock's time in ms; the component renders again on each tick. */
export function useNow(): number {
  return useSyncExternalStore(clock.subscribe, clock.now, clock.now);
}

/** When something happened, as "3 min ago" with the exact time on hover, moving on with the shared clock. */
export function RelativeTime({ at }: { at: string | undefined | null }) {
  const current = useNow();
  if (!at) return <>—</>;
  return (
    <time dateTime={at} title={formatDateTime(at)}>
      {formatAgo(at, current)}
    </time>
  );
}
