import { resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import Database from 'better-sqlite3';
import { SpawnedProcess, tempDir } from '@idra/testkit';

const MAIN = resolve(import.meta.dirname, '../src/main.ts');

/** Runs the bundled example until `done` matches its output, then stops it with SIGINT (Ctrl-C). */
async function runExample(stateDir: string, done: RegExp): Promise<{ code: number | null; output: string }> {
  const example = new SpawnedProcess(process.execPath, [MAIN, '--example', '--state-dir', stateDir, '--progress-interval', '200ms'], {
    env: { ...process.env, IDRA_LOG_FORMAT: 'json' },
  });
  try {
    await example.waitFor(`the example to log ${done}`, done, 90_000);
  } catch (err) {
    await example.stop('SIGKILL');
    throw err;
  }
  return { code: await example.stop('SIGINT'), output: example.output() };
}

describe('the embedded default (pnpm start)', () => {
  it('syncs the SQLite sample, and a second run resumes from the stored offset', async () => {
    const dir = await tempDir('idra-example-');
    // At least the 10,000 sample orders: the example keeps adding some, so a report may pass 10000 without showing it.
    const first = await runExample(dir, /sync orders-by-id: 1\d{4} rows/);
    expect(first.code).toBe(0);
    expect(first.output).toContain('sync orders-by-id: starting from the beginning');

    const second = await runExample(dir, /sync orders-by-id: 1\d\d rows/);
    expect(second.code).toBe(0);
    expect(second.output).toMatch(/sync orders-by-id: resuming from id > 10\d\d\d/);
    expect(second.output).toMatch(/sync orders-changes: resuming from timestamp > /);

    const db = new Database(resolve(dir, 'example/destination.db'), { readonly: true });
    const source = new Database(resolve(dir, 'example/source.db'), { readonly: true });
    try {
      const copied = db.prepare('select count(*) as n, count(distinct id) as d, max(id) as m from orders_copy').get() as { n: number; d: number; m: number };
      expect(copied.n).toBe(copied.d);
      expect(copied.n).toBeGreaterThanOrEqual(10_100);
      expect(copied.m).toBe(copied.n);
      const sourceCount = (source.prepare('select count(*) as n from orders').get() as { n: number }).n;
      expect(copied.n).toBeLessThanOrEqual(sourceCount);
    } finally {
      db.close();
      source.close();
    }
  }, 200_000);
});
