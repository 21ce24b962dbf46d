import { Type } from '@sinclair/typebox';
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import type { ApiTokenView, CreatedApiToken } from '@idra/api-client';
import { ForbiddenError, NotFoundError } from '../errors.ts';
import { hasRole } from '../auth/roles.ts';
import { tokenView } from '../auth/token-store.ts';
import { principalOf } from '../plugins/auth.ts';
import { RoleSchema, errors } from '../schemas.ts';

const TokenParams = Type.Object({ id: Type.String({ pattern: '^[a-f0-9]{16}$', description: 'token id (16 hex digits)' }) }, { additionalProperties: false });
const TokenSchema = Type.Object({
  id: Type.String(),
  name: Type.String(),
  role: RoleSchema,
  owner: Type.String(),
  createdAt: Type.String(),
  lastUsedAt: Type.Union([Type.String(), Type.Null()]),
  expiresAt: Type.Union([Type.String(), Type.Null()]),
});
const CreateToken = Type.Object(
  {
    name: Type.String({ minLength: 1, maxLength: 100, pattern: '^[^\\u0000-\\u001f]*$', description: 'what the token is for, e.g. "ci-deploy"' }),
    role: Type.Optional(RoleSchema),
    expiresInDays: Type.Optional(Type.Integer({ minimum: 1, maximum: 3650 })),
  },
  { additionalProperties: false },
);

/** `/tokens`: API tokens for CI jobs. Anyone may hold tokens up to their own role; admins see and revoke all. */
export const tokenRoutes: FastifyPluginAsyncTypebox = async (app) => {
  const { tokens } = app.idra;
  const tags = ['tokens'];

  app.get(
    '/tokens',
    {
      config: { access: 'viewer' },
      schema: { tags, summary: 'List API tokens (admins: all; others: their own)', response: { 200: Type.Array(TokenSchema), ...errors() } },
    },
    async (req): Promise<ApiTokenView[]> => {
      const p = principalOf(req);
      return (await tokens.list()).filter((t) => p.role === 'admin' || t.owner === p.name).map(tokenView);
    },
  );

  app.post(
    '/tokens',
    {
      config: { access: 'viewer' },
      schema: {
        tags,
        summary: 'Create an API token (needs a login session); the secret is returned this once',
        body: CreateToken,
        response: { 201: Type.Intersect([TokenSchema, Type.Object({ token: Type.String() })]), ...errors(400) },
      },
    },
    async (req, reply) => {
      const p = principalOf(req);
      // A leaked token must not be able to mint others that outlive its revocation.
      if (p.via !== 'session') throw new ForbiddenError('IDRA_ERR_AUTH_SESSION_REQUIRED', 'creating an API token needs a login session, not an API token');
      const role = req.body.role ?? p.role;
      if (!hasRole(p.role, role)) throw new ForbiddenError('IDRA_ERR_AUTH_FORBIDDEN', `a ${p.role} cannot create a ${role} token`);
      const expiresAt = req.body.expiresInDays ? new Date(Date.now() + req.body.expiresInDays * 86_400_000).toISOString() : null;
      const created = await tokens.create({ name: req.body.name, role, owner: p.name, ownerId: p.userId, expiresAt });
      req.log.info({ tokenId: created.id, role, owner: p.name }, 'API token created');
      const body: CreatedApiToken = { ...tokenView(created), token: created.token };
      return reply.code(201).send(body);
    },
  );

  app.delete(
    '/tokens/:id',
    { config: { access: 'viewer' }, schema: { tags, summary: 'Revoke an API token', params: TokenParams, response: { 204: Type.Null(), ...errors(404) } } },
    async (req, reply) => {
      const p = principalOf(req);
      const token = await tokens.get(req.params.id);
      // Someone else's token is reported missing rather than forbidden: its id tells nothing.
      if (!token || (p.role !== 'admin' && token.owner !== p.name)) throw new NotFoundError('API token', req.params.id);
      await tokens.revoke(token.id);
      req.log.info({ tokenId: token.id, by: p.name }, 'API token revoked');
      return reply.code(204).send(null);
    },
  );
};
