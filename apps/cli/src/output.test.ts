import { describe, expect, it } from 'vitest';
import { stateText, statusText } from './output.ts';

const base = { syncId: 'orders', agentId: 'a1', rowsCopied: 3, rowsSkipped: 0, lag: undefined, updatedAt: '2026-12-01T10:00:00.000Z' };

describe('status text', () => {
  it('shows a configuration problem as such, with when it is checked again, and the warning', () => {
    const blind = {
      ...base,
      state: 'failed',
      retryInMs: 15_000,
      lastError: {
        code: 'IDRA_ERR_CONFIG_WATERMARK_BLIND',
        message: 'postgres source: … run GRANT pg_read_all_stats TO idra on the source …',
        at: '2026-12-01T09:59:00.000Z',
      },
    };
    expect(stateText(blind)).toBe('failed (configuration)');
    expect(statusText(blind)).toBe(
      'orders: failed (configuration) on a1; 3 rows copied, 0 skipped; lag -; updated 2026-12-01T10:00:00.000Z\n' +
        'configuration problem IDRA_ERR_CONFIG_WATERMARK_BLIND: postgres source: … run GRANT pg_read_all_stats TO idra on the source … (checked again in 15 s)\n',
    );
  });

  it('keeps other errors as last errors, and shows the warning of a running sync', () => {
    const retrying = { ...base, state: 'retrying', retryInMs: 400, lastError: { code: 'IDRA_ERR_CONNECTOR', message: 'postgres source: connection refused' } };
    expect(stateText(retrying)).toBe('retrying');
    expect(statusText(retrying)).toContain('\nlast error IDRA_ERR_CONNECTOR: postgres source: connection refused\n');
    const warned = {
      ...base,
      state: 'idle',
      warning: 'open transactions are not inspected on SQL Server: only delayMs (5000 ms) protects rows committed late',
    };
    expect(statusText(warned)).toMatch(
      /\nwarning: open transactions are not inspected on SQL Server: only delayMs \(5000 ms\) protects rows committed late\n$/,
    );
  });
});
