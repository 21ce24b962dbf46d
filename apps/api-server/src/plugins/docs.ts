import fp from 'fastify-plugin';
import swagger from '@fastify/swagger';
import swaggerUi from '@fastify/swagger-ui';
import type { FastifyInstance } from 'fastify';
import { ErrorBodySchema } from '../schemas.ts';

/** The OpenAPI document (`/api/v1/openapi.json`) built from the route schemas, and its docs page (`/api/v1/docs`). */
export const docs = fp(async (app: FastifyInstance) => {
  app.addSchema(ErrorBodySchema);
  await app.register(swagger, {
    openapi: {
      openapi: '3.0.3',
      info: { title: 'Idra API', version: '1', description: 'Syncs, data sources, offsets and cluster state, over etcd. Errors are `{ code, message, details }`.' },
      components: { securitySchemes: { bearer: { type: 'http', scheme: 'bearer', description: 'a session token (POST /auth/login) or an API token (idra_…)' } } },
      security: [{ bearer: [] }],
    },
    // Shared schemas keep their $id as their name in components.schemas.
    refResolver: { buildLocalReference: (json, _base, _fragment, i) => (typeof json.$id === 'string' ? json.$id : `def-${i}`) },
  });
  app.get('/api/v1/openapi.json', { config: { access: 'public' }, schema: { hide: true } }, async () => app.swagger());
  // The docs page is served from the installed package (no CDN); its routes are public.
  await app.register(async (scope) => {
    scope.addHook('onRoute', (route) => {
      route.config = { ...route.config, access: 'public' };
    });
    await scope.register(swaggerUi, { routePrefix: '/api/v1/docs' });
  });
});
