import { spawn } from 'node:child_process';
import { resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import Database from 'better-sqlite3';
import { tempDir } from '@idra/testkit';

const MAIN = resolve(import.meta.dirname, '../src/main.ts');

/** Runs the bundled example until `done` matches its output, then stops it with SIGINT (Ctrl-C). */
function runExample(stateDir: string, done: RegExp): Promise<{ code: number | null; output: string }> {
  return new Promise((res, rej) => {
    const child = spawn(process.execPath, [MAIN, '--example', '--state-dir', stateDir, '--progress-interval', '200ms'], {
      env: { ...process.env, IDRA_LOG_FORMAT: 'json' },
    });
    let output = '';
    let stopped = false;
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      rej(new Error(`example did not reach ${done}:\n${output}`));
    }, 90_000);
    const onData = (d: Buffer) => {
      output += d.toString();
      if (!stopped && done.test(output)) {
        stopped = true;
        child.kill('SIGINT');
      }
    };
    child.stdout.on('data', onData);
    child.stderr.on('data', onData);
    child.on('exit', (code) => {
      clearTimeout(timer);
      res({ code, output });
    });
  });
}

describe('the embedded default (pnpm start)', () => {
  it('syncs the SQLite sample, and a second run resumes from the stored offset', async () => {
    const dir = await tempDir('idra-example-');
    const first = await runExample(dir, /sync orders-by-id: 10000 rows/);
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
