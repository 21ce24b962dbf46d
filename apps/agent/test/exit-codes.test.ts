import { tmpdir } from 'node:os';
import { readFile, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import Database from 'better-sqlite3';
import { describe, expect, it } from 'vitest';
import { SpawnedProcess, tempDir, until } from '@idra/testkit';

const MAIN = resolve(import.meta.dirname, '../src/main.ts');

/** The agent run with `args` (SQLite files allowed in the temporary directories), its output kept. */
const agent = (args: string[]) =>
  new SpawnedProcess(process.execPath, [MAIN, ...args], { env: { ...process.env, IDRA_LOG_FORMAT: 'json', IDRA_SQLITE_ROOTS: tmpdir() } });

/** A SQLite source with `rows` rows, and a syncs file copying `table` of it. */
async function setup(rows: number) {
  const dir = await tempDir('idra-exit-');
  const source = new Database(join(dir, 'source.db'));
  source.exec('CREATE TABLE orders (id INTEGER PRIMARY KEY, v TEXT); CREATE TABLE orders_v2 (id INTEGER PRIMARY KEY, v TEXT)');
  const insert = source.prepare('INSERT INTO orders (id, v) VALUES (?, ?)');
  source.transaction(() => {
    for (let i = 1; i <= rows; i++) insert.run(i, `row ${i}`);
  })();
  source.exec('INSERT INTO orders_v2 SELECT * FROM orders');
  source.close();
  const config = join(dir, 'syncs.json');
  const write = (syncs: Array<Record<string, unknown>>) => writeFile(config, JSON.stringify({ syncs }));
  const sync = (extra: Record<string, unknown> = {}, table = 'orders') => ({
    id: 'orders',
    source: { connector: 'sqlite', connection: { file: join(dir, 'source.db') }, table },
    destination: { connector: 'sqlite', connection: { file: join(dir, 'dest.db') }, table: 'orders' },
    mode: 'id',
    cursorColumn: 'id',
    keyColumns: ['id'],
    batchSize: 50,
    pollIntervalMs: 100,
    ...extra,
  });
  const copied = () => {
    try {
      const db = new Database(join(dir, 'dest.db'), { readonly: true, fileMustExist: true });
      try {
        return Number((db.prepare('SELECT count(*) AS n FROM orders').get() as { n: number }).n);
      } finally {
        db.close();
      }
    } catch {
      return 0;
    }
  };
  return { dir, config, write, sync, copied, state: join(dir, 'state') };
}

describe('agent exit codes (single mode, real processes)', { timeout: 180_000 }, () => {
  it('2: invalid options or configuration', async () => {
    expect(await agent(['--bogus']).exited).toBe(2);
    const { config, write, sync } = await setup(0);
    await write([sync({ batchSize: 0 })]);
    const bad = agent(['--config', config]);
    expect(await bad.exited).toBe(2);
    expect(bad.output()).toMatch(/syncs\[0\]\.batchSize/);
  });

  it('4: no sync enabled — without --http-port too (it was 13, an unsettled top-level await)', async () => {
    const { config, write, sync, state } = await setup(0);
    await write([sync({ enabled: false })]);
    const run = agent(['--config', config, '--state-dir', state]);
    expect(await run.exited).toBe(4);
    expect(run.output()).toMatch(/no sync is enabled: nothing to run/);
  });

  it('3: every sync failed and waits for a fix, with status.json written; idra-agent offsets set --keep (recorded) lets it resume; 0 on SIGTERM; 1 while another agent holds the state dir', async () => {
    const { config, write, sync, state, copied } = await setup(300);
    await write([sync()]);
    const first = agent(['--config', config, '--state-dir', state]);
    await until('the first rows', () => copied() >= 100);
    // Another agent, or a change of the offset, while this one runs: refused.
    const second = agent(['--config', config, '--state-dir', state]);
    expect(await second.exited).toBe(1);
    expect(second.output()).toMatch(/IDRA_ERR_AGENT_STATE_DIR_IN_USE|in use by another agent/);
    const refused = agent(['offsets', 'set', 'orders', '--config', config, '--state-dir', state, '--reset', '--reason', 'start over']);
    expect(await refused.exited).toBe(1);
    expect(refused.output()).toMatch(/in use by another agent/);
    await until('every row', () => copied() === 300);
    first.child.kill('SIGTERM');
    expect(await first.exited).toBe(0);

    // The sync now reads another table: its offset was committed for the first one.
    await write([sync({}, 'orders_v2')]);
    const failing = agent(['--config', config, '--state-dir', state]);
    expect(await failing.exited, failing.output()).toBe(3);
    expect(failing.output()).toMatch(/every sync failed and waits for a fix/);
    const status = JSON.parse(await readFile(join(state, 'status.json'), 'utf8')) as Array<{ syncId: string; state: string; lastError: { message: string } }>;
    expect(status).toMatchObject([{ syncId: 'orders', state: 'failed' }]);
    expect(status[0]!.lastError.message).toMatch(
      /committed for another source \(source 'sqlite .*source\.db table orders' → 'sqlite .*source\.db table orders_v2'\)/,
    );

    const get = agent(['offsets', 'get', 'orders', '--config', config, '--state-dir', state]);
    expect(await get.exited).toBe(0);
    expect(get.output()).toMatch(/orders: id > 300 .*committed for another source/);
    const unknown = agent(['offsets', 'set', 'nope', '--config', config, '--state-dir', state, '--keep', '--reason', 'x y z']);
    expect(await unknown.exited).toBe(2);
    expect(unknown.output()).toMatch(/no sync 'nope'/);
    const keep = agent(['offsets', 'set', 'orders', '--config', config, '--state-dir', state, '--keep', '--reason', 'orders_v2 is a copy', '--by', 'ops']);
    expect(await keep.exited, keep.output()).toBe(0);
    const history = agent(['offsets', 'history', 'orders', '--config', config, '--state-dir', state, '--json']);
    expect(await history.exited).toBe(0);
    expect(JSON.parse(history.output())).toMatchObject([
      {
        by: 'ops (idra-agent offsets)',
        reason: 'kept for the sync as it is now: orders_v2 is a copy',
        old: { kind: 'id', value: '300' },
        new: { kind: 'id', value: '300' },
      },
    ]);

    const resumed = agent(['--config', config, '--state-dir', state, '--progress-interval', '200ms']);
    const idle = async () =>
      ((JSON.parse(await readFile(join(state, 'status.json'), 'utf8').catch(() => '[]')) as Array<{ state: string }>)[0]?.state ?? '') === 'idle';
    await until('the sync idle again', idle);
    resumed.child.kill('SIGTERM');
    expect(await resumed.exited).toBe(0);
    expect(copied()).toBe(300);
  });
});
