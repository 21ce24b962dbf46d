import { Type } from '@sinclair/typebox';
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { readAgentEvents } from '@idra/core';
import { listAgents, listAssignments, listSlots } from '../cluster-view.ts';
import { errors } from '../schemas.ts';

/** `/agents`, `/assignments`, `/slots`: the live agents (leader flagged, labels, capacity), which sync each runs, who holds data source slots. */
export const agentRoutes: FastifyPluginAsyncTypebox = async (app) => {
  const { etcd, configs } = app.idra;
  const tags = ['agents'];
  app.get(
    '/agents',
    {
      config: { access: 'viewer' },
      schema: {
        tags,
        summary: 'Registered agents (their keys live on their leases), with the leader flagged, their labels and capacity (--max-syncs)',
        response: { 200: Type.Array(Type.Ref('AgentView')), ...errors() },
      },
    },
    async () => listAgents(etcd.ns),
  );
  app.get(
    '/slots',
    {
      config: { access: 'viewer' },
      schema: {
        tags,
        summary:
          'Data sources with a concurrency limit (maxConcurrentSyncs, maxReaders, maxWriters): the syncs holding their slots and those waiting, in queue order',
        response: { 200: Type.Array(Type.Ref('DataSourceSlotsView')), ...errors() },
      },
    },
    async () => listSlots(etcd.ns, await configs.listDataSources()),
  );
  app.get(
    '/agents/events',
    {
      config: { access: 'viewer' },
      schema: {
        tags,
        summary: 'Agents that left the cluster (stopped, or lost when their lease expired), newest first, with where the leader moved their syncs',
        response: { 200: Type.Array(Type.Ref('AgentEvent')), ...errors() },
      },
    },
    async () => readAgentEvents(etcd.ns),
  );
  app.get(
    '/assignments',
    {
      config: { access: 'viewer' },
      schema: {
        tags,
        summary: 'Which agent each enabled sync is assigned to (written by the leader)',
        response: { 200: Type.Array(Type.Object({ syncId: Type.String(), agentId: Type.String(), epoch: Type.Integer() })), ...errors() },
      },
    },
    async () => listAssignments(etcd.ns),
  );
};
