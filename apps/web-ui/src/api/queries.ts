import { useQuery } from '@tanstack/react-query';
import type { OverviewQuery, SyncStatus } from '@idra/api-client';
import { useClient } from './client-context.tsx';
import { isNotFound } from './errors.ts';

/** Query keys, in one place so that mutations invalidate exactly what they change. */
export const keys = {
  /** Every view of the overview (pages, summary, one sync's row): invalidated together. */
  overview: ['overview'] as const,
  overviewPage: (q: OverviewQuery) => ['overview', 'page', q] as const,
  overviewSummary: ['overview', 'summary'] as const,
  syncOverview: (id: string) => ['overview', 'sync', id] as const,
  cluster: ['cluster'] as const,
  agents: ['agents'] as const,
  agentEvents: ['agents', 'events'] as const,
  slots: ['slots'] as const,
  assignments: ['assignments'] as const,
  errors: ['errors'] as const,
  dataSources: ['datasources'] as const,
  connectors: ['connectors'] as const,
  users: ['users'] as const,
  tokens: ['tokens'] as const,
  syncs: ['syncs'] as const,
  sync: (id: string) => ['sync', id] as const,
  status: (id: string) => ['sync', id, 'status'] as const,
  offset: (id: string) => ['sync', id, 'offset'] as const,
  offsetHistory: (id: string) => ['sync', id, 'offset-history'] as const,
  history: (id: string) => ['sync', id, 'history'] as const,
  deadLetters: (id: string) => ['sync', id, 'dead-letters'] as const,
  activity: (id: string, range: string) => ['sync', id, 'activity', range] as const,
  timeline: (id: string) => ['sync', id, 'timeline'] as const,
};

/** Polling periods; the event stream refreshes statuses in between. */
const FAST = 3_000;
const SLOW = 10_000;

/** One page of the syncs, filtered, sorted and counted by the server; the previous page stays shown while the next loads. */
export function useOverviewPage(query: OverviewQuery) {
  const client = useClient();
  return useQuery({
    queryKey: keys.overviewPage(query),
    queryFn: () => client.overviewPage(query),
    refetchInterval: FAST,
    placeholderData: (previous) => previous,
  });
}

/** Counts by health, the busiest syncs and the newest errors: the dashboard's whole need, whatever the number of syncs. */
export function useOverviewSummary() {
  const client = useClient();
  return useQuery({ queryKey: keys.overviewSummary, queryFn: () => client.overviewSummary(), refetchInterval: FAST });
}

/** One sync's row of the overview (assignment, lock owner, dead letters); absent (null) once the sync is gone. */
export function useSyncOverview(id: string) {
  const client = useClient();
  return useQuery({
    queryKey: keys.syncOverview(id),
    queryFn: () => client.syncs.overview(id).catch((err: unknown) => (isNotFound(err) ? null : Promise.reject(err))),
    refetchInterval: FAST,
  });
}

export function useCluster() {
  const client = useClient();
  return useQuery({ queryKey: keys.cluster, queryFn: () => client.cluster(), refetchInterval: SLOW });
}

export function useAgents() {
  const client = useClient();
  return useQuery({ queryKey: keys.agents, queryFn: () => client.agents(), refetchInterval: SLOW });
}

/** Agents that left the cluster and where their syncs went (the leader records it). */
export function useAgentEvents() {
  const client = useClient();
  return useQuery({ queryKey: keys.agentEvents, queryFn: () => client.agentEvents(), refetchInterval: SLOW });
}

/** Data sources with a concurrency limit: slots held and syncs waiting, in order. */
export function useSlots() {
  const client = useClient();
  return useQuery({ queryKey: keys.slots, queryFn: () => client.slots(), refetchInterval: FAST });
}

export function useAssignments() {
  const client = useClient();
  return useQuery({ queryKey: keys.assignments, queryFn: () => client.assignments(), refetchInterval: SLOW });
}

export function useErrorSummary() {
  const client = useClient();
  return useQuery({ queryKey: keys.errors, queryFn: () => client.errors(), refetchInterval: SLOW });
}

export function useDataSources() {
  const client = useClient();
  return useQuery({ queryKey: keys.dataSources, queryFn: () => client.dataSources.list() });
}

export function useSyncConfig(id: string, enabled = true) {
  const client = useClient();
  return useQuery({ queryKey: keys.sync(id), queryFn: () => client.syncs.get(id), enabled });
}

/** The sync's last reported status; null while no agent has reported one. */
export function useSyncStatus(id: string) {
  const client = useClient();
  return useQuery({
    queryKey: keys.status(id),
    queryFn: async (): Promise<SyncStatus | null> => {
      try {
        return await client.syncs.status(id);
      } catch (err) {
        if (isNotFound(err)) return null;
        throw err;
      }
    },
    refetchInterval: FAST,
  });
}

export function useOffset(id: string) {
  const client = useClient();
  return useQuery({ queryKey: keys.offset(id), queryFn: () => client.offsets.get(id), refetchInterval: FAST });
}

export function useOffsetHistory(id: string) {
  const client = useClient();
  return useQuery({ queryKey: keys.offsetHistory(id), queryFn: () => client.offsets.history(id) });
}

/** The sync's recorded changes, newest first. */
export function useSyncHistory(id: string) {
  const client = useClient();
  return useQuery({ queryKey: keys.history(id), queryFn: () => client.syncs.history(id), refetchInterval: SLOW });
}

export function useDeadLetters(id: string) {
  const client = useClient();
  return useQuery({ queryKey: keys.deadLetters(id), queryFn: () => client.syncs.deadLetters(id), refetchInterval: SLOW });
}

export function useUsers() {
  const client = useClient();
  return useQuery({ queryKey: keys.users, queryFn: () => client.users.list() });
}

export function useTokens() {
  const client = useClient();
  return useQuery({ queryKey: keys.tokens, queryFn: () => client.tokens.list() });
}

/** The connector catalogue (labels, endpoint fields per role, option schemas, modes): fixed for the server's life. */
export function useConnectors() {
  const client = useClient();
  return useQuery({ queryKey: keys.connectors, queryFn: () => client.connectors(), staleTime: Infinity });
}

/** A connector's name for people (`MySQL / MariaDB`), from the catalogue; its kind until the catalogue is there. */
export function useConnectorLabel(): (kind: string) => string {
  const catalogue = useConnectors().data;
  return (kind) => catalogue?.find((c) => c.kind === kind)?.label ?? kind;
}
