import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterEach, describe, expect, it } from 'vitest';
import { tempDir, until } from '@idra/testkit';
import { FileOffsetStore, SyncRunner, deriveHealth, newSyncStatus, normalizeSync, validateSyncConfig, type DeadLetter, type SyncStatus } from '@idra/core';
import { createConnectorRegistry } from '../registry.ts';
import { confineSqliteFiles } from '../sql/sqlite/sqlite-paths.ts';

/** Waits for a status matching `pred` (polling the runner), failing after `ms`. */
/** The runner's status once `pred` holds. */
const statusWhere = (runner: SyncRunner, pred: (s: SyncStatus) => boolean, ms = 20_000): Promise<SyncStatus> =>
  until('a status matching the test', () => (pred(runner.snapshot) ? runner.snapshot : undefined), ms);

describe('sync runner failures against real SQLite files', () => {
  const runners: SyncRunner[] = [];
  afterEach(async () => {
    await Promise.all(runners.splice(0).map((r) => r.stop()));
  });

  async function setup(opts: { onError?: 'stop' | 'skip'; sourceTable?: string; rows?: number; previous?: SyncStatus } = {}) {
    const dir = await tempDir('idra-runner-failures-');
    const src = new Database(join(dir, 'src.db'));
    src.exec('create table orders (id integer primary key, amount real)');
    const insert = src.prepare('insert into orders (id, amount) values (?, ?)');
    for (let i = 1; i <= (opts.rows ?? 120); i++) insert.run(i, i === 97 ? null : i * 1.5);
    const dst = new Database(join(dir, 'dst.db'));
    dst.exec('create table orders (id integer primary key, amount real not null)');
    const sync = normalizeSync(
      validateSyncConfig({
        id: 'orders',
        source: { connector: 'sqlite', connection: { file: join(dir, 'src.db') }, table: opts.sourceTable ?? 'orders' },
        destination: { connector: 'sqlite', connection: { file: join(dir, 'dst.db') }, table: 'orders' },
        mode: 'id',
        cursorColumn: 'id',
        keyColumns: ['id'],
        batchSize: 50,
        pollIntervalMs: 50,
        onError: opts.onError ?? 'stop',
      }),
    );
    const states: string[] = [];
    const dead: DeadLetter[] = [];
    const runner = new SyncRunner({
      sync,
      connectors: createConnectorRegistry(),
      offsets: new FileOffsetStore(join(dir, 'state')),
      deadLetters: { record: async (e) => void dead.push(...e) },
      agentId: 'test-agent',
      backoff: { initialMs: 20, maxMs: 40 },
      slowBackoff: { initialMs: 60_000, maxMs: 60_000 },
      previous: opts.previous,
      onStatus: (s) => states.push(s.state),
    });
    runners.push(runner);
    return { runner, src, dst, states, dead };
  }

  it("stops at a rejected row under 'stop', naming its key and column once, with the rows before it written", async () => {
    const { runner, dst } = await setup({ onError: 'stop' });
    void runner.start();
    const s = await statusWhere(runner, (x) => x.state === 'failed');
    expect(s.lastError).toMatchObject({ code: 'IDRA_ERR_SYNC_FAILED', row: { id: '97' }, column: 'amount', transient: false });
    expect(s.lastError!.message).toMatch(
      /^destination rejected the row id=97 \(column amount\); onError is 'stop': NOT NULL constraint failed: orders\.amount$/,
    );
    // The message says the database's words once (it used to repeat them after "row rejected:").
    expect(s.lastError!.message.match(/NOT NULL constraint failed/g)).toHaveLength(1);
    expect(dst.prepare('select max(id) as m, count(*) as n from orders').get()).toEqual({ m: 96, n: 96 });
    expect(deriveHealth({ enabled: true, assigned: true, status: s })).toMatchObject({ health: 'failed', attempts: 1, nextRetryAt: undefined });
  });

  it('attempts again at once on Retry now, and recovers when the cause is gone', async () => {
    const { runner, src, dst } = await setup({ onError: 'stop' });
    void runner.start();
    await statusWhere(runner, (x) => x.state === 'failed');
    src.prepare('update orders set amount = 0 where id = 97').run();
    runner.retryNow();
    const s = await statusWhere(runner, (x) => x.state === 'idle' && x.position?.kind === 'id' && x.position.value === '120');
    expect([s.attempts, s.failingSince, s.lastError]).toEqual([undefined, undefined, undefined]);
    expect(dst.prepare('select count(*) as n from orders').get()).toEqual({ n: 120 });
  });

  it('treats a missing table as failed (needs a fix), retried slowly, and never flips to running between attempts', async () => {
    const { runner, src, states } = await setup({ sourceTable: 'missing_table' });
    void runner.start();
    const first = await statusWhere(runner, (x) => x.state === 'failed');
    expect(first.lastError).toMatchObject({ transient: false });
    expect(first.lastError!.message).toMatch(/no such table: missing_table/);
    expect(Date.parse(first.nextRetryAt!) - Date.now()).toBeGreaterThan(30_000);
    runner.retryNow();
    const second = await statusWhere(runner, (x) => (x.attempts ?? 0) >= 2);
    expect(second).toMatchObject({ state: 'failed', failingSince: first.failingSince });
    // After the first failure the sync was never reported as starting or running again.
    expect(states.slice(states.indexOf('failed'))).not.toContain('running');
    expect(states.slice(states.indexOf('failed'))).not.toContain('starting');
    src.exec('create table missing_table (id integer primary key, amount real)');
    src.exec('insert into missing_table values (1, 2.5)');
    runner.retryNow();
    await statusWhere(runner, (x) => x.state === 'idle' && x.attempts === undefined && x.totals?.rowsCopied === 1);
  });

  it('carries the totals of the previous run over, and counts since start apart', async () => {
    const previous = newSyncStatus('orders', 'other-agent', {
      rowsCopied: 40,
      totals: { rowsCopied: 5000, rowsSkipped: 3, batches: 70, since: '2026-01-01T00:00:00.000Z', caughtUpAt: '2026-01-01T01:00:00.000Z' },
    });
    const { runner } = await setup({ onError: 'skip', previous });
    void runner.start();
    const s = await statusWhere(runner, (x) => x.state === 'idle' && x.rowsCopied === 119);
    expect(s.totals).toMatchObject({ rowsCopied: 5119, rowsSkipped: 4, since: '2026-01-01T00:00:00.000Z', caughtUpAt: '2026-01-01T01:00:00.000Z' });
    expect(s.rowsSkipped).toBe(1);
  });

  it('a SQLite file the agent may not open fails the sync at once, naming the field: retrying cannot help until the configuration changes', async () => {
    const { runner, states } = await setup();
    // The agent's IDRA_SQLITE_ROOTS: the sync's files lie elsewhere. It was retried as a connection error, forever.
    confineSqliteFiles([await tempDir('idra-sqlite-root-')]);
    try {
      void runner.start();
      const s = await statusWhere(runner, (x) => x.state === 'failed');
      expect(s.lastError).toMatchObject({ code: 'IDRA_ERR_CONFIG_INVALID', transient: false });
      expect(s.lastError!.message).toMatch(/^sqlite source: source\.connection\.file: '.*src\.db' is outside the directories SQLite files may be in/);
      expect(deriveHealth({ enabled: true, assigned: true, status: s })).toMatchObject({ health: 'failed', attempts: 1, nextRetryAt: undefined });
      expect(states).not.toContain('retrying');
    } finally {
      confineSqliteFiles(undefined);
    }
  });
});
