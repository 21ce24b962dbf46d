import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { createElement, Fragment } from 'react';
import { renderToStaticMarkup } from 'react-dom/server';
import type { SyncStatus } from '@idra/api-client';
import { FaithfulCopyFacts } from './FaithfulCopyFacts.tsx';
import { RelativeTime, clock } from './RelativeTime.tsx';

const EVENT = '2026-01-02T00:00:00.000Z';
const status = {
  syncId: 's1',
  agentId: 'a1',
  state: 'idle',
  rowsCopied: 10,
  rowsSkipped: 0,
  batches: 2,
  updatedAt: EVENT,
  rowsDeleted: 3,
  reconciliation: { at: EVENT, kind: 'reconcile', sourceKeys: 7, destinationKeys: 10, deleted: 3, missing: 0, durationMs: 4 },
  schemaChanges: [{ at: EVENT, batch: 2, outcome: 'applied', changes: ['column email added (text)'] }],
} as SyncStatus;

/** The "Deletes and schema changes" block and a Timeline entry of the same moment, as the sync detail shows them. */
const page = () =>
  renderToStaticMarkup(createElement(Fragment, null, createElement(FaithfulCopyFacts, { status }), createElement(RelativeTime, { at: EVENT })));
const shown = (html: string) => [...html.matchAll(/<time [^>]*>([^<]*)<\/time>/g)].map((m) => m[1]);

describe('RelativeTime and the shared clock', () => {
  beforeEach(() => {
    vi.useFakeTimers({ now: Date.parse(EVENT) + 2000 });
  });
  afterEach(() => {
    vi.useRealTimers();
  });

  it('moves every relative time on each second though no new status comes, all from one timer', () => {
    let ticks = 0;
    // What React does for each time on screen; the clock runs one timer however many there are.
    const stops = [1, 2, 3].map(() => clock.subscribe(() => ticks++));
    expect(vi.getTimerCount()).toBe(1);
    expect(shown(page())).toEqual(['2 s ago', '2 s ago', '2 s ago']);

    vi.advanceTimersByTime(11_000);
    // 11 ticks, each re-rendering the 3 subscribers.
    expect(ticks).toBe(33);
    expect(shown(page())).toEqual(['13 s ago', '13 s ago', '13 s ago']);

    // Between two ticks every time reads the clock, not Date.now(): one moment never reads "13 s" in one card and "14 s" in another.
    vi.setSystemTime(Date.parse(EVENT) + 13_900);
    expect(shown(page())).toEqual(['13 s ago', '13 s ago', '13 s ago']);
    vi.advanceTimersByTime(1000);
    expect(shown(page())).toEqual(['15 s ago', '15 s ago', '15 s ago']);

    for (const stop of stops) stop();
    expect(vi.getTimerCount()).toBe(0);
  });

  it('shows the time of the first render when nothing has subscribed yet (no tick of long ago)', () => {
    const stop = clock.subscribe(() => undefined);
    stop();
    vi.advanceTimersByTime(3_600_000);
    expect(shown(page())[0]).toBe('1 h ago');
    expect(renderToStaticMarkup(createElement(RelativeTime, { at: EVENT }))).toMatch(new RegExp(`^<time dateTime="${EVENT}" title="[^"]+">1 h ago</time>$`));
  });
});
