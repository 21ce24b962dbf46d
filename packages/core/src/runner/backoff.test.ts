import { describe, expect, it } from 'vitest';
import { backoffDelay, sleep } from './backoff.ts';

describe('backoff', () => {
  it('grows exponentially and stays under the cap', () => {
    const opts = { initialMs: 100, maxMs: 5000 };
    expect(backoffDelay(0, opts, () => 1)).toBe(100);
    expect(backoffDelay(3, opts, () => 1)).toBe(800);
    expect(backoffDelay(50, opts, () => 1)).toBe(5000);
    expect(backoffDelay(50, opts, () => 0)).toBe(2500);
  });

  it('sleep ends early on abort', async () => {
    const ctl = new AbortController();
    const started = Date.now();
    setTimeout(() => ctl.abort(), 20);
    await sleep(10_000, ctl.signal);
    expect(Date.now() - started).toBeLessThan(2000);
  });
});
