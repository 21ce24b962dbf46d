import { Gauge } from 'prom-client';
import { readClusterSnapshot, type ClusterSnapshot, type EtcdConnection } from '@idra/core';
import type { ApiMetrics } from './metrics.ts';

/** How long a scrape waits for etcd before it reports it unreachable. */
const ETCD_TIMEOUT_MS = 2000;

interface ClusterFacts {
  etcdUp: boolean;
  snapshot: ClusterSnapshot | undefined;
}

/**
 * The cluster as etcd holds it, exported by every API server at scrape time (`idra_cluster_*`): what
 * no single agent can tell — whether a leader is elected, how many agents are registered, syncs no
 * agent runs, and whether etcd answers at all. The alert rules in deploy/prometheus read these.
 */
export function exportClusterMetrics(metrics: ApiMetrics, etcd: EtcdConnection, expectedAgents: number | undefined): void {
  const registers = [metrics.registry];
  // One read of etcd per scrape, shared by the gauges below (each one's collect() asks for it).
  let pending: { at: number; facts: Promise<ClusterFacts> } | undefined;
  const facts = (): Promise<ClusterFacts> => {
    if (!pending || Date.now() - pending.at > 1000) pending = { at: Date.now(), facts: read() };
    return pending.facts;
  };
  const read = async (): Promise<ClusterFacts> => {
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => (timer = setTimeout(() => reject(new Error('etcd did not answer')), ETCD_TIMEOUT_MS)));
    try {
      return { etcdUp: true, snapshot: await Promise.race([readClusterSnapshot(etcd.ns), timeout]) };
    } catch {
      metrics.etcdErrors.inc({ where: 'cluster-metrics' });
      return { etcdUp: false, snapshot: undefined };
    } finally {
      clearTimeout(timer);
    }
  };
  const gauge = (name: string, help: string, value: (f: ClusterFacts) => number | undefined) =>
    new Gauge({
      name,
      help,
      registers,
      async collect() {
        const v = value(await facts());
        // Unknown (etcd did not answer) is no sample at all, not 0: "no agents" would be a false alarm.
        if (v === undefined) this.remove({});
        else this.set(v);
      },
    });
  gauge('idra_cluster_etcd_up', 'Whether etcd answered this API server within 2 s (1) or not (0)', (f) => (f.etcdUp ? 1 : 0));
  gauge('idra_cluster_leader', 'Whether an agent is the elected leader (1) or none is (0)', (f) => (f.snapshot ? (f.snapshot.leader ? 1 : 0) : undefined));
  gauge('idra_cluster_agents', 'Agents registered in etcd (holding a live lease)', (f) => f.snapshot?.agents.length);
  new Gauge({
    name: 'idra_cluster_sync_unassigned',
    help: 'One series (1) per enabled sync that no agent is assigned to run',
    labelNames: ['sync'],
    registers,
    async collect() {
      const { snapshot } = await facts();
      this.reset();
      for (const s of snapshot?.syncs ?? []) if (s.enabled !== false && !snapshot!.assignments.has(s.id)) this.set({ sync: s.id }, 1);
    },
  });
  if (expectedAgents !== undefined) {
    new Gauge({ name: 'idra_cluster_agents_expected', help: 'Agents this cluster should have (IDRA_EXPECTED_AGENTS)', registers }).set(expectedAgents);
  }
}
