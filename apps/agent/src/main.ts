import { getHeapStatistics } from 'node:v8';
import { ConfigError, errorMessage, guardProcess, type GoSyncReport } from '@idra/core';
import { confineSqliteFiles, createConnectorRegistry } from '@idra/connectors';
import { parseAgentOptions, USAGE, type AgentOptions } from './options.ts';
import { createLogger } from './logger.ts';
import { loadConfigFile } from './config-file.ts';
import { SingleModeAgent } from './single-mode.ts';
import { exampleStateDir, prepareExample } from './example.ts';
import { lockStateDir } from './state-dir-lock.ts';
import { AGENT_EXIT } from './exit-codes.ts';
import type { AgentMetrics } from './http/agent-metrics.ts';
import { startAgentHttp, type AgentHttp, type Readiness } from './http/agent-http.ts';

/** A running agent, whatever its mode. */
interface RunningAgent {
  stop(timeoutMs: number): Promise<void>;
  /** Single mode: ready once its syncs started; cluster mode: while registered with etcd. */
  readiness(): Readiness;
  /** Single mode: resolves when no sync is left to run (none enabled, or every one failed and waits for an operator). */
  settled?: Promise<'none-enabled' | 'all-failed'>;
}

/**
 * A Go Idra export run directly: one line per Go sync saying what Idra made of it — every field not
 * carried over as it was (converted: how; ignored: why) — as `idra import --dry-run` reports it.
 */
function logGoReport(report: GoSyncReport[], log: ReturnType<typeof createLogger>): void {
  for (const r of report) {
    const changed = r.fields.filter((f) => f.outcome !== 'mapped');
    const count = (o: string) => r.fields.filter((f) => f.outcome === o).length;
    const summary = `${count('mapped')} fields mapped, ${count('converted')} converted, ${count('ignored')} ignored`;
    log.info({ goSync: r.name, syncId: r.id, fields: changed }, `Go Idra sync "${r.name}" runs as ${r.id}: ${summary}`);
  }
}

async function startSingleMode(opts: AgentOptions, log: ReturnType<typeof createLogger>, metrics: AgentMetrics | undefined): Promise<RunningAgent> {
  let configFile = opts.config;
  const stateDir = opts.example ? exampleStateDir(opts.stateDir) : opts.stateDir;
  // Held for the life of the process (the kernel drops it however the process ends), taken before
  // anything touches the dir: a second agent on it would run the same syncs.
  const lock = await lockStateDir(stateDir, opts.agentId);
  let stopTrickle: (() => void) | undefined;
  if (opts.example) {
    const example = await prepareExample(opts.stateDir, log);
    configFile = example.configFile;
    log.info(
      { destination: example.destinationFile },
      `example: syncing ${example.sourceFile} → ${example.destinationFile}; Ctrl-C to stop, run again to resume`,
    );
    stopTrickle = example.startTrickle();
  }
  if (!configFile) throw new ConfigError([{ path: '--config', message: 'is required in single mode (or use --etcd, or --example)' }], 'invalid agent options');
  const { syncs, startOffsets, goReport } = await loadConfigFile(configFile);
  logGoReport(goReport, log);
  const agent = new SingleModeAgent({
    syncs,
    startOffsets,
    stateDir,
    agentId: opts.agentId,
    connectors: createConnectorRegistry(),
    logger: log,
    progressIntervalMs: opts.progressIntervalMs,
    metrics,
  });
  await agent.start();
  return {
    settled: agent.settled(),
    readiness: () => ({ ready: true, reason: 'syncs started' }),
    async stop(timeoutMs) {
      stopTrickle?.();
      await agent.stop(timeoutMs);
      lock.release();
    },
  };
}

async function main(): Promise<number> {
  if (process.argv[2] === 'offsets') {
    const { offsetsCommand } = await import('./offsets-command.ts');
    return offsetsCommand(process.argv.slice(3), process.env, { stdout: process.stdout, stderr: process.stderr });
  }
  let opts: AgentOptions | 'help';
  try {
    opts = parseAgentOptions(process.argv.slice(2));
  } catch (err) {
    process.stderr.write(`idra-agent: ${errorMessage(err)}\n\n${USAGE}`);
    return AGENT_EXIT.config;
  }
  if (opts === 'help') {
    process.stdout.write(USAGE);
    return 0;
  }
  const log = createLogger(opts.logLevel, opts.agentId);
  // What the launcher's IDRA_AGENT_MAX_HEAP_MB (or the container's limit) came to: old and young generations together.
  const heapLimitMb = Math.round(getHeapStatistics().heap_size_limit / 2 ** 20);
  log.info({ heapLimitMb }, `memory: heap limit ${heapLimitMb} MB`);
  // The metrics library is loaded only when something serves the metrics (30 ms of every start otherwise).
  const metrics = opts.httpPort > 0 ? new (await import('./http/agent-metrics.ts')).AgentMetrics(opts.agentId) : undefined;
  // A stray error in one sync's driver must not take every other sync down with the process.
  guardProcess(log, (kind, syncId) => metrics?.countStray(kind, syncId));
  // The HTTP server comes first, so that /healthz answers (and /readyz says why not ready) while the agent starts.
  let readiness = (): Readiness => ({ ready: false, reason: 'starting' });
  let http: AgentHttp | undefined;
  let agent: RunningAgent;
  try {
    if (metrics) http = await startAgentHttp({ port: opts.httpPort, host: opts.httpHost, metrics, readiness: () => readiness(), logger: log });
    // Syncs name SQLite files; in cluster mode they come from API users, who must not reach the host's files.
    confineSqliteFiles(opts.sqliteRoots ?? (opts.etcd ? [] : [opts.stateDir, process.cwd()]));
    if (opts.etcd) {
      const { startClusterMode } = await import('./cluster-mode.ts');
      const cluster = await startClusterMode(opts, log, metrics);
      agent = {
        stop: (timeoutMs) => cluster.stop(timeoutMs),
        readiness: () =>
          cluster.agent.registeredNow
            ? { ready: true, reason: 'registered with etcd' }
            : { ready: false, reason: 'not registered with etcd (connecting, or lease lost)' },
      };
    } else {
      agent = await startSingleMode(opts, log, metrics);
    }
  } catch (err) {
    log.error({ err: errorMessage(err) }, err instanceof ConfigError ? 'invalid configuration' : 'agent failed to start');
    await http?.close();
    return err instanceof ConfigError ? AGENT_EXIT.config : AGENT_EXIT.error;
  }
  readiness = () => agent.readiness();
  return new Promise<number>((resolve) => {
    let stopping = false;
    const shutdown = (signal: string) => {
      if (stopping) {
        log.warn({ signal }, 'second signal: aborting batches in flight');
        void agent.stop(0).then(() => resolve(AGENT_EXIT.stopped));
        return;
      }
      stopping = true;
      readiness = () => ({ ready: false, reason: 'shutting down' });
      log.info({ signal, timeoutMs: opts.shutdownTimeoutMs }, 'shutting down: finishing batches in flight');
      agent.stop(opts.shutdownTimeoutMs).then(
        async () => {
          await http?.close();
          log.info({}, 'stopped');
          resolve(AGENT_EXIT.stopped);
        },
        (err: unknown) => {
          log.error({ err: errorMessage(err) }, 'error while stopping');
          resolve(AGENT_EXIT.error);
        },
      );
    };
    process.on('SIGTERM', () => shutdown('SIGTERM'));
    process.on('SIGINT', () => shutdown('SIGINT'));
    // Single mode with nothing left to run ends here, its status.json written, rather than idling on
    // an HTTP port or (without one) leaving Node with a top-level await that never settles (exit 13).
    void agent.settled?.then(async (outcome) => {
      if (stopping) return;
      stopping = true;
      readiness = () => ({ ready: false, reason: 'no sync left to run' });
      if (outcome === 'none-enabled') log.warn({}, 'no sync is enabled: nothing to run');
      else log.error({}, 'every sync failed and waits for a fix (see status.json): exiting');
      await agent.stop(0).catch((err: unknown) => log.error({ err: errorMessage(err) }, 'error while stopping'));
      await http?.close();
      resolve(outcome === 'none-enabled' ? AGENT_EXIT.noneEnabled : AGENT_EXIT.allFailed);
    });
  });
}

process.exitCode = await main();
// Flush logs, then leave even if a driver keeps a socket open.
setTimeout(() => process.exit(process.exitCode ?? 0), 200).unref();
