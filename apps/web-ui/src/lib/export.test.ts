import { describe, expect, it } from 'vitest';
import { toCsv, toJsonLines } from './export.ts';

const letters = [
  {
    id: '1',
    at: '2026-01-01T00:00:00.000Z',
    syncId: 's',
    error: 'NOT NULL constraint failed: t.amount',
    row: { id: '97', amount: null, note: 'a "quoted", text' },
  },
  { id: '2', at: '2026-01-01T00:00:01.000Z', syncId: 's', error: 'too long', row: { id: '98', extra: { a: 1 } } },
];

describe('rejected rows export', () => {
  it('writes JSON Lines, one row per line', () => {
    expect(
      toJsonLines(letters)
        .split('\n')
        .filter(Boolean)
        .map((l) => JSON.parse(l).row.id),
    ).toEqual(['97', '98']);
  });
  it('writes CSV with the union of columns, quoting what needs it', () => {
    expect(toCsv(letters)).toBe(
      'at,error,id,amount,note,extra\r\n2026-01-01T00:00:00.000Z,NOT NULL constraint failed: t.amount,97,,"a ""quoted"", text",\r\n2026-01-01T00:00:01.000Z,too long,98,,,"{""a"":1}"\r\n',
    );
  });
});
