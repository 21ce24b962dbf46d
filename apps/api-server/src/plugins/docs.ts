import fp from 'fastify-plugin';
import swagger from '@fastify/swagger';
import swaggerUi from '@fastify/swagger-ui';
import type { FastifyInstance } from 'fastify';
import { RESPONSE_SCHEMAS } from '../response-schemas.ts';
import { ErrorBodySchema } from '../schemas.ts';

/** Every tag a route may carry, with what it groups; a route with another tag fails the document (add it here). */
const TAGS: Record<string, string> = {
  auth: 'Log in and out, sessions, the caller’s own password',
  users: 'User accounts and their roles (admin)',
  tokens: 'Long-lived API tokens for CI jobs',
  'data sources': 'Connections shared by syncs (secrets sealed in etcd, masked in answers)',
  syncs: 'Syncs: create, change, pause, resume, duplicate, retry, delete, their history and dead letters',
  offsets: 'Where each sync resumes: read, set by hand (paused syncs, audited), history',
  status: 'What the agents report: state, rows, lag, health, errors, activity, live events',
  agents: 'Registered agents and the assignment of syncs to them',
  cluster: 'etcd cluster health',
  connectors: 'The connector catalogue: kinds, roles, modes, option schemas',
  'import/export': 'Syncs and data sources as one document, and Go Idra migration',
  notifications: 'Alert channels (webhook, Slack), the rules that use them, incidents and deliveries',
  health: 'Liveness, readiness and Prometheus metrics (no token)',
};

const ACCESS: Record<string, string> = {
  public: 'No token needed.',
  viewer: 'Any role (viewer, operator, admin).',
  operator: 'Operator or admin role.',
  admin: 'Admin role.',
};

/**
 * A stable operationId from the method and the path, each parameter as `By<Name>`:
 * `GET /api/v1/syncs/{id}/offset/history` → `getSyncsByIdOffsetHistory`, `GET /api/v1/syncs` → `getSyncs`.
 */
export function operationIdOf(method: string, url: string): string {
  const words = url
    .replace(/^\/api\/v1\//, '')
    .split('/')
    .filter(Boolean)
    .flatMap((segment) => (/^[:{]/.test(segment) ? ['by', segment.replace(/[:{}]/g, '')] : segment.split(/[^A-Za-z0-9]+/)));
  return [method.toLowerCase(), ...words.map((w) => w.charAt(0).toUpperCase() + w.slice(1))].join('');
}

type Json = Record<string, any>;

/** The document as integrators need it: bodies of action routes optional, error answers JSON on every route, tags described. */
function finish(doc: Json): Json {
  const used = new Set<string>();
  for (const operations of Object.values<Json>(doc.paths ?? {})) {
    for (const op of Object.values<Json>(operations)) {
      for (const tag of op.tags ?? []) used.add(tag);
      // fastify-swagger marks every body required; an action route's empty object may be left out.
      const body = op.requestBody?.content?.['application/json']?.schema;
      if (body && body.type === 'object' && Object.keys(body.properties ?? {}).length === 0) op.requestBody.required = false;
      for (const [status, response] of Object.entries<Json>(op.responses ?? {})) {
        const content = response.content ?? {};
        // Errors are JSON whatever the route streams on success (GET /events).
        if (Number(status) >= 400 && !content['application/json']) response.content = { 'application/json': Object.values(content)[0] };
        if (response.description === 'Default Response') response.description = Number(status) >= 400 ? 'Error: { code, message, details }' : 'OK';
      }
    }
  }
  const unknown = [...used].filter((t) => !TAGS[t]);
  if (unknown.length > 0) throw new Error(`OpenAPI tags without a description in plugins/docs.ts TAGS: ${unknown.join(', ')}`);
  return { ...doc, tags: [...used].sort().map((name) => ({ name, description: TAGS[name] })) };
}

/** The OpenAPI document (`/api/v1/openapi.json`) built from the route schemas, and its docs page (`/api/v1/docs`). */
export const docs = fp(async (app: FastifyInstance) => {
  for (const schema of [ErrorBodySchema, ...RESPONSE_SCHEMAS]) app.addSchema(schema);
  await app.register(swagger, {
    openapi: {
      openapi: '3.0.3',
      info: {
        title: 'Idra API',
        version: '1',
        description: 'Syncs, data sources, offsets and cluster state, over etcd. Errors are `{ code, message, details }` with a stable `IDRA_ERR_*` code.',
        contact: { name: 'Idra maintainers' },
      },
      servers: [
        {
          url: '{origin}',
          description: 'Where the API answers: an API server (IDRA_API_HOST:IDRA_API_PORT), or the web UI’s or Ingress’s origin in front of it',
          variables: { origin: { default: 'http://localhost:8080', description: 'scheme, host and port, e.g. https://idra.example.com' } },
        },
      ],
      components: {
        securitySchemes: { bearer: { type: 'http', scheme: 'bearer', description: 'a session token (POST /auth/login) or an API token (idra_…)' } },
      },
      security: [{ bearer: [] }],
    },
    // Shared schemas keep their $id as their name in components.schemas.
    refResolver: { buildLocalReference: (json, _base, _fragment, i) => (typeof json.$id === 'string' ? json.$id : `def-${i}`) },
    transform: ({ schema, url, route }) => {
      if (!schema || schema.hide) return { schema, url };
      const access = ACCESS[String((route.config as { access?: string } | undefined)?.access)] ?? '';
      const method = Array.isArray(route.method) ? route.method[0]! : route.method;
      return {
        schema: {
          ...schema,
          operationId: schema.operationId ?? operationIdOf(method, url),
          description: schema.description ?? `${schema.summary ?? ''}. ${access}`.trim(),
        },
        url,
      };
    },
    transformObject: (documents) => finish((documents as { openapiObject: Json }).openapiObject) as never,
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
