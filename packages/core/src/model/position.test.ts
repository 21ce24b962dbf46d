import { describe, expect, it } from 'vitest';
import { describePosition, positionAt, positionKey, rangedPosition, rangesFrontier, rangesUnderWay, type CopyRange } from './position.ts';

const range = (after: string | null, to: string | null, done = false): CopyRange => ({
  after: after === null ? null : [after],
  to: to === null ? null : [to],
  done,
});

describe('positions of a copy in key ranges', () => {
  it('the frontier is the end of the ranges done from the first on, then the progress of the first range not done', () => {
    expect(rangesFrontier([range(null, '10'), range('10', '20'), range('20', null)])).toBeNull();
    expect(rangesFrontier([range('4', '10'), range('15', '20'), range('20', null)])).toEqual(['4']);
    // A range done after the first one not done does not move the frontier.
    expect(rangesFrontier([range('4', '10'), range('20', '20', true), range('25', null)])).toEqual(['4']);
    expect(rangesFrontier([range('10', '10', true), range('12', '20'), range('20', null)])).toEqual(['12']);
    expect(rangesFrontier([range('10', '10', true), range('20', '20', true), range('20', null)])).toEqual(['20']);
    // All done: the last row read by the last range, or the last cut when it read none.
    expect(rangesFrontier([range('10', '10', true), range('20', '20', true), range('31', null, true)])).toEqual(['31']);
    expect(rangesFrontier([range('10', '10', true), range('20', '20', true), range('20', null, true)])).toEqual(['20']);
  });

  it('a ranged position carries its ranges until all are done, at the frontier in its own kind', () => {
    const ranges = [range('10', '10', true), range('12', '20'), range('20', null)];
    expect(rangedPosition({ kind: 'id', value: null }, ranges)).toEqual({ kind: 'id', value: '12', ranges });
    expect(
      rangedPosition(
        { kind: 'full', value: { run: 3, after: null } },
        ranges.map((r) => ({ ...r, done: true })),
      ),
    ).toEqual({
      kind: 'full',
      value: { run: 3, after: ['20'] },
    });
    const ts = { kind: 'timestamp', value: null, tiebreaker: null } as const;
    expect(positionAt(ts, ['2024-01-01 00:00:00', '7'])).toEqual({ kind: 'timestamp', value: '2024-01-01 00:00:00', tiebreaker: '7' });
    expect(positionKey(positionAt(ts, ['2024-01-01 00:00:00', '7']))).toEqual(['2024-01-01 00:00:00', '7']);
    expect(describePosition({ kind: 'id', value: '12', ranges })).toBe('id > 12; parallel copy: 1 of 3 key ranges done');
    // Under way: moved past its start (the range before's end, nothing for the first) and not done.
    expect(rangesUnderWay(ranges)).toBe(1);
    expect(rangesUnderWay([range(null, '10'), range('10', '20'), range('25', null)])).toBe(1);
    expect(rangesUnderWay([range('3', '10'), range('12', '20'), range('20', null)])).toBe(2);
  });
});
