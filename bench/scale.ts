import { randomBytes } from 'node:crypto';
import { readFile, readdir, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import Database from 'better-sqlite3';
import { SpawnedProcess, etcdMetric, freePort, startEtcd, tempDir, until, type EtcdServer } from '@idra/testkit';
import { KEYS, connectEtcd, type EtcdConnection } from '@idra/core';
import { AGENT_BIN, timeShell } from './lib.ts';

const API_MAIN = resolve(import.meta.dirname, '../apps/api-server/src/main.ts');
const CLI = resolve(import.meta.dirname, '../apps/cli/bin/idra.js');
const ADMIN_PASSWORD = 'Bench-Adm1n-Pa55word';
const SECRET_KEY = 'bench-secret-key-0123456789abcdef';
const POLL_MS = 5_000;
/** The agent's default lease TTL: failover is measured against it. */
const LEASE_TTL_S = 3;
/** What a tab of the web UI does (apps/web-ui/src/api): its view of the overview every 3 s, and at most once a second when events say something changed. */
const TAB_POLL_MS = 3_000;
const TAB_REFRESH_MS = 1_000;

export interface ScaleOptions {
  syncs: number;
  agents: number;
  tabs: number;
  /** How long the idle cluster is watched (etcd writes, events, /overview). An idle sync's status heartbeat is every 5 minutes. */
  idleSeconds: number;
}

/** What `pnpm bench --only scale` measures, each figure beside its target (issue #19 item 5, item 3's budget). */
export interface ScaleResult {
  syncs: number;
  agents: number;
  tabs: number;
  /** `idra syncs apply -f` of every sync, the CLI process's whole run. */
  applySeconds: number;
  /** After the apply: every sync locked by an agent and reporting running/idle from it. */
  allRunningSeconds: number;
  idle: {
    seconds: number;
    /** etcd puts under the prefix per sync per minute, and by kind (status, activity, offsets …). */
    putsPerSyncPerMinute: number;
    putsByKind: Record<string, number>;
    /** SSE events each tab received: mean per second, and the busiest second. */
    eventsPerSecondPerTab: number;
    maxEventsInOneSecond: number;
    /** What the tabs fetched: the dashboard's summary and the sync list's first page, alternately by tab. */
    overview: { requests: number; p50Ms: number; p99Ms: number; maxMs: number; bytes: number; summaryBytes: number; pageBytes: number };
    /** The whole overview in one document (`GET /overview`, for scripts): no screen fetches it. */
    wholeOverviewBytes: number;
  };
  agentsAtIdle: Array<{ syncs: number; rssMb: number; budgetMb: number; openFiles: number; metricsBytes: number; metricsSeries: number }>;
  /** etcd watchers (sum over members) with the tabs open, and once they left: the API server's watches go with its last event stream. */
  watchers: { withTabs: number; after: number };
  /** kill -9 of one agent: its syncs locked again elsewhere, and reporting from their new agent. */
  failover: { syncs: number; relockSeconds: number; runningSeconds: number; targetSeconds: number; eventsMaxPerSecondPerTab: number };
  /** SIGTERM of an agent running its share, then of the last agent just after it took over every sync. */
  shutdown: Array<{ syncs: number; seconds: number }>;
  /** The last agent with every sync: its takeover time and its memory. */
  lastAgent: { syncs: number; takeoverSeconds: number; rssMb: number; budgetMb: number };
  /** Times an agent's lease lapsed (a renewal came late, e.g. its event loop starved) and it stopped every sync to start again. */
  leaseLosses: number;
}

/** Item 3's budget for an agent running `n` syncs. */
const budgetMb = (n: number) => 150 + 0.3 * n;

function percentile(sorted: number[], p: number): number {
  if (sorted.length === 0) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))]!;
}

/** A real agent process as shipped (its launcher), serving /metrics. */
class Agent extends SpawnedProcess {
  readonly id: string;
  readonly httpPort: number;

  constructor(id: string, httpPort: number, etcd: EtcdServer, prefix: string, dir: string) {
    super(AGENT_BIN, ['--etcd', etcd.endpoints.join(','), '--prefix', prefix, '--agent-id', id, '--log-level', 'warn', '--http-port', String(httpPort)], {
      env: { ...process.env, IDRA_LOG_FORMAT: 'json', IDRA_SQLITE_ROOTS: dir, IDRA_SECRET_KEY: SECRET_KEY },
    });
    this.id = id;
    this.httpPort = httpPort;
  }

  async memory(): Promise<{ rssMb: number; openFiles: number }> {
    const status = await readFile(`/proc/${this.child.pid}/status`, 'utf8');
    const openFiles = (await readdir(`/proc/${this.child.pid}/fd`)).length;
    return { rssMb: Math.round(Number(/VmRSS:\s+(\d+)/.exec(status)?.[1] ?? 0) / 1024), openFiles };
  }

  async metrics(): Promise<{ bytes: number; series: number }> {
    const text = await (await fetch(`http://127.0.0.1:${this.httpPort}/metrics`)).text();
    return { bytes: Buffer.byteLength(text), series: text.split('\n').filter((l) => l !== '' && !l.startsWith('#')).length };
  }
}

/** Every put under the prefix from now on, with its time and kind (the key's first segment). */
async function recordPuts(conn: EtcdConnection): Promise<{ since(t: number): Array<{ at: number; kind: string }>; stop(): Promise<void> }> {
  const puts: Array<{ at: number; kind: string }> = [];
  const watcher = await conn.ns.watch().prefix('').create();
  watcher.on('put', (kv) => puts.push({ at: Date.now(), kind: kv.key.toString().split('/')[0]! }));
  return { since: (t) => puts.filter((p) => p.at >= t), stop: () => watcher.cancel() };
}

const kB = (bytes: number) => Math.round(bytes / 1024);

function lastBytes(tabs: Tab[], screen: Tab['screen']): number {
  return tabs.find((t) => t.screen === screen)?.overviews.at(-1)?.bytes ?? 0;
}

/** The screens of the web UI that follow every sync, and what each fetches. */
const SCREENS = { dashboard: '/api/v1/overview/summary', list: '/api/v1/overview/page' } as const;

/**
 * A browser tab of the web UI on the dashboard or the sync list: follows `/events` and fetches its view
 * of the overview as the web UI does, timing each fetch and counting the events it receives per second.
 */
class Tab {
  readonly eventSeconds = new Map<number, number>();
  readonly overviews: Array<{ at: number; ms: number; bytes: number }> = [];
  private readonly abort = new AbortController();
  private readonly done: Promise<unknown>;
  private changed = false;

  readonly screen: keyof typeof SCREENS;

  constructor(url: string, token: string, screen: keyof typeof SCREENS) {
    this.screen = screen;
    const headers = { authorization: `Bearer ${token}` };
    const events = (async () => {
      const res = await fetch(`${url}/api/v1/events`, { headers, signal: this.abort.signal });
      const decoder = new TextDecoder();
      for await (const chunk of res.body!) {
        // One `event:` line per event; the first, `ready`, and the keep-alive comments are not changes.
        const n = (decoder.decode(chunk as Uint8Array, { stream: true }).match(/^event: (?!ready)/gm) ?? []).length;
        if (n === 0) continue;
        const s = Math.floor(Date.now() / 1000);
        this.eventSeconds.set(s, (this.eventSeconds.get(s) ?? 0) + n);
        this.changed = true;
      }
    })().catch(() => {});
    const poll = (async () => {
      let last = 0;
      while (!this.abort.signal.aborted) {
        const due = Date.now() - last >= TAB_POLL_MS || (this.changed && Date.now() - last >= TAB_REFRESH_MS);
        if (!due) {
          await new Promise((r) => setTimeout(r, 100));
          continue;
        }
        this.changed = false;
        last = Date.now();
        const t = performance.now();
        const res = await fetch(`${url}${SCREENS[screen]}`, { headers, signal: this.abort.signal }).catch(() => undefined);
        const body = await res?.text().catch(() => undefined);
        if (body !== undefined && res?.ok) this.overviews.push({ at: last, ms: performance.now() - t, bytes: body.length });
      }
    })();
    this.done = Promise.all([events, poll]);
  }

  eventsBetween(from: number, to: number): { total: number; max: number } {
    let total = 0;
    let max = 0;
    for (const [s, n] of this.eventSeconds) {
      if (s * 1000 < from || s * 1000 >= to) continue;
      total += n;
      max = Math.max(max, n);
    }
    return { total, max };
  }

  async close(): Promise<void> {
    this.abort.abort();
    await this.done;
  }
}

/** Sum over the members of etcd's gauge of open watchers. */
async function etcdWatchers(etcd: EtcdServer): Promise<number> {
  const counts = await Promise.all(etcd.endpoints.map((url) => etcdMetric(url, 'etcd_debugging_mvcc_watcher_total')));
  return counts.reduce((a, b) => a + b, 0);
}

/** Syncs locked by one of `owners` whose latest status comes from that owner and says running or idle. */
async function runningOn(conn: EtcdConnection, owners: Set<string>): Promise<Map<string, string>> {
  const [locks, statuses] = await Promise.all([conn.ns.getAll().prefix(KEYS.locks).strings(), conn.ns.getAll().prefix(KEYS.statuses).strings()]);
  const running = new Map<string, string>();
  for (const [key, value] of Object.entries(locks)) {
    const syncId = key.slice(KEYS.locks.length);
    const owner = (JSON.parse(value) as { agentId: string }).agentId;
    const status = statuses[KEYS.status(syncId)];
    if (!owners.has(owner) || !status) continue;
    const s = JSON.parse(status) as { agentId: string; state: string };
    if (s.agentId === owner && (s.state === 'running' || s.state === 'idle')) running.set(syncId, owner);
  }
  return running;
}

/** Creates `n` SQLite source files of 10 rows each; the syncs copy them into their own destination files. */
function makeSyncs(dir: string, n: number): unknown[] {
  const syncs: unknown[] = [];
  for (let i = 0; i < n; i++) {
    const id = `scale-${String(i).padStart(4, '0')}`;
    const source = join(dir, `${id}-src.db`);
    const db = new Database(source);
    db.exec(`create table items (id integer primary key, body text not null);
      insert into items (id, body) select value, 'row ' || value from json_each('[1,2,3,4,5,6,7,8,9,10]');`);
    db.close();
    syncs.push({
      id,
      source: { connector: 'sqlite', connection: { file: source }, table: 'items' },
      destination: { connector: 'sqlite', connection: { file: join(dir, `${id}-dst.db`) }, table: 'items' },
      mode: 'id',
      cursorColumn: 'id',
      keyColumns: ['id'],
      writeMode: 'upsert',
      pollIntervalMs: POLL_MS,
    });
  }
  return syncs;
}

/**
 * 1,000 SQLite syncs polling every 5 s on 3 real agents, a 3-member etcd and the API server: the
 * cost of many syncs on etcd, on the dashboard (5 tabs), on each agent, and failover and shutdown.
 */
export async function benchScale(opts: ScaleOptions, progress: (line: string) => void = () => {}): Promise<ScaleResult> {
  const dir = await tempDir('idra-bench-scale-');
  const etcd = await startEtcd({ members: 3 });
  const prefix = `/bench-scale-${randomBytes(3).toString('hex')}/`;
  const conn = connectEtcd({ endpoints: etcd.endpoints, prefix });
  const apiPort = await freePort();
  const url = `http://127.0.0.1:${apiPort}`;
  const api = new SpawnedProcess(process.execPath, [API_MAIN], {
    env: {
      ...process.env,
      IDRA_ETCD_ENDPOINTS: etcd.endpoints.join(','),
      IDRA_ETCD_PREFIX: prefix,
      IDRA_API_PORT: String(apiPort),
      IDRA_ADMIN_PASSWORD: ADMIN_PASSWORD,
      IDRA_SECRET_KEY: SECRET_KEY,
      IDRA_SQLITE_ROOTS: dir,
      IDRA_LOG_LEVEL: 'warn',
      IDRA_API_BODY_LIMIT: String(64 * 1024 * 1024),
    },
  });
  const agents = new Map<string, Agent>();
  const started: Agent[] = [];
  const tabs: Tab[] = [];
  try {
    const syncs = makeSyncs(dir, opts.syncs);
    await api.waitFor('the API server', async () => (await fetch(`${url}/healthz`).catch(() => undefined))?.ok === true);
    const call = async (method: string, path: string, body?: unknown) => {
      const res = await fetch(`${url}/api/v1${path}`, {
        method,
        headers: { 'content-type': 'application/json', ...(token ? { authorization: `Bearer ${token}` } : {}) },
        body: body === undefined ? undefined : JSON.stringify(body),
      });
      if (!res.ok) throw new Error(`${method} ${path}: HTTP ${res.status} ${await res.text()}`);
      return (await res.json()) as unknown;
    };
    let token = '';
    token = ((await call('POST', '/auth/login', { username: 'admin', password: ADMIN_PASSWORD })) as { token: string }).token;
    for (let i = 0; i < opts.agents; i++) {
      const id = `scale-agent-${i}`;
      const agent = new Agent(id, await freePort(), etcd, prefix, dir);
      agents.set(id, agent);
      started.push(agent);
    }
    await until('every agent registered', async () => ((await call('GET', '/agents')) as unknown[]).length === opts.agents, 60_000);

    const puts = await recordPuts(conn);
    const file = join(dir, 'syncs.json');
    await writeFile(file, JSON.stringify({ syncs }));
    const applySeconds = await timeShell(`IDRA_API_URL=${url} IDRA_TOKEN=${token} ${process.execPath} ${CLI} syncs apply -f ${file} > /dev/null`);
    progress(`applied ${opts.syncs} syncs in ${applySeconds.toFixed(1)} s`);
    const applied = performance.now();
    await until('every sync running', async () => (await runningOn(conn, new Set(agents.keys()))).size === opts.syncs, { timeoutMs: 300_000, intervalMs: 250 });
    const allRunningSeconds = (performance.now() - applied) / 1000;
    progress(`all running ${allRunningSeconds.toFixed(1)} s after the apply`);

    // Idle: the first copies are done; what remains is polling, heartbeats and the dashboard.
    const watchersBefore = await etcdWatchers(etcd);
    for (let i = 0; i < opts.tabs; i++) tabs.push(new Tab(url, token, i % 2 === 0 ? 'dashboard' : 'list'));
    await until('the tabs to follow the events', async () => (await etcdWatchers(etcd)) > watchersBefore, 30_000);
    // Idle means nothing left of the first copies: their minutes close at the next minute and are written
    // by the agents' 15-s ticker, then nothing but heartbeats and polls remains.
    await new Promise((r) => setTimeout(r, Math.ceil(Date.now() / 60_000) * 60_000 + 20_000 - Date.now()));
    const idleFrom = Date.now();
    progress(`idle for ${opts.idleSeconds} s with ${opts.tabs} tabs open`);
    await new Promise((r) => setTimeout(r, opts.idleSeconds * 1000));
    const idleTo = Date.now();
    const idlePuts = puts.since(idleFrom).filter((p) => p.at < idleTo);
    const putsByKind: Record<string, number> = {};
    for (const p of idlePuts) putsByKind[p.kind] = (putsByKind[p.kind] ?? 0) + 1;
    const latencies = tabs.flatMap((t) => t.overviews.filter((o) => o.at >= idleFrom && o.at < idleTo));
    const ms = latencies.map((o) => o.ms).sort((a, b) => a - b);
    const perTab = tabs.map((t) => t.eventsBetween(idleFrom, idleTo));
    const agentsAtIdle = [];
    const counts = await runningOn(conn, new Set(agents.keys()));
    for (const agent of agents.values()) {
      const n = [...counts.values()].filter((owner) => owner === agent.id).length;
      const m = await agent.metrics();
      const mem = await agent.memory();
      agentsAtIdle.push({ syncs: n, ...mem, budgetMb: budgetMb(n), metricsBytes: m.bytes, metricsSeries: m.series });
    }
    const idle = {
      seconds: (idleTo - idleFrom) / 1000,
      putsPerSyncPerMinute: idlePuts.length / opts.syncs / ((idleTo - idleFrom) / 60_000),
      putsByKind,
      eventsPerSecondPerTab: perTab.reduce((a, t) => a + t.total, 0) / tabs.length / ((idleTo - idleFrom) / 1000),
      maxEventsInOneSecond: Math.max(0, ...perTab.map((t) => t.max)),
      overview: {
        requests: ms.length,
        p50Ms: percentile(ms, 50),
        p99Ms: percentile(ms, 99),
        maxMs: ms.at(-1) ?? NaN,
        bytes: Math.max(0, ...latencies.map((o) => o.bytes)),
        summaryBytes: lastBytes(tabs, 'dashboard'),
        pageBytes: lastBytes(tabs, 'list'),
      },
      wholeOverviewBytes: (await (await fetch(`${url}/api/v1/overview`, { headers: { authorization: `Bearer ${token}` } })).text()).length,
    };

    // Failover with the tabs open: how many events a tab gets while a third of the syncs move.
    const victim = [...agents.values()][0]!;
    const victimSyncs = [...counts].filter(([, owner]) => owner === victim.id).map(([id]) => id);
    const killedAt = performance.now();
    const killedAtMs = Date.now();
    victim.child.kill('SIGKILL');
    await victim.exited;
    agents.delete(victim.id);
    const survivors = new Set(agents.keys());
    const lockedElsewhere = async () => {
      const locks = await conn.ns.getAll().prefix(KEYS.locks).strings();
      return victimSyncs.every((id) => {
        const v = locks[KEYS.lock(id)];
        return v !== undefined && survivors.has((JSON.parse(v) as { agentId: string }).agentId);
      });
    };
    await until('the victim syncs locked elsewhere', lockedElsewhere, { timeoutMs: 120_000, intervalMs: 100 });
    const relockSeconds = (performance.now() - killedAt) / 1000;
    await until(
      'the victim syncs running elsewhere',
      async () => {
        const running = await runningOn(conn, survivors);
        return victimSyncs.every((id) => running.has(id));
      },
      { timeoutMs: 120_000, intervalMs: 100 },
    );
    const runningSeconds = (performance.now() - killedAt) / 1000;
    await new Promise((r) => setTimeout(r, 2000));
    const failoverEvents = Math.max(0, ...tabs.map((t) => t.eventsBetween(killedAtMs, Date.now()).max));
    progress(`failover of ${victimSyncs.length} syncs: relocked in ${relockSeconds.toFixed(1)} s, running in ${runningSeconds.toFixed(1)} s`);

    const watchersWithTabs = await etcdWatchers(etcd);
    for (const t of tabs.splice(0)) await t.close();
    const watchersAfter = await until(
      'the API server to drop its watches',
      async () => {
        const n = await etcdWatchers(etcd);
        return n < watchersWithTabs ? n : undefined;
      },
      10_000,
    ).catch(async () => etcdWatchers(etcd));

    // Shutdown of an agent running its share, then of the last one just after it took over everything.
    const shutdown: ScaleResult['shutdown'] = [];
    const stopTimed = async (agent: Agent, n: number) => {
      const t = performance.now();
      await agent.stop('SIGTERM', 60_000);
      agents.delete(agent.id);
      shutdown.push({ syncs: n, seconds: (performance.now() - t) / 1000 });
      progress(`agent with ${n} syncs stopped in ${shutdown.at(-1)!.seconds.toFixed(1)} s`);
    };
    const [second, last] = [...agents.values()];
    const share = [...(await runningOn(conn, survivors)).values()].filter((o) => o === second!.id).length;
    const stoppedAt = performance.now();
    await stopTimed(second!, share);
    await until('every sync running on the last agent', async () => (await runningOn(conn, new Set([last!.id]))).size === opts.syncs, {
      timeoutMs: 300_000,
      intervalMs: 100,
    });
    const takeoverSeconds = (performance.now() - stoppedAt) / 1000;
    const lastMem = await last!.memory();
    await stopTimed(last!, opts.syncs);
    await puts.stop();
    return {
      syncs: opts.syncs,
      agents: opts.agents,
      tabs: opts.tabs,
      applySeconds,
      allRunningSeconds,
      idle,
      agentsAtIdle,
      watchers: { withTabs: watchersWithTabs, after: watchersAfter },
      failover: { syncs: victimSyncs.length, relockSeconds, runningSeconds, targetSeconds: LEASE_TTL_S + 3, eventsMaxPerSecondPerTab: failoverEvents },
      shutdown,
      lastAgent: { syncs: opts.syncs, takeoverSeconds, rssMb: lastMem.rssMb, budgetMb: budgetMb(opts.syncs) },
      leaseLosses: started.flatMap((a) => a.lines).filter((l) => l.msg === 'lease lost: stopping every sync now').length,
    };
  } finally {
    for (const t of tabs) await t.close();
    await Promise.all([...agents.values()].map((a) => a.stop('SIGKILL')));
    await api.stop();
    conn.close();
    await etcd.stop();
  }
}

/** Prints each measure beside its target. */
export function printScale(r: ScaleResult): void {
  const ok = (met: boolean) => (met ? 'met' : 'MISSED');
  const rows: Array<[string, string, string, boolean]> = [
    ['bulk apply (idra syncs apply)', `${r.applySeconds.toFixed(1)} s`, '≤ 5 s', r.applySeconds <= 5],
    ['all running after apply', `${r.allRunningSeconds.toFixed(1)} s`, '≤ 30 s', r.allRunningSeconds <= 30],
    ['idle etcd writes per sync per minute', r.idle.putsPerSyncPerMinute.toFixed(2), '≤ 1', r.idle.putsPerSyncPerMinute <= 1],
    [
      'events per tab per second, idle (busiest second)',
      `${r.idle.eventsPerSecondPerTab.toFixed(1)} (${r.idle.maxEventsInOneSecond})`,
      '≤ a few',
      r.idle.maxEventsInOneSecond <= 5,
    ],
    ['events per tab in the busiest second of failover', String(r.failover.eventsMaxPerSecondPerTab), '≤ a few', r.failover.eventsMaxPerSecondPerTab <= 5],
    [
      `overview (summary, page) p50 / p99 / max, ${r.tabs} tabs (${r.idle.overview.requests} requests)`,
      `${r.idle.overview.p50Ms.toFixed(0)} / ${r.idle.overview.p99Ms.toFixed(0)} / ${r.idle.overview.maxMs.toFixed(0)} ms`,
      'p99 ≤ 100 ms',
      r.idle.overview.p99Ms <= 100,
    ],
    [
      'what a tab fetches: summary / page (whole /overview)',
      `${kB(r.idle.overview.summaryBytes)} / ${kB(r.idle.overview.pageBytes)} kB (${kB(r.idle.wholeOverviewBytes)} kB)`,
      'not ~500 kB',
      r.idle.overview.bytes < 250 * 1024,
    ],
    ...r.agentsAtIdle.map((a, i): [string, string, string, boolean] => [
      `agent ${i}: RSS with ${a.syncs} syncs (${a.openFiles} open files)`,
      `${a.rssMb} MB`,
      `≤ ${a.budgetMb.toFixed(0)} MB`,
      a.rssMb <= a.budgetMb,
    ]),
    ...r.agentsAtIdle.map((a, i): [string, string, string, boolean] => [
      `agent ${i}: /metrics`,
      `${Math.round(a.metricsBytes / 1024)} kB, ${a.metricsSeries} series (${(a.metricsSeries / Math.max(1, a.syncs)).toFixed(1)} per sync)`,
      '',
      true,
    ]),
    ['lease losses (an agent stopped every sync and started again)', String(r.leaseLosses), '0', r.leaseLosses === 0],
    [`failover of ${r.failover.syncs} syncs: locked again`, `${r.failover.relockSeconds.toFixed(1)} s`, '', true],
    [
      `failover of ${r.failover.syncs} syncs: all running`,
      `${r.failover.runningSeconds.toFixed(1)} s`,
      `≤ ${r.failover.targetSeconds} s`,
      r.failover.runningSeconds <= r.failover.targetSeconds,
    ],
    ...r.shutdown.map((s): [string, string, string, boolean] => [`clean shutdown, ${s.syncs} syncs`, `${s.seconds.toFixed(1)} s`, '≤ 10 s', s.seconds <= 10]),
    [`last agent: takeover of ${r.lastAgent.syncs} syncs`, `${r.lastAgent.takeoverSeconds.toFixed(1)} s`, '', true],
    [
      `last agent: RSS with ${r.lastAgent.syncs} syncs`,
      `${r.lastAgent.rssMb} MB`,
      `≤ ${r.lastAgent.budgetMb.toFixed(0)} MB`,
      r.lastAgent.rssMb <= r.lastAgent.budgetMb,
    ],
    ['etcd watchers: with the tabs / after they left', `${r.watchers.withTabs} / ${r.watchers.after}`, 'fewer after', r.watchers.after < r.watchers.withTabs],
  ];
  const w = [0, 1, 2].map((i) => Math.max(...rows.map((row) => String(row[i]).length)));
  console.log(`\nscale: ${r.syncs} SQLite syncs polling every ${POLL_MS / 1000} s, ${r.agents} agents, 3-member etcd, ${r.tabs} dashboard tabs`);
  for (const [what, value, target, met] of rows)
    console.log(`${what.padEnd(w[0]!)}  ${value.padStart(w[1]!)}  ${target.padEnd(w[2]!)}  ${target ? ok(met) : ''}`);
  console.log(`idle etcd puts by kind over ${r.idle.seconds.toFixed(0)} s: ${JSON.stringify(r.idle.putsByKind)}`);
}
