import { writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import Database from 'better-sqlite3';
import { afterEach, describe, expect, it } from 'vitest';
import { ConfigStore, FencedError, connectEtcd, newSyncStatus, type SyncStatus } from '@idra/core';
import { SpawnedProcess, findPromtool, freePort, logSchemaViolation, promtoolCheckMetrics, startEtcd, tempDir, until } from '@idra/testkit';
import { AgentMetrics } from './agent-metrics.ts';

const MAIN = resolve(import.meta.dirname, '../main.ts');

/** A real agent process; its JSON log lines are kept for assertions, each checked against the log schema. */
class Agent extends SpawnedProcess {
  constructor(args: string[], env: Record<string, string> = {}) {
    super(process.execPath, [MAIN, ...args], {
      env: { ...process.env, IDRA_LOG_FORMAT: 'json', ...env },
      parseLine: (line) => {
        const violation = logSchemaViolation(line, 'idra-agent');
        return violation ? { msg: line, violation } : (JSON.parse(line) as Record<string, unknown>);
      },
    });
  }
}

/** One sample of a Prometheus text exposition: `name{a="b"} value`. */
interface Sample {
  name: string;
  labels: Record<string, string>;
  value: number;
}

function parseMetrics(text: string): Sample[] {
  const samples: Sample[] = [];
  for (const line of text.split('\n')) {
    if (line === '' || line.startsWith('#')) continue;
    const m = /^([a-zA-Z_:][\w:]*)(?:\{(.*)\})? (\S+)$/.exec(line);
    if (!m) throw new Error(`unparsable metrics line: ${line}`);
    const labels: Record<string, string> = {};
    for (const l of (m[2] ?? '').matchAll(/(\w+)="((?:[^"\\]|\\.)*)"/g)) labels[l[1]!] = l[2]!;
    samples.push({ name: m[1]!, labels, value: Number(m[3]) });
  }
  return samples;
}

/** The value of the one sample of `name` whose labels include `labels`, or undefined. */
function value(samples: Sample[], name: string, labels: Record<string, string> = {}): number | undefined {
  const found = samples.filter((s) => s.name === name && Object.entries(labels).every(([k, v]) => s.labels[k] === v));
  if (found.length > 1) throw new Error(`${name} ${JSON.stringify(labels)} matches ${found.length} samples`);
  return found[0]?.value;
}

async function get(port: number, path: string): Promise<{ status: number; body: string }> {
  const res = await fetch(`http://127.0.0.1:${port}${path}`);
  return { status: res.status, body: await res.text() };
}

/** A SQLite table of `rows` orders with ids 1..rows (appends when it exists). */
function addOrders(file: string, from: number, to: number): void {
  const db = new Database(file);
  db.exec('create table if not exists orders (id integer primary key, customer text not null, amount text not null)');
  const insert = db.prepare('insert into orders (id, customer, amount) values (?, ?, ?)');
  db.transaction(() => {
    for (let id = from; id <= to; id++) insert.run(id, `customer-${id % 97}`, (id / 100).toFixed(2));
  })();
  db.close();
}

function countRows(file: string, table: string): number {
  const db = new Database(file, { readonly: true });
  try {
    return (db.prepare(`select count(*) as n from ${table}`).get() as { n: number }).n;
  } finally {
    db.close();
  }
}

const STATES = ['starting', 'running', 'idle', 'retrying', 'failed', 'stopped'];

function ordersSync(id: string, dir: string, sourceTable = 'orders') {
  return {
    id,
    source: { connector: 'sqlite', connection: { file: join(dir, 'source.db') }, table: sourceTable },
    destination: { connector: 'sqlite', connection: { file: join(dir, 'destination.db') }, table: `${id}_copy` },
    mode: 'id',
    cursorColumn: 'id',
    keyColumns: ['id'],
    batchSize: 100,
    pollIntervalMs: 100,
  };
}

describe('agent /healthz, /readyz and /metrics (real agent process, SQLite → SQLite)', () => {
  let agent: Agent | undefined;
  afterEach(async () => {
    await agent?.stop();
    agent = undefined;
  });

  it('single mode: metrics count exactly the rows and batches copied, the state gauge follows the sync, probes answer', async () => {
    const dir = await tempDir('idra-agent-http-');
    addOrders(join(dir, 'source.db'), 1, 1050);
    const config = join(dir, 'syncs.json');
    // `broken` reads a table that does not exist: it retries, and its errors are counted.
    await writeFile(config, JSON.stringify({ syncs: [ordersSync('orders', dir), ordersSync('broken', dir, 'missing_table')] }));
    const port = await freePort();
    const agentId = 'metrics-single';
    agent = new Agent(['--config', config, '--state-dir', dir, '--http-port', String(port), '--agent-id', agentId, '--progress-interval', '1s']);

    expect(await until('/healthz', () => get(port, '/healthz'))).toEqual({ status: 200, body: '{"status":"ok"}' });
    const orders = { sync: 'orders', agent: agentId };
    const caughtUp = async (rows: number) =>
      until(`${rows} rows written and the sync idle`, async () => {
        const samples = parseMetrics((await get(port, '/metrics')).body);
        return value(samples, 'idra_rows_written_total', orders) === rows && value(samples, 'idra_sync_state', { ...orders, state: 'idle' }) === 1 && samples;
      });

    // 1050 rows in batches of up to 100; a run starts small while the row size is unknown (batchBytes): 10, 80, nine of 100, then 60.
    let samples = await caughtUp(1050);
    expect(countRows(join(dir, 'destination.db'), 'orders_copy')).toBe(1050);
    expect(value(samples, 'idra_rows_read_total', orders)).toBe(1050);
    expect(value(samples, 'idra_rows_skipped_total', orders)).toBe(0);
    expect(value(samples, 'idra_batches_total', orders)).toBe(12);
    expect(value(samples, 'idra_batch_duration_seconds_count', orders)).toBe(12);
    expect(value(samples, 'idra_batch_duration_seconds_sum', orders)).toBeGreaterThan(0);
    expect(value(samples, 'idra_batch_duration_seconds_bucket', { ...orders, le: '+Inf' })).toBe(12);
    expect(value(samples, 'idra_offset_commit_duration_seconds_count', orders)).toBe(12);
    expect(value(samples, 'idra_offset_commit_failures_total', orders)).toBe(0);
    expect(value(samples, 'idra_sync_lag_rows', orders)).toBe(0);
    expect(value(samples, 'idra_sync_last_batch_timestamp_seconds', orders)).toBeGreaterThan(Date.now() / 1000 - 60);
    for (const state of STATES) expect(value(samples, 'idra_sync_state', { ...orders, state }), state).toBe(state === 'idle' ? 1 : 0);
    // Cluster-only gauges are absent in single mode; process metrics carry the agent label.
    expect(value(samples, 'idra_agent_registered')).toBeUndefined();
    expect(value(samples, 'idra_agent_process_cpu_seconds_total', { agent: agentId })).toBeGreaterThan(0);

    const broken = { sync: 'broken', agent: agentId };
    // A missing table needs a fix: the sync is failed (retried slowly), and its health says so.
    samples = await until('the broken sync failing', async () => {
      const s = parseMetrics((await get(port, '/metrics')).body);
      return (s.find((x) => x.name === 'idra_sync_errors_total' && x.labels.sync === 'broken')?.value ?? 0) >= 1 && s;
    });
    expect(value(samples, 'idra_sync_state', { ...broken, state: 'failed' })).toBe(1);
    expect(value(samples, 'idra_sync_health', { ...broken, health: 'failed' })).toBe(1);
    expect(value(samples, 'idra_sync_health', { ...broken, health: 'retrying' })).toBe(0);
    expect(value(samples, 'idra_rows_written_total', broken)).toBe(0);

    // Rows added later are counted on top: two more full batches.
    addOrders(join(dir, 'source.db'), 1051, 1250);
    samples = await caughtUp(1250);
    expect(value(samples, 'idra_batches_total', orders)).toBe(14);
    expect(value(samples, 'idra_offset_commit_duration_seconds_count', orders)).toBe(14);

    expect(await get(port, '/readyz')).toEqual({ status: 200, body: '{"ready":true,"reason":"syncs started"}' });
    expect((await get(port, '/nope')).status).toBe(404);
    // Every name and type as Prometheus wants them, with a running, a failed sync and the process metrics.
    const promtool = findPromtool();
    if (promtool || process.env.CI === 'true') expect(await promtoolCheckMetrics(promtool ?? 'promtool', (await get(port, '/metrics')).body)).toEqual([]);
    // Loopback unless --http-host/IDRA_HTTP_HOST says otherwise (the images listen on 0.0.0.0).
    expect(agent.lines.find((l) => String(l.msg).startsWith('http: serving'))).toMatchObject({ host: '127.0.0.1', port });
    expect(await agent.stop()).toBe(0);
    // Every log line is JSON in the schema the API server shares and names the agent; lines about a sync name it too.
    expect(agent.lines.filter((l) => l.violation || l.agentId !== agentId)).toEqual([]);
    expect(agent.lines.filter((l) => /^sync (orders|broken)\b/.test(String(l.msg)) && !l.syncId)).toEqual([]);
  });

  it('single mode: a column added at the source and rows marked deleted move idra_schema_changes_total and idra_rows_deleted_total', async () => {
    const dir = await tempDir('idra-agent-http-');
    const source = new Database(join(dir, 'source.db'));
    source.exec('create table customers (id integer primary key, name text not null, deleted_at text, updated_at text not null)');
    const insert = source.prepare('insert into customers (id, name, updated_at) values (?, ?, ?)');
    for (let id = 1; id <= 20; id++) insert.run(id, `customer-${id}`, `2025-01-01 00:00:${String(id).padStart(2, '0')}`);
    const config = join(dir, 'syncs.json');
    const sync = {
      id: 'customers',
      source: { connector: 'sqlite', connection: { file: join(dir, 'source.db') }, table: 'customers' },
      destination: { connector: 'sqlite', connection: { file: join(dir, 'destination.db') }, table: 'customers' },
      mode: 'timestamp',
      cursorColumn: 'updated_at',
      keyColumns: ['id'],
      writeMode: 'upsert',
      softDeleteColumn: 'deleted_at',
      pollIntervalMs: 100,
    };
    await writeFile(config, JSON.stringify({ syncs: [sync] }));
    const port = await freePort();
    const agentId = 'metrics-faithful';
    agent = new Agent(['--config', config, '--state-dir', dir, '--http-port', String(port), '--agent-id', agentId]);
    const labels = { sync: 'customers', agent: agentId };
    const scrape = async () => parseMetrics((await get(port, '/metrics')).body);
    let samples = await until('20 rows written', async () => {
      const s = await scrape().catch(() => []);
      return value(s, 'idra_rows_written_total', labels) === 20 && s;
    });
    // Declared from the start, at zero: an alert on their rate needs the series before the first change.
    expect(value(samples, 'idra_rows_deleted_total', labels)).toBe(0);
    for (const outcome of ['applied', 'ignored', 'refused']) expect(value(samples, 'idra_schema_changes_total', { ...labels, outcome }), outcome).toBe(0);

    source.exec(
      "alter table customers add column email text; insert into customers values (21, 'customer-21', null, '2025-01-02 00:00:00', 'c21@example.com')",
    );
    source.exec("update customers set deleted_at = '2025-01-02 00:00:01', updated_at = '2025-01-02 00:00:01' where id in (3, 5, 7)");
    source.close();
    samples = await until('3 rows deleted and 1 schema change counted', async () => {
      const s = await scrape();
      return value(s, 'idra_rows_deleted_total', labels) === 3 && value(s, 'idra_schema_changes_total', { ...labels, outcome: 'applied' }) === 1 && s;
    });
    expect(value(samples, 'idra_schema_changes_total', { ...labels, outcome: 'refused' })).toBe(0);
    expect(value(samples, 'idra_rows_written_total', labels)).toBe(21);
    const copy = new Database(join(dir, 'destination.db'), { readonly: true });
    try {
      expect(copy.prepare('select id, email from customers where id > 19 or id in (3, 5, 7) order by id').all()).toEqual([
        { id: 20, email: null },
        { id: 21, email: 'c21@example.com' },
      ]);
    } finally {
      copy.close();
    }
    expect(await agent.stop()).toBe(0);
  });

  it('cluster mode: /readyz once registered with etcd, registered and leader gauges, metrics of the synced rows', async () => {
    const dir = await tempDir('idra-agent-http-');
    addOrders(join(dir, 'source.db'), 1, 300);
    // Its own etcd rather than the run's shared one: this agent becomes the leader of its prefix at once.
    const server = await startEtcd();
    const endpoints = server.endpoints;
    const prefix = '/idra/';
    const etcd = connectEtcd({ endpoints, prefix });
    try {
      await new ConfigStore(etcd.ns).putSync(ordersSync('orders', dir));
      const port = await freePort();
      const agentId = 'metrics-cluster';
      // Cluster mode opens SQLite files only where the admin allows them.
      agent = new Agent(['--etcd', endpoints.join(','), '--prefix', prefix, '--http-port', String(port), '--agent-id', agentId, '--lease-ttl', '2s'], {
        IDRA_SQLITE_ROOTS: dir,
      });
      const ready = await until('/readyz 200', async () => {
        const r = await get(port, '/readyz');
        return r.status === 200 && r;
      });
      expect(ready.body).toBe('{"ready":true,"reason":"registered with etcd"}');
      const labels = { sync: 'orders', agent: agentId };
      const samples = await until('300 rows written by the cluster agent', async () => {
        const s = parseMetrics((await get(port, '/metrics')).body);
        return value(s, 'idra_rows_written_total', labels) === 300 && value(s, 'idra_agent_leader', { agent: agentId }) === 1 && s;
      });
      expect(value(samples, 'idra_agent_registered', { agent: agentId })).toBe(1);
      // 10, 80, 100, 100, 10: a run starts small while the row size is unknown (batchBytes).
      expect(value(samples, 'idra_batches_total', labels)).toBe(5);
      expect(value(samples, 'idra_offset_commit_duration_seconds_count', labels)).toBe(5);
      expect(value(samples, 'idra_offset_commit_failures_total', labels)).toBe(0);
      expect(countRows(join(dir, 'destination.db'), 'orders_copy')).toBe(300);
      expect(await agent.stop()).toBe(0);
      expect(agent.lines.filter((l) => l.violation || l.agentId !== agentId)).toEqual([]);
      expect(agent.lines.filter((l) => l.msg === 'cluster mode')).toHaveLength(1);
      // Once at least: on a loaded machine a 2 s lease can lapse, and the agent is elected again.
      expect(agent.lines.some((l) => l.msg === 'elected leader')).toBe(true);
      expect(agent.lines.filter((l) => /sync lock|assigned/.test(String(l.msg)) && !l.syncId)).toEqual([]);
    } finally {
      await agent?.stop();
      etcd.close();
      await server.stop();
    }
  });
});

describe('AgentMetrics', () => {
  const status = (state: SyncStatus['state'], extra: Partial<SyncStatus> = {}): SyncStatus => newSyncStatus('s1', 'a1', { state, ...extra });
  const scrape = async (m: AgentMetrics) => parseMetrics(await m.registry.metrics());

  it('drops the lag of a sync that stopped here, counts each error once, times offset commits and counts their failures', async () => {
    const m = new AgentMetrics('a1');
    const labels = { sync: 's1', agent: 'a1' };
    m.observeStatus(status('running', { lag: { rows: 500, seconds: 12, bytes: 4096 }, position: { kind: 'stream', value: { slot: 'idra_s1', lsn: '0/10' } } }));
    expect(value(await scrape(m), 'idra_sync_lag_rows', labels)).toBe(500);
    expect(value(await scrape(m), 'idra_sync_lag_seconds', labels)).toBe(12);
    expect(value(await scrape(m), 'idra_sync_replication_slot_lag_bytes', { ...labels, slot: 'idra_s1' })).toBe(4096);
    expect(value(await scrape(m), 'idra_sync_change_log_lag_bytes', labels)).toBe(4096);
    m.observeBatch('s1', { rows: 10, skipped: 0, deleted: 3, updated: 4, durationMs: 5, position: { kind: 'stream', value: null } });
    const kinds = await scrape(m);
    expect(['insert', 'update', 'delete'].map((kind) => value(kinds, 'idra_sync_changes_total', { ...labels, kind }))).toEqual([6, 4, 3]);
    const error = { message: 'boom', code: 'IDRA_ERR_CONNECTOR', at: '2024-01-01T00:00:00.000Z' };
    m.observeStatus(status('retrying', { lag: { rows: 500 }, lastError: error }));
    m.observeStatus(status('retrying', { lag: { rows: 500 }, lastError: error })); // the same error, published again
    m.observeStatus(status('stopped', { lag: { rows: 500 } }));
    let samples = await scrape(m);
    expect(value(samples, 'idra_sync_lag_rows', labels)).toBeUndefined();
    expect(value(samples, 'idra_sync_lag_seconds', labels)).toBeUndefined();
    expect(value(samples, 'idra_sync_replication_slot_lag_bytes', { ...labels, slot: 'idra_s1' })).toBeUndefined();
    expect(value(samples, 'idra_sync_change_log_lag_bytes', labels)).toBeUndefined();
    expect(value(samples, 'idra_sync_errors_total', { ...labels, code: 'IDRA_ERR_CONNECTOR' })).toBe(1);
    expect(value(samples, 'idra_sync_state', { ...labels, state: 'stopped' })).toBe(1);

    // Lag per part (Kafka partitions): a part that is no longer reported loses its series.
    m.observeStatus(status('running', { lag: { rows: 7, parts: { '0': 5, '1': 2 } } }));
    expect([
      value(await scrape(m), 'idra_sync_lag_part_rows', { ...labels, part: '0' }),
      value(await scrape(m), 'idra_sync_lag_part_rows', { ...labels, part: '1' }),
    ]).toEqual([5, 2]);
    m.observeStatus(status('running', { lag: { rows: 5, parts: { '0': 5 } } }));
    expect(value(await scrape(m), 'idra_sync_lag_part_rows', { ...labels, part: '1' })).toBeUndefined();
    m.observeStatus(status('stopped', { lag: { rows: 5, parts: { '0': 5 } } }));
    expect(value(await scrape(m), 'idra_sync_lag_part_rows', { ...labels, part: '0' })).toBeUndefined();

    const position = { kind: 'id', value: '1' } as const;
    let fail = false;
    const store = m.measureOffsets({
      load: async () => undefined,
      set: async () => {},
      history: async () => [],
      commit: async (syncId, p, ctx) => {
        if (fail) throw new Error('etcd unreachable');
        return { v: 1, ...p, committedAt: '', agentId: ctx.agentId, epoch: ctx.epoch };
      },
    });
    await store.commit('s1', position, { agentId: 'a1', epoch: 1 });
    fail = true;
    await expect(store.commit('s1', position, { agentId: 'a1', epoch: 1 })).rejects.toThrow('etcd unreachable');
    samples = await scrape(m);
    expect(value(samples, 'idra_offset_commit_duration_seconds_count', labels)).toBe(2);
    expect(value(samples, 'idra_offset_commit_failures_total', labels)).toBe(1);
  });

  it('exports what the alert rules need: lag thresholds, source head changes, the session blocking the watermark, fenced commits, lease losses', async () => {
    const m = new AgentMetrics('a1');
    const labels = { sync: 's1', agent: 'a1' };
    m.observeStatus(status('running', { lag: { rows: 5, head: '100' } }), { rows: 50 });
    let samples = await scrape(m);
    expect([value(samples, 'idra_sync_lag_threshold_rows', labels), value(samples, 'idra_sync_lag_threshold_seconds', labels)]).toEqual([50, 300]);
    expect(value(samples, 'idra_sync_source_head_changes_total', labels)).toBe(0);
    // The same head published again is no change; a new head is one.
    m.observeStatus(status('idle', { lag: { rows: 5, head: '100' } }), { rows: 50 });
    m.observeStatus(status('idle', { lag: { rows: 9, head: '104' } }), { rows: 50 });
    expect(value(await scrape(m), 'idra_sync_source_head_changes_total', labels)).toBe(1);

    m.observeStatus(status('idle', { blockedBy: { session: 'pid 4242', seconds: 61.5 } }));
    expect(value(await scrape(m), 'idra_sync_watermark_blocked_seconds', { ...labels, session: 'pid 4242' })).toBe(61.5);
    // Another session now: the first one's series goes; then none, then the sync stops.
    m.observeStatus(status('idle', { blockedBy: { session: 'pid 77', seconds: 3 } }));
    samples = await scrape(m);
    expect(value(samples, 'idra_sync_watermark_blocked_seconds', { ...labels, session: 'pid 4242' })).toBeUndefined();
    expect(value(samples, 'idra_sync_watermark_blocked_seconds', { ...labels, session: 'pid 77' })).toBe(3);
    m.observeStatus(status('idle'));
    expect(value(await scrape(m), 'idra_sync_watermark_blocked_seconds', labels)).toBeUndefined();
    m.observeStatus(status('stopped', { blockedBy: { session: 'pid 77', seconds: 9 } }));
    samples = await scrape(m);
    expect(value(samples, 'idra_sync_watermark_blocked_seconds', labels)).toBeUndefined();
    expect(value(samples, 'idra_sync_lag_threshold_rows', labels)).toBeUndefined();

    const store = m.measureOffsets({
      load: async () => undefined,
      set: async () => {},
      history: async () => [],
      commit: async (syncId) => {
        throw new FencedError(syncId, 'the lock is held by a2');
      },
    });
    await expect(store.commit('s1', { kind: 'id', value: '1' }, { agentId: 'a1', epoch: 1 })).rejects.toThrow(FencedError);
    expect(value(await scrape(m), 'idra_offset_commits_fenced_total', labels)).toBe(1);
    expect(value(await scrape(m), 'idra_agent_lease_losses_total', { agent: 'a1' })).toBe(0);
    m.countLeaseLoss();
    expect(value(await scrape(m), 'idra_agent_lease_losses_total', { agent: 'a1' })).toBe(1);
  });
});
