import { describe, expect, it } from 'vitest';
import { unfencedCommits, type BatchRecord } from './cluster-harness.ts';

const rec = (agentId: string, epoch: number, revision: number, syncId = 's'): BatchRecord => ({
  agentId,
  syncId,
  epoch: String(epoch),
  revision: String(revision),
  startedAt: 0,
  committedAt: 0,
  rows: 1,
});

describe('the fencing check used by the chaos tests', () => {
  it('accepts owners that take turns', () => {
    expect(unfencedCommits([rec('a', 10, 11), rec('a', 10, 15), rec('b', 20, 21), rec('b', 20, 30), rec('c', 12, 40, 'other')])).toEqual([]);
  });

  it('flags a commit under an old lock made after a newer lock of the same sync existed', () => {
    const late = rec('a', 10, 25);
    expect(unfencedCommits([rec('a', 10, 11), rec('b', 20, 21), late])).toEqual([late]);
  });
});
