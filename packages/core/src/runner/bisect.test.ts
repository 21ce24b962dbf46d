import { describe, expect, it } from 'vitest';
import { isolateRefused } from './bisect.ts';

class Refused extends Error {}

/** A destination that refuses every write holding a row of `bad`, and keeps the rows of the writes it takes. */
function destination(bad: number[]) {
  const written: number[] = [];
  let writes = 0;
  const write = async (rows: number[]) => {
    writes++;
    const refused = rows.find((r) => bad.includes(r));
    if (refused !== undefined) throw new Refused(`row ${refused}`);
    written.push(...rows);
  };
  return { write, written, writes: () => writes };
}

const rows = (n: number) => Array.from({ length: n }, (_, i) => i + 1);
const opts = (first: boolean) => ({ isRefusal: (e: unknown) => e instanceof Refused, first });

describe('isolating the rows a destination refuses', () => {
  it('finds every refused row and writes all the others (skip), in about 2·k·log2(n) writes', async () => {
    const d = destination([3, 64, 65, 100]);
    const refused = await isolateRefused(rows(100), new Refused('batch'), d.write, opts(false));
    expect(refused.map((r) => r.row)).toEqual([3, 64, 65, 100]);
    expect(refused[0]!.error).toBeInstanceOf(Refused);
    expect(d.written.sort((a, b) => a - b)).toEqual(rows(100).filter((r) => ![3, 64, 65, 100].includes(r)));
    expect(d.writes()).toBeLessThanOrEqual(2 * 4 * Math.ceil(Math.log2(100)));
  });

  it('stops at the first refused row: the rows before it are written, none after it (stop)', async () => {
    const d = destination([40, 90]);
    const refused = await isolateRefused(rows(100), new Refused('batch'), d.write, opts(true));
    expect(refused.map((r) => r.row)).toEqual([40]);
    expect(d.written.sort((a, b) => a - b)).toEqual(rows(39));
  });

  it('takes the refusal of a one-row batch as it is, without writing it again', async () => {
    const d = destination([1]);
    const first = new Refused('the batch');
    expect(await isolateRefused([1], first, d.write, opts(false))).toEqual([{ row: 1, error: first }]);
    expect(d.writes()).toBe(0);
  });

  it('finds nothing when the halves go through (the refusal was not the rows)', async () => {
    const d = destination([]);
    expect(await isolateRefused(rows(10), new Refused('once'), d.write, opts(true))).toEqual([]);
    expect(d.written.sort((a, b) => a - b)).toEqual(rows(10));
  });

  it('lets any other error end the search at once', async () => {
    let writes = 0;
    const down = async () => {
      writes++;
      throw new Error('connection lost');
    };
    await expect(isolateRefused(rows(8), new Refused('batch'), down, opts(false))).rejects.toThrow('connection lost');
    expect(writes).toBe(1);
  });
});
