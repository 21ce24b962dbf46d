import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterEach, describe, expect, inject, it } from 'vitest';
import { tempDir, until } from '@idra/testkit';
import { ActivityStore, KEYS, StatusStore, connectEtcd, type EtcdConnection, type SyncStatus } from '@idra/core';
import { AgentProcess } from './cluster-harness.ts';

declare module 'vitest' {
  export interface ProvidedContext {
    etcdEndpoints: string[];
  }
}

function sqliteTable(file: string, table: string, rows: number): void {
  const db = new Database(file);
  db.exec(`create table if not exists ${table} (id integer primary key, body text not null)`);
  const insert = db.prepare(`insert or ignore into ${table} (id, body) values (?, ?)`);
  db.transaction(() => {
    for (let i = 1; i <= rows; i++) insert.run(i, `row-${i}`);
  })();
  db.close();
}

describe('a sync across restarts, handoffs and data source changes (real agents, etcd, SQLite)', () => {
  const agents: AgentProcess[] = [];
  const conns: EtcdConnection[] = [];
  afterEach(async () => {
    await Promise.all(agents.splice(0).map((a) => a.stop()));
    for (const c of conns.splice(0)) c.close();
  });

  async function setup(name: string) {
    const dir = await tempDir(`idra-lifecycle-${name}-`);
    const prefix = `/lifecycle-${name}-${randomBytes(3).toString('hex')}/`;
    const conn = connectEtcd({ endpoints: inject('etcdEndpoints'), prefix });
    conns.push(conn);
    const statuses = new StatusStore(conn.ns);
    const status = (id: string) => statuses.get(id);
    const sync = (id: string, source: object, destination: object, extra: object = {}) =>
      conn.ns
        .put(KEYS.sync(id))
        .value(JSON.stringify({ id, source, destination, mode: 'id', cursorColumn: 'id', keyColumns: ['id'], batchSize: 100, pollIntervalMs: 100, ...extra }));
    /** A sync of `table` from src.db to dst.db in the test's directory. */
    const fileSync = (id: string, table: string) =>
      sync(
        id,
        { connector: 'sqlite', connection: { file: join(dir, 'src.db') }, table },
        { connector: 'sqlite', connection: { file: join(dir, 'dst.db') }, table },
      );
    // No test here is about a lease running out (a stopped agent revokes its own): a long lease keeps a loaded
    // machine from expiring one and restarting every sync in the middle of what a test watches.
    const agent = (id: string) => {
      const a = new AgentProcess(id, inject('etcdEndpoints'), prefix, ['--lease-ttl', '10s']);
      agents.push(a);
      return a;
    };
    return { dir, conn, status, sync, fileSync, agent, history: new ActivityStore(conn.ns) };
  }

  it('keeps cumulative totals across a handoff to another agent, and counts since start apart', async () => {
    const { dir, status, fileSync, agent, history } = await setup('handoff');
    sqliteTable(join(dir, 'src.db'), 'orders', 500);
    await fileSync('orders', 'orders');
    const first = agent('lifecycle-a');
    const before = await until('500 rows on agent a', async () => {
      const s = await status('orders');
      return s?.agentId === 'lifecycle-a' && s.state === 'idle' && s.totals?.rowsCopied === 500 && s;
    });
    expect(before.totals?.caughtUpAt).toBeDefined();
    agent('lifecycle-b');
    await first.stop();
    sqliteTable(join(dir, 'src.db'), 'orders', 650);
    const after = await until('the new rows on agent b', async () => {
      const s = await status('orders');
      return s?.agentId === 'lifecycle-b' && s.state === 'idle' && s.rowsCopied === 150 && s;
    });
    // The ROWS shown never drop to the new agent's own count: the total carries over.
    expect(after.totals).toMatchObject({ rowsCopied: 650, since: before.totals!.since, caughtUpAt: before.totals!.caughtUpAt });
    expect(after.startedAt).not.toBe(before.startedAt);
    // The timeline tells the story; the minutes written by both agents add up to every row copied.
    const events = await until('the handoff in the timeline', async () => {
      const e = await history.events('orders');
      return e.some((x) => x.kind === 'handoff') && e;
    });
    expect(events.map((e) => [e.kind, e.text]).reverse()).toEqual([
      ['started', 'started on agent lifecycle-a'],
      ['stopped', 'stopped on agent lifecycle-a'],
      ['handoff', 'moved from agent lifecycle-a to agent lifecycle-b'],
    ]);
    await first.exited;
    const written = await until('the minutes of agent a', async () => {
      const points = await history.points('orders', Date.now() - 3_600_000);
      return points.some((p) => p.agentId === 'lifecycle-a') && points;
    });
    expect(written.reduce((n, p) => n + p.rows, 0)).toBeGreaterThanOrEqual(500);
  });

  it("a deleted sync's status, minutes and timeline stay deleted: its agent, stopping it under its lock, writes none of them back", async () => {
    const { dir, conn, status, fileSync, agent, history } = await setup('deleted');
    sqliteTable(join(dir, 'src.db'), 'gone', 30);
    await fileSync('gone', 'gone');
    agent('lifecycle-del');
    await until('gone idle', async () => (await status('gone'))?.state === 'idle');
    // What DELETE /api/v1/syncs/<id> removes, at once: the agent still holds the lock and learns of it after.
    await conn.ns
      .if(KEYS.sync('gone'), 'Version', '>', 0)
      .then(
        conn.ns.delete().key(KEYS.sync('gone')),
        conn.ns.delete().key(KEYS.status('gone')),
        conn.ns.delete().prefix(KEYS.activity('gone')),
        conn.ns.delete().prefix(KEYS.timeline('gone')),
      )
      .commit();
    await until('the agent released the lock of the deleted sync', async () => (await conn.ns.get(KEYS.lock('gone')).string()) === null);
    expect(await status('gone')).toBeUndefined();
    expect(await history.events('gone')).toEqual([]);
    expect(await history.points('gone', 0)).toEqual([]);
  });

  it('restarts only the syncs whose data source changed', async () => {
    const { dir, conn, status, sync, agent } = await setup('datasource');
    sqliteTable(join(dir, 'one.db'), 'items', 50);
    sqliteTable(join(dir, 'two.db'), 'items', 50);
    for (const ds of ['one', 'two'])
      await conn.ns.put(KEYS.dataSource(ds)).value(JSON.stringify({ id: ds, connector: 'sqlite', connection: { file: join(dir, `${ds}.db`) } }));
    const dst = { connector: 'sqlite', connection: { file: join(dir, 'dst.db') } };
    await sync('uses-one', { connector: 'sqlite', dataSourceId: 'one', table: 'items' }, { ...dst, table: 'one_items' });
    await sync('uses-two', { connector: 'sqlite', dataSourceId: 'two', table: 'items' }, { ...dst, table: 'two_items' });
    const a = agent('lifecycle-ds');
    const idle = async (id: string) =>
      until(`${id} idle`, async () => {
        const s = await status(id);
        return s?.state === 'idle' && s.totals?.rowsCopied === 50 && s;
      });
    const [one, two] = [await idle('uses-one'), await idle('uses-two')];
    await conn.ns
      .put(KEYS.dataSource('two'))
      .value(JSON.stringify({ id: 'two', name: 'renamed', connector: 'sqlite', connection: { file: join(dir, 'two.db') } }));
    // The agent decides which syncs restart in one step and names them in one line: judged by that line, not by
    // uses-one's startedAt after a pause (a lease lost on a loaded machine restarts every sync, rightly, and a
    // pause proves nothing on a slow one).
    const change = await until('the data source change handled', () =>
      a.lines.find((l) => l.msg === 'data source changed: its syncs restart after their batch'),
    );
    expect(change).toMatchObject({ dataSourceId: 'two', restarted: ['uses-two'] });
    await until('uses-two restarted', async () => ((await status('uses-two'))?.startedAt !== two.startedAt ? true : undefined));
    if (!a.has('lease lost: stopping every sync now')) expect((await status('uses-one'))?.startedAt).toBe(one.startedAt);
  });

  it('attempts again at once when Retry now is asked through etcd, instead of waiting for the slow backoff', async () => {
    const { dir, conn, status, fileSync, agent } = await setup('retry');
    sqliteTable(join(dir, 'src.db'), 'present', 1);
    await fileSync('late', 'late_table');
    agent('lifecycle-retry');
    const failed: SyncStatus = await until('late failing', async () => {
      const s = await status('late');
      return s?.state === 'failed' && s;
    });
    expect(failed).toMatchObject({ attempts: 1, lastError: { transient: false } });
    expect(Date.parse(failed.nextRetryAt!) - Date.parse(failed.updatedAt)).toBeGreaterThanOrEqual(15_000);
    sqliteTable(join(dir, 'src.db'), 'late_table', 20);
    await conn.ns.put(KEYS.retry('late')).value(JSON.stringify({ at: new Date().toISOString(), by: 'test' }));
    const recovered = await until(
      'late recovered',
      async () => {
        const s = await status('late');
        return s?.state === 'idle' && s.totals?.rowsCopied === 20 && s;
      },
      10_000,
    );
    expect([recovered.attempts, recovered.failingSince, recovered.lastError]).toEqual([undefined, undefined, undefined]);
  });
});
