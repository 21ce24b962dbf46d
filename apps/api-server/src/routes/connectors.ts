import { Type } from '@sinclair/typebox';
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { describeConnector, type ConnectorDescription } from '@idra/core';
import { CONNECTOR_SPECS } from '@idra/connectors';
import { errors } from '../schemas.ts';

/** `/connectors`: the catalogue of connectors (roles, endpoint fields, option schemas, modes), so clients need no copy of it. */
export const connectorRoutes: FastifyPluginAsyncTypebox = async (app) => {
  const catalogue = Object.values(CONNECTOR_SPECS).map(describeConnector);
  app.get(
    '/connectors',
    {
      config: { access: 'viewer' },
      schema: {
        tags: ['connectors'],
        summary: 'Every connector: per role, the endpoint fields it uses (and requires), the JSON schema of its options with defaults, and the modes it plays',
        response: { 200: Type.Array(Type.Ref('ConnectorDescription')), ...errors() },
      },
    },
    async (): Promise<ConnectorDescription[]> => catalogue,
  );
};
