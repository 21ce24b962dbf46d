import { describe, expect, it } from 'vitest';
import { newSyncStatus } from '../runner/status.ts';
import { compareHealth, copyProgress, deriveHealth, isConfigProblem, lagSummary, type Health } from './health.ts';

const status = (patch: Parameters<typeof newSyncStatus>[2]) => newSyncStatus('s', 'a', { state: 'idle', ...patch });

describe('deriveHealth', () => {
  it('calls a sync far behind lagging, not healthy', () => {
    expect(deriveHealth({ enabled: true, assigned: true, status: status({ state: 'running', lag: { rows: 113_500 } }) })).toEqual({
      health: 'lagging',
      reason: '113,500 rows behind (threshold 10,000)',
    });
    expect(deriveHealth({ enabled: true, assigned: true, status: status({ lag: { rows: 113_500 } }), lagThreshold: { rows: 200_000 } }).health).toBe('healthy');
    expect(deriveHealth({ enabled: true, assigned: true, status: status({ lag: { seconds: 900 } }) }).reason).toBe('900 s behind (threshold 300 s)');
  });

  it('says which data source a waiting sync waits for and who holds its slots', () => {
    const waitingFor = {
      dataSourceId: 'pg',
      limit: 'syncs' as const,
      held: 2,
      max: 2,
      holders: ['a on agent-1', 'b on agent-2'],
      ahead: 1,
      since: '2026-01-01T00:00:00.000Z',
    };
    expect(deriveHealth({ enabled: true, assigned: true, status: status({ state: 'waiting', waitingFor }) })).toEqual({
      health: 'healthy',
      reason: 'waiting for data source pg (2/2 slots held by a on agent-1, b on agent-2; 1 waiting ahead)',
    });
  });

  it('keeps attempts and when the failures began', () => {
    const s = status({
      state: 'retrying',
      attempts: 4,
      failingSince: '2026-01-01T00:00:00.000Z',
      nextRetryAt: '2026-01-01T00:01:00.000Z',
      lastError: { message: 'connection refused', code: 'X', at: '2026-01-01T00:00:30.000Z' },
    });
    expect(deriveHealth({ enabled: true, assigned: true, status: s })).toEqual({
      health: 'retrying',
      reason: 'connection refused',
      attempts: 4,
      failingSince: '2026-01-01T00:00:00.000Z',
      nextRetryAt: '2026-01-01T00:01:00.000Z',
    });
  });

  it('calls a failure of the configuration, or of a privilege a GRANT gives, a configuration problem', () => {
    const lastError = {
      message: 'postgres source: … run GRANT pg_read_all_stats TO idra on the source …',
      code: 'IDRA_ERR_CONFIG_WATERMARK_BLIND',
      at: '2026-01-01T00:00:30.000Z',
    };
    const blind = status({ state: 'failed', attempts: 2, nextRetryAt: '2026-01-01T00:01:00.000Z', lastError });
    expect(isConfigProblem(blind)).toBe(true);
    expect(deriveHealth({ enabled: true, assigned: true, status: blind })).toMatchObject({
      health: 'failed',
      reason: `configuration problem: ${lastError.message}`,
      nextRetryAt: '2026-01-01T00:01:00.000Z',
    });
    const rejected = status({ state: 'failed', lastError: { ...lastError, code: 'IDRA_ERR_SYNC_FAILED' } });
    expect([isConfigProblem(rejected), deriveHealth({ enabled: true, assigned: true, status: rejected }).reason]).toEqual([false, lastError.message]);
    expect(isConfigProblem(status({ state: 'retrying', lastError }))).toBe(false);
  });

  it('puts paused before anything, then unassigned over a stale status', () => {
    expect(deriveHealth({ enabled: false, assigned: false, status: status({ state: 'failed' }) }).health).toBe('paused');
    expect(deriveHealth({ enabled: true, assigned: false, status: status({ state: 'running' }) }).health).toBe('unassigned');
    expect(deriveHealth({ enabled: true, assigned: false, unassignedReason: 'no agent with region=eu', status: undefined }).reason).toBe(
      'unassigned: no agent with region=eu',
    );
    expect(deriveHealth({ enabled: true, assigned: true, status: undefined }).health).toBe('healthy');
  });

  it('sorts problems first', () => {
    const list: Health[] = ['healthy', 'paused', 'lagging', 'failed', 'unassigned', 'retrying'];
    expect(list.sort(compareHealth)).toEqual(['failed', 'retrying', 'unassigned', 'lagging', 'healthy', 'paused']);
  });
});

describe('copyProgress and lagSummary', () => {
  it('reports an initial copy from totals and lag, with an ETA at a given rate', () => {
    const s = status({ state: 'running', lag: { rows: 7500 }, totals: { rowsCopied: 2500, rowsSkipped: 0, batches: 3, since: '2026-01-01T00:00:00.000Z' } });
    expect(copyProgress(s, 500)).toEqual({ initial: true, percent: 25, rowsDone: 2500, rowsLeft: 7500, etaSeconds: 15 });
    expect(copyProgress(status({ lag: { rows: 0 } }))).toBeUndefined();
  });

  it('shows one unit, the other for a tooltip', () => {
    expect(lagSummary({ rows: 1200, seconds: 30 })).toEqual({ text: '1,200 rows', other: '30 s' });
    expect(lagSummary({ seconds: 4 })).toEqual({ text: '4 s', other: undefined });
    expect(lagSummary(undefined)).toEqual({ text: '—', other: undefined });
  });
});
