import { readFile } from 'node:fs/promises';
import { resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { EXIT, EXIT_MEANINGS } from './exit-codes.ts';

describe('exit codes', () => {
  it('are distinct, and docs/cli.md lists each with the meaning the usage prints', async () => {
    const codes = Object.values(EXIT);
    expect(new Set(codes).size).toBe(codes.length);
    const doc = await readFile(resolve(import.meta.dirname, '../../../docs/cli.md'), 'utf8');
    const rows = [...doc.matchAll(/^\| `(\d+)` \| (.+) \|$/gm)].map((m) => [Number(m[1]), m[2]]);
    expect(rows).toEqual((Object.keys(EXIT) as Array<keyof typeof EXIT>).map((k) => [EXIT[k], EXIT_MEANINGS[k]]));
  });
});
