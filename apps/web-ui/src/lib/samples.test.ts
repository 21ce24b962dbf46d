import { describe, expect, it } from 'vitest';
import type { SyncStatus } from '@idra/api-client';
import { SampleStore } from './samples.ts';

const status = (at: number, rowsCopied: number, lagRows?: number): SyncStatus => ({
  syncId: 's',
  agentId: 'a',
  state: 'running',
  rowsCopied,
  rowsSkipped: 0,
  batches: 1,
  lastBatchAt: undefined,
  position: undefined,
  heldBack: undefined,
  lag: lagRows === undefined ? undefined : { rows: lagRows },
  lastError: undefined,
  retryInMs: undefined,
  updatedAt: new Date(at).toISOString(),
});

describe('SampleStore', () => {
  it('computes rows per second between reports and ignores a report seen twice', () => {
    const store = new SampleStore();
    store.record(status(1_000, 0, 500));
    store.record(status(3_000, 200, 300));
    store.record(status(3_000, 200, 300));
    expect(store.samples('s').map((s) => [s.rate, s.lagRows])).toEqual([
      [0, 500],
      [100, 300],
    ]);
  });

  it('starts over after an agent restart and forgets samples older than the window', () => {
    const store = new SampleStore(10_000);
    store.record(status(1_000, 900));
    store.record(status(2_000, 50));
    store.record(status(20_000, 150));
    const samples = store.samples('s');
    expect(samples.map((s) => s.t)).toEqual([20_000]);
    expect(store.samples('other')).toEqual([]);
  });

  it('notifies subscribers', () => {
    const store = new SampleStore();
    let calls = 0;
    const off = store.subscribe(() => calls++);
    store.record(status(1_000, 1));
    off();
    store.record(status(2_000, 2));
    expect(calls).toBe(1);
  });
});
