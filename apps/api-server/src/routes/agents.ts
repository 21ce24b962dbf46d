import { Type } from '@sinclair/typebox';
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { listAgents, listAssignments } from '../cluster-view.ts';
import { Permissive, errors } from '../schemas.ts';

/** `/agents`, `/assignments`: the live agents (leader flagged) and which sync each runs. */
export const agentRoutes: FastifyPluginAsyncTypebox = async (app) => {
  const { etcd } = app.idra;
  const tags = ['agents'];
  app.get('/agents', { config: { access: 'viewer' }, schema: { tags, summary: 'Registered agents (their keys live on their leases), with the leader flagged', response: { 200: Type.Array(Permissive('AgentView')), ...errors() } } }, async () =>
    listAgents(etcd.ns),
  );
  app.get(
    '/assignments',
    { config: { access: 'viewer' }, schema: { tags, summary: 'Which agent each enabled sync is assigned to (written by the leader)', response: { 200: Type.Array(Type.Object({ syncId: Type.String(), agentId: Type.String(), epoch: Type.Integer() })), ...errors() } } },
    async () => listAssignments(etcd.ns),
  );
};
