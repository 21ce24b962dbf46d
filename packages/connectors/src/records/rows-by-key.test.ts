import { describe, expect, it } from 'vitest';
import type { BatchStep, Row } from '@idra/core';
import { byPresentColumns, coalesceSteps, onePerKey, onePerSortedKey } from './rows-by-key.ts';

/** A small seeded PRNG so failures reproduce. */
function rng(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s * 1664525 + 1013904223) >>> 0;
    return s / 2 ** 32;
  };
}

/** Applies steps in order to rows by key as an upsert destination does: a row's fields overwrite, the ones it lacks stay (or are absent when it is new). */
function applied(start: Map<string, Row>, steps: readonly BatchStep[]): Map<string, Row> {
  const table = new Map([...start].map(([k, r]) => [k, { ...r }]));
  for (const step of steps) {
    if (step.kind === 'rows') for (const row of step.rows) table.set(String(row.id), { ...table.get(String(row.id)), ...row });
    else if (step.kind === 'deletes') for (const key of step.keys) table.delete(String(key.id));
    else if (step.kind === 'truncate') table.clear();
  }
  return table;
}

/** Steps a change log could bring: inserts, updates (some without a column, as an unchanged TOAST value), key changes, deletes, reinserts, truncates. */
function randomSteps(random: () => number, count: number): BatchStep[] {
  const steps: BatchStep[] = [];
  const key = () => String(1 + Math.floor(random() * 6));
  const push = (step: BatchStep) => {
    const last = steps[steps.length - 1];
    if (last?.kind === 'rows' && step.kind === 'rows') last.rows.push(...step.rows);
    else if (last?.kind === 'deletes' && step.kind === 'deletes') last.keys.push(...step.keys);
    else steps.push(step);
  };
  for (let i = 0; i < count; i++) {
    const r = random();
    if (r < 0.4) push({ kind: 'rows', rows: [{ id: key(), name: `n${i}`, doc: `d${i}` }] });
    else if (r < 0.6) push({ kind: 'rows', rows: [{ id: key(), name: `partial ${i}` }] });
    else if (r < 0.8) push({ kind: 'deletes', keys: [{ id: key() }] });
    else if (r < 0.95) {
      // An update of the key: the old key's delete, then the new key's row.
      push({ kind: 'deletes', keys: [{ id: key() }] });
      push({ kind: 'rows', rows: [{ id: key(), name: `moved ${i}`, doc: `m${i}` }] });
    } else if (r < 0.98) push({ kind: 'truncate' });
    else push({ kind: 'schema', change: { kind: 'add', column: { name: 'doc', type: 'text' } } });
  }
  return steps;
}

describe('coalesceSteps', () => {
  it('a delete then a reinsert stays a delete and an insert; rows after the last delete merge; earlier rows of a deleted key go', () => {
    const steps: BatchStep[] = [
      {
        kind: 'rows',
        rows: [
          { id: '1', name: 'a', doc: 'x' },
          { id: '2', name: 'b' },
        ],
      },
      { kind: 'deletes', keys: [{ id: '1' }, { id: '3' }] },
      {
        kind: 'rows',
        rows: [
          { id: '1', name: 'again' },
          { id: '2', doc: 'y' },
          { id: '1', doc: 'z' },
        ],
      },
      { kind: 'deletes', keys: [{ id: '2' }] },
    ];
    expect(coalesceSteps(steps, ['id'])).toEqual([
      { kind: 'deletes', keys: [{ id: '1' }, { id: '2' }, { id: '3' }] },
      { kind: 'rows', rows: [{ id: '1', name: 'again', doc: 'z' }] },
    ]);
  });

  it('keeps schema changes and truncates in place: nothing moves across them', () => {
    const truncate: BatchStep = { kind: 'truncate' };
    const steps: BatchStep[] = [
      { kind: 'rows', rows: [{ id: '1' }] },
      truncate,
      { kind: 'deletes', keys: [{ id: '1' }] },
      { kind: 'rows', rows: [{ id: '1' }] },
    ];
    expect(coalesceSteps(steps, ['id'])).toEqual([
      { kind: 'rows', rows: [{ id: '1' }] },
      truncate,
      { kind: 'deletes', keys: [{ id: '1' }] },
      { kind: 'rows', rows: [{ id: '1' }] },
    ]);
  });

  it('leaves every key as applying the steps in order would, over many random batches', () => {
    const random = rng(16);
    for (let round = 0; round < 2000; round++) {
      const start = new Map<string, Row>();
      for (let id = 1; id <= 6; id++) if (random() < 0.5) start.set(String(id), { id: String(id), name: 'old', doc: 'old doc' });
      const steps = randomSteps(random, 1 + Math.floor(random() * 30));
      const coalesced = coalesceSteps(steps, ['id']);
      expect(applied(start, coalesced), `round ${round}: ${JSON.stringify(steps)}`).toEqual(applied(start, steps));
      // Between two barriers: at most one deletes step, then at most one rows step.
      const runs = coalesced.filter((s) => s.kind === 'rows' || s.kind === 'deletes').length;
      expect(runs).toBeLessThanOrEqual(2 * (1 + steps.filter((s) => s.kind === 'truncate' || s.kind === 'schema').length));
    }
  });
});

describe('onePerSortedKey', () => {
  it('gives what onePerKey gives for rows in key order, with duplicates or without', () => {
    const random = rng(7);
    for (let round = 0; round < 200; round++) {
      const keys = Array.from({ length: 1 + Math.floor(random() * 20) }, () => Math.floor(random() * 10)).sort((a, b) => a - b);
      const rows: Row[] = keys.map((id, i) => ({ id: String(id), part: id % 2, name: `n${i}`, ...(random() < 0.3 ? {} : { doc: `d${i}` }) }));
      for (const mode of ['insert', 'upsert'] as const) {
        for (const by of [['id'], ['id', 'part']]) expect(onePerSortedKey(rows, by, mode)).toEqual(onePerKey(rows, by, mode));
      }
    }
  });

  it('keeps rows of distinct keys as they are, in their order', () => {
    const rows: Row[] = [{ id: '1' }, { id: '2' }, { id: '10' }];
    expect(onePerSortedKey(rows, ['id'], 'upsert')).toEqual(rows);
    expect(onePerSortedKey([], ['id'], 'upsert')).toEqual([]);
  });
});

describe('byPresentColumns', () => {
  it('keeps rows with every column in one group, and groups rows lacking some by the columns they have, in order of first appearance', () => {
    const full = [
      { a: 1, b: null },
      { a: 2, b: 'x' },
    ];
    const columns = ['a', 'b'];
    const one = byPresentColumns(full, columns);
    expect(one).toEqual([{ columns: ['a', 'b'], rows: full }]);
    expect(one[0]!.columns).not.toBe(columns);
    expect(one[0]!.rows).not.toBe(full);
    expect(byPresentColumns([], columns)).toEqual([]);
    const mixed: Row[] = [{ a: 1, b: 2 }, { a: 3 }, { b: 4 }, { a: 5, b: 6 }, { a: 7 }];
    expect(byPresentColumns(mixed, columns)).toEqual([
      { columns: ['a', 'b'], rows: [mixed[0], mixed[3]] },
      { columns: ['a'], rows: [mixed[1], mixed[4]] },
      { columns: ['b'], rows: [mixed[2]] },
    ]);
  });
});
