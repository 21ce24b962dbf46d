import { SecretBox, type Logger } from '@idra/core';
import { createConnectorRegistry } from '@idra/connectors';
import type { AgentOptions } from './options.ts';
import { ClusterAgent } from './cluster/cluster-agent.ts';
import { ProgressLog } from './progress.ts';
import type { AgentMetrics } from './http/agent-metrics.ts';

const AGENT_VERSION = '0.1.0';

/** Cluster mode: syncs, offsets and coordination in etcd. */
export async function startClusterMode(
  opts: AgentOptions,
  log: Logger,
  metrics?: AgentMetrics,
): Promise<{ stop(timeoutMs: number): Promise<void>; agent: ClusterAgent }> {
  const progress = new ProgressLog(log, opts.progressIntervalMs);
  const agent = new ClusterAgent({
    etcd: {
      endpoints: opts.etcd!,
      prefix: opts.prefix,
      username: opts.etcdAuth.username,
      password: opts.etcdAuth.password,
      tls: { ca: opts.etcdAuth.ca, cert: opts.etcdAuth.cert, key: opts.etcdAuth.key },
    },
    agentId: opts.agentId,
    version: AGENT_VERSION,
    leaseTtlSeconds: Math.max(1, Math.round(opts.leaseTtlMs / 1000)),
    labels: opts.labels,
    maxSyncs: opts.maxSyncs,
    connectors: createConnectorRegistry(),
    logger: log,
    secretBox: opts.secretKey ? new SecretBox(opts.secretKey) : undefined,
    onStatus: (s) => progress.update(s),
    metrics,
  });
  metrics?.watchCluster(agent);
  log.info({ endpoints: opts.etcd, prefix: opts.prefix, labels: opts.labels, maxSyncs: opts.maxSyncs }, 'cluster mode');
  agent.start();
  return {
    agent,
    async stop(timeoutMs) {
      await agent.stop(timeoutMs);
      progress.stop();
    },
  };
}
