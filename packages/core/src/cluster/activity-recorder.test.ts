import { describe, expect, it } from 'vitest';
import { newSyncStatus } from '../runner/status.ts';
import { ActivityRecorder, type ActivityPoint } from './activity-store.ts';

describe('ActivityRecorder', () => {
  it('writes one point per minute with activity, and nothing for quiet minutes of an idle sync', () => {
    let now = Date.parse('2026-01-01T00:00:10Z');
    const points: ActivityPoint[] = [];
    const r = new ActivityRecorder(
      'a1',
      (p) => points.push(p),
      () => now,
    );
    r.observeStatus(newSyncStatus('s', 'a1', { state: 'running', lag: { rows: 500 } }));
    r.observeBatch(100, 0);
    r.observeBatch(100, 2);
    r.observeStatus(newSyncStatus('s', 'a1', { state: 'idle', lag: { rows: 0 } }));
    now += 60_000;
    r.tick();
    expect(points).toEqual([
      { t: '2026-01-01T00:00:00.000Z', rows: 200, skipped: 2, batches: 2, errors: 0, lagRows: 0, lagSeconds: undefined, state: 'idle', agentId: 'a1' },
    ]);
    // Ten idle minutes with the same lag and state: no writes at all.
    for (let i = 0; i < 10; i++) {
      r.observeStatus(newSyncStatus('s', 'a1', { state: 'idle', lag: { rows: 0 } }));
      now += 60_000;
      r.tick();
    }
    expect(points).toHaveLength(1);
    // An error is counted once however often the same status is published.
    const failed = newSyncStatus('s', 'a1', { state: 'retrying', lastError: { message: 'refused', code: 'X', at: '2026-01-01T00:11:05Z' } });
    r.observeStatus(failed);
    r.observeStatus(failed);
    r.close();
    expect(points.at(-1)).toMatchObject({ errors: 1, state: 'retrying', rows: 0 });
  });
});
