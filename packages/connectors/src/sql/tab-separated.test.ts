import { describe, expect, it } from 'vitest';
import { escapeTabSeparated, tabSeparatedChunks } from './tab-separated.ts';

const text = (value: unknown) => escapeTabSeparated(String(value));

describe('rows as tab-separated chunks', () => {
  it('are the lines of the rows in UTF-8, NULL as \\N, whatever the width of the values and where the chunks end', () => {
    const wide = '€'.repeat(70_000); // 210,000 bytes: wider than a chunk on its own
    const rows = [
      { a: 1, b: 'x\ty', c: null },
      { a: 2, b: wide, c: 'é' },
      ...Array.from({ length: 20_000 }, (_, i) => ({ a: i, b: 'ü'.repeat(i % 7), c: undefined })),
    ];
    const chunks = [...tabSeparatedChunks(rows, ['a', 'b', 'c'], [undefined, undefined, undefined], text)];
    const expected = rows.map((r) => [r.a, r.b, r.c].map((v) => (v === null || v === undefined ? '\\N' : text(v))).join('\t') + '\n').join('');
    expect(Buffer.concat(chunks).toString('utf8')).toBe(expected);
    expect(chunks.length).toBeGreaterThan(3);
    expect(Math.max(...chunks.map((c) => c.length))).toBeGreaterThanOrEqual(210_000);
  });

  it('gives nothing for no rows, and a newline per row for rows without columns', () => {
    expect([...tabSeparatedChunks([], ['a'], [undefined], text)]).toEqual([]);
    expect(Buffer.concat([...tabSeparatedChunks([{}, {}], [], [], text)]).toString()).toBe('\n\n');
  });
});
