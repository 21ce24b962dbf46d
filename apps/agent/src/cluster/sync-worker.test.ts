import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { tempDir, until } from '@idra/testkit';
import { AgentSession, ConfigStore, StatusStore, agentInfo, connectEtcd, silentLogger, type EtcdConnection, type SyncConfig } from '@idra/core';
import { createConnectorRegistry } from '@idra/connectors';
import { SyncWorker } from './sync-worker.ts';

/** A real ConfigStore whose next read of the sync waits until released: the window of a reload, held open. */
class HeldConfigStore extends ConfigStore {
  private hold: { reached: () => void; released: Promise<void> } | undefined;

  holdNextRead(): { reached: Promise<void>; release: () => void } {
    let reached!: () => void;
    let release!: () => void;
    const reachedP = new Promise<void>((r) => (reached = r));
    this.hold = { reached, released: new Promise<void>((r) => (release = r)) };
    return { reached: reachedP, release };
  }

  override async getSync(id: string): Promise<SyncConfig | undefined> {
    const hold = this.hold;
    this.hold = undefined;
    if (hold) {
      hold.reached();
      await hold.released;
    }
    return super.getSync(id);
  }
}

describe('SyncWorker', () => {
  let conn: EtcdConnection;
  let session: AgentSession;
  beforeAll(async () => {
    conn = connectEtcd({ endpoints: inject('etcdEndpoints'), prefix: `/sync-worker-${randomBytes(4).toString('hex')}/` });
    session = new AgentSession(conn.ns, agentInfo('worker-test', 'test'), 5);
    await session.start();
  });
  afterAll(async () => {
    await session.close(true);
    conn.close();
  });

  it('stops when told to while it reloads a changed configuration (a pause: the change and the unassignment arrive together)', async () => {
    const dir = await tempDir('idra-worker-');
    const db = new Database(join(dir, 'src.db'));
    db.exec('create table orders (id integer primary key, v text)');
    db.exec("insert into orders (v) values ('a'), ('b')");
    db.close();
    const configs = new HeldConfigStore(conn.ns);
    await configs.putSync({
      id: 'w1',
      source: { connector: 'sqlite', connection: { file: join(dir, 'src.db') }, table: 'orders' },
      destination: { connector: 'sqlite', connection: { file: join(dir, 'dst.db') }, table: 'orders' },
      mode: 'id',
      cursorColumn: 'id',
      pollIntervalMs: 50,
    });
    const worker = new SyncWorker('w1', {
      ns: conn.ns,
      session,
      configs,
      statuses: new StatusStore(conn.ns),
      connectors: createConnectorRegistry(),
      logger: silentLogger,
    });
    worker.start();
    await until('the sync to catch up', () => worker.status?.state === 'idle' && worker.status.rowsCopied === 2, { timeoutMs: 15_000, intervalMs: 20 });

    const held = configs.holdNextRead();
    worker.restart(); // the configuration changed …
    await held.reached; // … and the worker is reading it again
    const stopped = worker.stop(); // unassigned meanwhile
    held.release();
    const outcome = await Promise.race([stopped.then(() => 'stopped'), new Promise((r) => setTimeout(() => r('still running'), 10_000))]);
    expect(outcome).toBe('stopped');
    expect(worker.status?.state).toBe('stopped');
  });
});
