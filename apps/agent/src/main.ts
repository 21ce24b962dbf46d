import { ConfigError, errorMessage } from '@idra/core';
import { createConnectorRegistry } from '@idra/connectors';
import { parseAgentOptions, USAGE, type AgentOptions } from './options.ts';
import { createLogger } from './logger.ts';
import { loadConfigFile } from './config-file.ts';
import { SingleModeAgent } from './single-mode.ts';
import { prepareExample } from './example.ts';

/** A running agent, whatever its mode. */
interface RunningAgent {
  stop(timeoutMs: number): Promise<void>;
}

async function startSingleMode(opts: AgentOptions, log: ReturnType<typeof createLogger>): Promise<RunningAgent> {
  let configFile = opts.config;
  let stateDir = opts.stateDir;
  let stopTrickle: (() => void) | undefined;
  if (opts.example) {
    const example = await prepareExample(opts.stateDir, log);
    configFile = example.configFile;
    stateDir = example.stateDir;
    log.info({ destination: example.destinationFile }, `example: syncing ${example.sourceFile} → ${example.destinationFile}; Ctrl-C to stop, run again to resume`);
    stopTrickle = example.startTrickle();
  }
  if (!configFile) throw new ConfigError([{ path: '--config', message: 'is required in single mode (or use --etcd, or --example)' }], 'invalid agent options');
  const { syncs, startOffsets } = await loadConfigFile(configFile);
  const agent = new SingleModeAgent({
    syncs,
    startOffsets,
    stateDir,
    agentId: opts.agentId,
    connectors: createConnectorRegistry(),
    logger: log,
    progressIntervalMs: opts.progressIntervalMs,
  });
  await agent.start();
  return {
    async stop(timeoutMs) {
      stopTrickle?.();
      await agent.stop(timeoutMs);
    },
  };
}

async function main(): Promise<number> {
  let opts: AgentOptions | 'help';
  try {
    opts = parseAgentOptions(process.argv.slice(2));
  } catch (err) {
    process.stderr.write(`idra-agent: ${errorMessage(err)}\n\n${USAGE}`);
    return 2;
  }
  if (opts === 'help') {
    process.stdout.write(USAGE);
    return 0;
  }
  const log = createLogger(opts.logLevel, { agentId: opts.agentId });
  let agent: RunningAgent;
  try {
    if (opts.etcd) {
      const { startClusterMode } = await import('./cluster-mode.ts');
      agent = await startClusterMode(opts, log);
    } else {
      agent = await startSingleMode(opts, log);
    }
  } catch (err) {
    log.error({ err: errorMessage(err) }, err instanceof ConfigError ? 'invalid configuration' : 'agent failed to start');
    return err instanceof ConfigError ? 2 : 1;
  }
  return new Promise<number>((resolve) => {
    let stopping = false;
    const shutdown = (signal: string) => {
      if (stopping) {
        log.warn({ signal }, 'second signal: aborting batches in flight');
        void agent.stop(0).then(() => resolve(0));
        return;
      }
      stopping = true;
      log.info({ signal, timeoutMs: opts.shutdownTimeoutMs }, 'shutting down: finishing batches in flight');
      agent.stop(opts.shutdownTimeoutMs).then(
        () => {
          log.info({}, 'stopped');
          resolve(0);
        },
        (err: unknown) => {
          log.error({ err: errorMessage(err) }, 'error while stopping');
          resolve(1);
        },
      );
    };
    process.on('SIGTERM', () => shutdown('SIGTERM'));
    process.on('SIGINT', () => shutdown('SIGINT'));
  });
}

process.exitCode = await main();
// Flush logs, then leave even if a driver keeps a socket open.
setTimeout(() => process.exit(process.exitCode ?? 0), 200).unref();
