// `pnpm stack`: a local Idra cluster without containers — a 3-member etcd, the API server, the web
// UI and N agents as processes, with data and logs under .idra/stack/. Ctrl-C stops them all.
import { existsSync } from 'node:fs';
import { mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:net';
import { randomBytes } from 'node:crypto';
import { join, relative, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { etcdMemberArgs, findEtcd, probeEtcdHealth, until } from '@idra/testkit';
import { StackProcess, runsCommand } from './stack/stack-process.ts';
import { startWebServer } from './stack/web-server.ts';

const ROOT = resolve(import.meta.dirname, '..');
const HOST = '127.0.0.1';
const USAGE = `Usage: pnpm stack [options]

Starts a 3-member etcd (Debian's etcd-server), the API server, the web UI and agents as local
processes. Data and logs live in the stack dir; secrets are generated once and kept there.

Options:
  --agents <n>     number of agents (default 3)
  --dir <dir>      stack dir: etcd data, logs, secrets (default .idra/stack)
  --free-ports     pick free ports instead of the defaults (etcd 2379/22379/32379, API 8080,
                   web UI 8081, agents 9464+); etcd keeps the ports of its first run
  --fresh          delete the etcd data first (syncs, offsets, users: everything)
  --no-api         do not start the API server
  --no-web         do not serve the web UI
  -h, --help       show this help
`;

interface StackOptions {
  agents: number;
  dir: string;
  freePorts: boolean;
  fresh: boolean;
  api: boolean;
  web: boolean;
}

/** What survives between runs of the same stack dir. */
interface StackState {
  etcd: Array<{ name: string; clientPort: number; peerPort: number }>;
  secretKey: string;
  jwtSecret: string;
  adminPassword: string;
}

/** What a running stack publishes in `<dir>/run.json` (for tools and tests; removed on a clean stop). */
export interface StackRun {
  pid: number;
  etcdEndpoints: string[];
  apiUrl: string | undefined;
  webUrl: string | undefined;
  agents: Array<{ id: string; metricsUrl: string }>;
  processes: Array<{ name: string; pid: number; cmdline: string }>;
}

function parseOptions(argv: string[]): StackOptions | 'help' {
  const { values } = parseArgs({
    args: argv,
    options: {
      agents: { type: 'string', default: '3' },
      dir: { type: 'string', default: join(ROOT, '.idra', 'stack') },
      'free-ports': { type: 'boolean', default: false },
      fresh: { type: 'boolean', default: false },
      api: { type: 'boolean', default: true },
      web: { type: 'boolean', default: true },
      help: { type: 'boolean', short: 'h', default: false },
    },
    allowNegative: true,
    strict: true,
  });
  if (values.help) return 'help';
  const agents = Number(values.agents);
  if (!Number.isInteger(agents) || agents < 0 || agents > 50) throw new Error(`--agents must be an integer from 0 to 50 (got "${values.agents}")`);
  return { agents, dir: resolve(values.dir), freePorts: values['free-ports'], fresh: values.fresh, api: values.api, web: values.web };
}

function listen(port: number): Promise<Server | undefined> {
  return new Promise((resolve) => {
    const server = createServer();
    server.once('error', () => resolve(undefined));
    server.listen(port, HOST, () => resolve(server));
  });
}

/**
 * Ports for the stack: the defaults, or free ones. Each is held open until all are chosen so that
 * no two are the same; a busy default is an error that names it.
 */
async function choosePorts(names: string[], defaults: number[], free: boolean): Promise<number[]> {
  const held: Server[] = [];
  try {
    const ports: number[] = [];
    for (const [i, name] of names.entries()) {
      const server = await listen(free ? 0 : defaults[i]!);
      if (!server) throw new Error(`port ${defaults[i]} (${name}) is in use: stop what uses it, or run with --free-ports`);
      held.push(server);
      ports.push((server.address() as { port: number }).port);
    }
    return ports;
  } finally {
    await Promise.all(held.map((s) => new Promise((r) => s.close(r))));
  }
}

async function loadState(dir: string, opts: StackOptions): Promise<StackState> {
  const file = join(dir, 'stack.json');
  const hasData = existsSync(join(dir, 'etcd'));
  if (existsSync(file)) {
    const state = JSON.parse(await readFile(file, 'utf8')) as StackState;
    // etcd members know each other's peer URLs from their data: they keep their first ports.
    return hasData ? state : { ...state, etcd: await etcdPorts(opts.freePorts) };
  }
  return {
    etcd: await etcdPorts(opts.freePorts),
    secretKey: randomBytes(24).toString('base64url'),
    jwtSecret: randomBytes(32).toString('base64url'),
    adminPassword: randomBytes(12).toString('base64url'),
  };
}

async function etcdPorts(free: boolean): Promise<StackState['etcd']> {
  const names = ['etcd1', 'etcd2', 'etcd3'];
  const ports = await choosePorts(
    names.flatMap((n) => [`${n} client`, `${n} peer`]),
    [2379, 2380, 22379, 22380, 32379, 32380],
    free,
  );
  return names.map((name, i) => ({ name, clientPort: ports[2 * i]!, peerPort: ports[2 * i + 1]! }));
}

/** Waits until `ready` passes (a probe that throws is "not yet"); false, with the reason written, when `proc` exits or 30 s pass first. */
async function waitFor(proc: StackProcess, ready: () => Promise<unknown>): Promise<boolean> {
  const outcome = await until(proc.spec.name, async () => (!proc.running ? 'exited' : (await ready(), 'ready')), { timeoutMs: 30_000, intervalMs: 200 }).catch(
    (err: Error) => err.message,
  );
  if (outcome !== 'ready') process.stderr.write(`${proc.spec.name}: not ready (${outcome})\n`);
  return outcome === 'ready';
}

/** Resolves when GET `url` answers 200. */
async function answers200(url: string): Promise<void> {
  const res = await fetch(url, { signal: AbortSignal.timeout(2000) });
  if (res.status !== 200) throw new Error(`GET ${url}: HTTP ${res.status}`);
}

/** Kills what a previous run of this stack dir left behind (its script was killed): only pids that still run the recorded command. */
async function killLeftovers(dir: string): Promise<void> {
  const file = join(dir, 'run.json');
  if (!existsSync(file)) return;
  const run = JSON.parse(await readFile(file, 'utf8')) as StackRun;
  for (const p of run.processes) {
    if (runsCommand(p.pid, p.cmdline)) {
      process.stdout.write(`stopping ${p.name} (pid ${p.pid}) left over from a previous run\n`);
      process.kill(p.pid, 'SIGKILL');
    }
  }
  await rm(file, { force: true });
}

async function main(): Promise<number> {
  let opts: StackOptions | 'help';
  try {
    opts = parseOptions(process.argv.slice(2));
  } catch (err) {
    process.stderr.write(`stack: ${(err as Error).message}\n\n${USAGE}`);
    return 2;
  }
  if (opts === 'help') {
    process.stdout.write(USAGE);
    return 0;
  }
  const { dir } = opts;
  const logs = join(dir, 'logs');
  const show = (p: string) => (p.startsWith(ROOT) ? relative(process.cwd(), p) || '.' : p);
  const etcdBinary = findEtcd();
  await mkdir(logs, { recursive: true });
  await killLeftovers(dir);
  if (opts.fresh) await rm(join(dir, 'etcd'), { recursive: true, force: true });
  const state = await loadState(dir, opts);
  await writeFile(join(dir, 'stack.json'), JSON.stringify(state, null, 2) + '\n', { mode: 0o600 });

  const apiMain = join(ROOT, 'apps/api-server/src/main.ts');
  const webRoot = join(ROOT, 'apps/web-ui/dist');
  const runApi = opts.api && existsSync(apiMain);
  const runWeb = opts.web && existsSync(join(webRoot, 'index.html'));
  const [apiPort, webPort, ...agentPorts] = await choosePorts(
    ['API server', 'web UI', ...Array.from({ length: opts.agents }, (_, i) => `agent ${i + 1} metrics`)],
    [8080, 8081, ...Array.from({ length: opts.agents }, (_, i) => 9464 + i)],
    opts.freePorts,
  );

  const etcdEndpoints = state.etcd.map((m) => `http://${HOST}:${m.clientPort}`);
  const initialCluster = state.etcd.map((m) => `${m.name}=http://${HOST}:${m.peerPort}`).join(',');
  const etcd = state.etcd.map(
    (m) =>
      new StackProcess({
        name: m.name,
        command: etcdBinary,
        // The same member arguments as testkit's etcd; later runs rejoin from the data dir.
        args: etcdMemberArgs(
          { name: m.name, dataDir: join(dir, 'etcd', m.name), clientUrl: `http://${HOST}:${m.clientPort}`, peerUrl: `http://${HOST}:${m.peerPort}` },
          { initialCluster, token: 'idra-stack' },
        ),
        cwd: dir,
        logFile: join(logs, `${m.name}.log`),
      }),
  );
  const idraEnv = {
    ...process.env,
    IDRA_ETCD_ENDPOINTS: etcdEndpoints.join(','),
    IDRA_SECRET_KEY: state.secretKey,
    IDRA_LOG_FORMAT: 'json',
  };
  const api = runApi
    ? new StackProcess({
        name: 'api-server',
        command: process.execPath,
        args: [apiMain, '--port', String(apiPort), '--host', HOST],
        env: { ...idraEnv, IDRA_JWT_SECRET: state.jwtSecret, IDRA_ADMIN_PASSWORD: state.adminPassword },
        cwd: ROOT,
        logFile: join(logs, 'api-server.log'),
      })
    : undefined;
  const agents = agentPorts.map(
    (port, i) =>
      new StackProcess({
        name: `agent-${i + 1}`,
        command: process.execPath,
        args: [join(ROOT, 'apps/agent/src/main.ts'), '--agent-id', `stack-agent-${i + 1}`, '--http-port', String(port)],
        env: idraEnv,
        cwd: ROOT,
        logFile: join(logs, `agent-${i + 1}.log`),
      }),
  );
  let web: Server | undefined;

  let stopping = false;
  const all = () => [...agents, ...(api ? [api] : []), ...etcd];
  const exited = (p: StackProcess) => (code: number | null, signal: NodeJS.Signals | null) => {
    if (!stopping) process.stderr.write(`${p.spec.name} exited (${signal ?? `code ${code}`}); see ${show(p.spec.logFile)}\n`);
  };
  const writeRun = async () => {
    const run: StackRun = {
      pid: process.pid,
      etcdEndpoints,
      apiUrl: api ? `http://${HOST}:${apiPort}` : undefined,
      webUrl: web ? `http://${HOST}:${webPort}` : undefined,
      agents: agents.map((a, i) => ({ id: `stack-agent-${i + 1}`, metricsUrl: `http://${HOST}:${agentPorts[i]}/metrics` })),
      processes: all().flatMap((p) => (p.pid ? [{ name: p.spec.name, pid: p.pid, cmdline: p.cmdline }] : [])),
    };
    await writeFile(join(dir, 'run.json'), JSON.stringify(run, null, 2) + '\n');
  };

  /** Agents first (they finish their batches and release their locks in etcd), then the API server, then etcd. */
  const stopAll = async (signal: NodeJS.Signals, timeoutMs: number) => {
    stopping = true;
    await Promise.all(agents.map((a) => a.stop(signal, timeoutMs)));
    await api?.stop(signal, timeoutMs);
    await new Promise((r) => (web ? web.close(r) : r(undefined)));
    await Promise.all(etcd.map((m) => m.stop(signal, timeoutMs)));
    await rm(join(dir, 'run.json'), { force: true });
  };
  const stopped = new Promise<number>((resolveStopped) => {
    let signals = 0;
    const onSignal = (signal: NodeJS.Signals) => {
      signals++;
      if (signals === 1) {
        process.stdout.write(`\n${signal}: stopping the agents, then the API server, then etcd…\n`);
        void stopAll('SIGTERM', 15_000).then(() => {
          process.stdout.write('stack stopped\n');
          resolveStopped(0);
        });
      } else {
        process.stdout.write('second signal: killing everything\n');
        for (const p of all()) void p.stop('SIGKILL', 1000);
      }
    };
    process.on('SIGINT', onSignal);
    process.on('SIGTERM', onSignal);
  });

  try {
    for (const m of etcd) m.start(exited(m));
    await writeRun();
    const healthy = await Promise.all(etcd.map((m, i) => waitFor(m, () => probeEtcdHealth(etcdEndpoints[i]!))));
    if (!healthy.every(Boolean)) throw new Error(`etcd did not become healthy; see ${show(logs)}/etcd*.log`);
    if (api) {
      api.start(exited(api));
      await writeRun();
      await waitFor(api, () => answers200(`http://${HOST}:${apiPort}/healthz`));
    }
    if (runWeb) {
      web = await startWebServer({ root: webRoot, port: webPort!, host: HOST, apiUrl: api ? `http://${HOST}:${apiPort}` : undefined });
    }
    for (const a of agents) a.start(exited(a));
    await writeRun();
    await Promise.all(agents.map((a, i) => waitFor(a, () => answers200(`http://${HOST}:${agentPorts[i]}/readyz`))));
  } catch (err) {
    process.stderr.write(`stack: ${(err as Error).message}\n`);
    await stopAll('SIGTERM', 10_000);
    return 1;
  }

  const line = (label: string, text: string) => `  ${label.padEnd(13)}${text}\n`;
  process.stdout.write(
    `\nIdra stack is up — data and logs in ${show(dir)}\n` +
      line('etcd', `${etcdEndpoints.join(',')}  (3 members)`) +
      line(
        'api-server',
        api
          ? `http://${HOST}:${apiPort}  (/api/v1, /healthz, /readyz, /metrics)`
          : opts.api
            ? 'skipped: apps/api-server/src/main.ts does not exist yet'
            : 'skipped (--no-api)',
      ) +
      line(
        'web UI',
        web ? `http://${HOST}:${webPort}` : opts.web ? 'skipped: apps/web-ui/dist is not built (pnpm --filter @idra/web-ui build)' : 'skipped (--no-web)',
      ) +
      agents.map((a, i) => line(i === 0 ? 'agents' : '', `stack-agent-${i + 1}  http://${HOST}:${agentPorts[i]}/metrics`)).join('') +
      (api ? line('admin login', `admin / ${state.adminPassword}  (set on the API server's first start)`) : '') +
      line('secret key', `IDRA_SECRET_KEY=${state.secretKey}`) +
      line('logs', `${show(logs)}/`) +
      `\nCLI and tools: export IDRA_ETCD_ENDPOINTS=${etcdEndpoints.join(',')}  ·  Ctrl-C stops everything.\n`,
  );
  return stopped;
}

process.exitCode = await main();
