import { randomBytes } from 'node:crypto';
import { rm } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import {
  KEYS,
  NotifyStore,
  SecretBox,
  SIGNATURE_HEADER,
  TIMESTAMP_HEADER,
  connectEtcd,
  readLeaderAgentId,
  verifyWebhook,
  type EtcdConnection,
  type NotificationEvent,
} from '@idra/core';
import { startEtcd, tempDir, until, type EtcdServer } from '@idra/testkit';
import { AgentProcess } from './cluster-harness.ts';

const SECRET_KEY = 'notifications-test-secret-key';
const HMAC_SECRET = 'webhook-hmac-secret-0123456789';

/** One POST the receiver got. */
interface Received {
  event: NotificationEvent;
  signed: boolean;
  status: number;
}

/** A local HTTP receiver that answers with the next status of `answers` (then 200) and keeps every request. */
class Receiver {
  readonly received: Received[] = [];
  readonly answers: number[] = [];
  private readonly server: Server;

  constructor() {
    this.server = createServer((req, res) => {
      let body = '';
      req.on('data', (d: Buffer) => (body += d.toString()));
      req.on('end', () => {
        const signed = verifyWebhook(HMAC_SECRET, String(req.headers[TIMESTAMP_HEADER]), body, String(req.headers[SIGNATURE_HEADER]));
        const status = this.answers.shift() ?? 200;
        this.received.push({ event: JSON.parse(body) as NotificationEvent, signed, status });
        res.writeHead(status).end();
      });
    });
  }

  async listen(): Promise<string> {
    await new Promise<void>((resolve) => this.server.listen(0, '127.0.0.1', resolve));
    return `http://127.0.0.1:${(this.server.address() as AddressInfo).port}/hooks/idra?token=abc`;
  }

  /** The events a sync's receiver accepted (answered 2xx), by type. */
  accepted(syncId: string): string[] {
    return this.received.filter((r) => r.status < 300 && r.event.incident.syncId === syncId).map((r) => r.event.type);
  }

  close(): Promise<void> {
    return new Promise((resolve) => this.server.close(() => resolve()));
  }
}

describe('notifications from the leader (real agent processes, real etcd, a local HTTP receiver)', () => {
  let etcd: EtcdServer;
  let dir: string;
  let agents: AgentProcess[] = [];
  let conn: EtcdConnection | undefined;
  let receiver: Receiver | undefined;

  beforeAll(async () => {
    [etcd, dir] = await Promise.all([startEtcd(), tempDir('idra-notify-')]);
  });
  afterEach(async () => {
    await Promise.all(agents.map((a) => a.stop()));
    agents = [];
    conn?.close();
    await receiver?.close();
  });
  afterAll(async () => {
    await Promise.all([etcd.stop(), rm(dir, { recursive: true, force: true })]);
  });

  /** A SQLite → SQLite sync whose source table does not exist yet: it fails until the table is made. */
  const brokenSync = (id: string, enabled = true) => ({
    id,
    enabled,
    source: { connector: 'sqlite', connection: { file: join(dir, `${id}-src.db`) }, table: 'orders' },
    destination: { connector: 'sqlite', connection: { file: join(dir, `${id}-dst.db`) }, table: 'orders' },
    mode: 'id',
    cursorColumn: 'id',
    keyColumns: ['id'],
    pollIntervalMs: 200,
  });

  it('a broken sync yields exactly one signed "opened" and one "recovered", across a leader kill, with retries on 500; nothing for a paused sync', async () => {
    const prefix = `/notify-${randomBytes(3).toString('hex')}/`;
    conn = connectEtcd({ endpoints: etcd.endpoints, prefix });
    receiver = new Receiver();
    const url = await receiver.listen();
    // The first two attempts of the first message are refused: it must be retried, and arrive once.
    receiver.answers.push(500, 500);
    const store = new NotifyStore(conn.ns, new SecretBox(SECRET_KEY));
    await store.putChannel({ id: 'team', kind: 'webhook', url, secret: HMAC_SECRET });
    await store.putRule({ id: 'all-syncs', channels: ['team'] });
    // The URL and the secret are sealed at rest.
    const stored = (await conn.ns.get(KEYS.notifyChannel('team')).string())!;
    expect(stored).not.toContain('127.0.0.1');
    expect(stored).not.toContain(HMAC_SECRET);
    for (const sync of [brokenSync('orders'), brokenSync('paused-orders', false)]) await conn.ns.put(KEYS.sync(sync.id)).value(JSON.stringify(sync));

    const env = { IDRA_SECRET_KEY: SECRET_KEY };
    agents = ['n1', 'n2'].map((id) => new AgentProcess(id, etcd.endpoints, prefix, ['--lease-ttl', '2s'], env));
    const opened = await until(
      'the "opened" message to be accepted',
      () => receiver!.received.find((r) => r.status === 200 && r.event.type === 'opened'),
      60_000,
    );
    expect(opened.signed).toBe(true);
    expect(opened.event.incident).toMatchObject({ kind: 'sync-failing', syncId: 'orders', health: 'failed' });
    expect(opened.event.text).toMatch(/^Idra sync orders failed: .*no such table/);
    // Three attempts of the same message (the same id, for a receiver to deduplicate), two refused.
    expect(receiver.received.filter((r) => r.event.id === opened.event.id).map((r) => r.status)).toEqual([500, 500, 200]);
    const logged = await until('the delivery log to say delivered', async () =>
      (await store.listDeliveries()).find((d) => d.eventId === opened.event.id && d.status === 'delivered'),
    );
    expect(logged).toMatchObject({ channelId: 'team', attempts: 3, httpStatus: 200, syncId: 'orders' });

    // The leader dies; the other agent takes over the incident from etcd.
    const leaderId = (await readLeaderAgentId(conn.ns))!;
    const leader = agents.find((a) => a.id === leaderId)!;
    leader.signal('SIGKILL');
    await leader.exited;
    const survivor = agents.find((a) => a !== leader)!;
    await until('the other agent to lead', async () => (await readLeaderAgentId(conn!.ns)) === survivor.id, 30_000);

    // The cause is fixed: the table appears, and the sync is asked to try again now.
    const src = new Database(join(dir, 'orders-src.db'));
    src.exec("create table orders (id integer primary key, item text); insert into orders values (1, 'a'), (2, 'b')");
    src.close();
    await conn.ns.put(KEYS.retry('orders')).value(new Date().toISOString());
    const recovered = await until('the "recovered" message', () => receiver!.received.find((r) => r.status === 200 && r.event.type === 'recovered'), 60_000);
    expect(recovered.signed).toBe(true);
    expect(recovered.event.incident).toMatchObject({ id: opened.event.incident.id, syncId: 'orders', closedAt: expect.any(String) });
    expect(recovered.event.text).toMatch(/^Idra sync orders recovered: healthy/);
    expect(survivor.has(/^incident recovered/)).toBe(true);

    // Another sync breaks: once its message arrives, the leader has judged every sync again since the recovery.
    const later = brokenSync('later-orders');
    await conn.ns.put(KEYS.sync(later.id)).value(JSON.stringify(later));
    await until('the message of the sync broken later', () => receiver!.accepted(later.id).length > 0, 60_000);
    await until('the outbox to be empty', async () => (await store.listOutbox()).length === 0);
    expect(receiver.accepted('orders')).toEqual(['opened', 'recovered']);
    expect(receiver.received.filter((r) => r.event.incident.syncId === 'paused-orders')).toEqual([]);
    expect([...(await store.listIncidents()).keys()]).toEqual(['all-syncs/sync-failing/later-orders']);
  });
});
