import { Type } from '@sinclair/typebox';
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import type { UserView } from '@idra/api-client';
import { ConflictError, ForbiddenError, NotFoundError } from '../errors.ts';
import { hashPassword } from '../auth/passwords.ts';
import { userView, type UserRecord, type UserStore } from '../auth/user-store.ts';
import { principalOf } from '../plugins/auth.ts';
import { PasswordSchema, RoleSchema, UserNameSchema, errors } from '../schemas.ts';

const UserParams = Type.Object({ name: UserNameSchema }, { additionalProperties: false });
const UserSchema = Type.Object({
  name: Type.String(),
  role: RoleSchema,
  mustChangePassword: Type.Boolean(),
  createdAt: Type.String(),
  updatedAt: Type.String(),
});
const CreateUser = Type.Object(
  {
    name: UserNameSchema,
    password: PasswordSchema,
    role: RoleSchema,
    mustChangePassword: Type.Optional(Type.Boolean({ description: 'default true: the user picks their own password at first login' })),
  },
  { additionalProperties: false },
);
const PatchUser = Type.Object(
  {
    role: Type.Optional(RoleSchema),
    password: Type.Optional(PasswordSchema),
    mustChangePassword: Type.Optional(Type.Boolean()),
    revokeTokens: Type.Optional(Type.Boolean({ description: 'true: also revoke every API token of the user (e.g. with a password reset after a leak)' })),
  },
  { additionalProperties: false, minProperties: 1 },
);

async function otherAdmins(users: UserStore, name: string): Promise<number> {
  return (await users.list()).filter((u) => u.role === 'admin' && u.name !== name).length;
}

/** `/users`: accounts and roles (admin only; everyone may read their own). */
export const userRoutes: FastifyPluginAsyncTypebox = async (app) => {
  const { users, tokens } = app.idra;
  const tags = ['users'];

  const find = async (name: string): Promise<UserRecord> => {
    const u = await users.get(name);
    if (!u) throw new NotFoundError('user', name);
    return u;
  };

  app.get(
    '/users',
    { config: { access: 'admin' }, schema: { tags, summary: 'List users', response: { 200: Type.Array(UserSchema), ...errors() } } },
    async (): Promise<UserView[]> => (await users.list()).map(userView),
  );

  app.post(
    '/users',
    { config: { access: 'admin' }, schema: { tags, summary: 'Create a user', body: CreateUser, response: { 201: UserSchema, ...errors(400, 409) } } },
    async (req, reply) => {
      const created = await users.create({ ...req.body, mustChangePassword: req.body.mustChangePassword ?? true });
      if (!created) throw new ConflictError('IDRA_ERR_USER_EXISTS', `user '${req.body.name}' already exists`);
      req.log.info({ user: created.name, role: created.role, by: principalOf(req).name }, 'user created');
      return reply.code(201).send(userView(created));
    },
  );

  app.get(
    '/users/:name',
    {
      config: { access: 'viewer' },
      schema: { tags, summary: 'One user (admins: anyone; others: themselves)', params: UserParams, response: { 200: UserSchema, ...errors(404) } },
    },
    async (req) => {
      const p = principalOf(req);
      if (p.role !== 'admin' && p.name !== req.params.name) throw new ForbiddenError('IDRA_ERR_AUTH_FORBIDDEN', 'only admins can read other users');
      return userView(await find(req.params.name));
    },
  );

  app.patch(
    '/users/:name',
    {
      config: { access: 'admin' },
      schema: {
        tags,
        summary: "Change role, reset password, require a password change or revoke the user's API tokens",
        params: UserParams,
        body: PatchUser,
        response: { 200: UserSchema, ...errors(400, 404, 409) },
      },
    },
    async (req) => {
      const user = await find(req.params.name);
      const { role, password, mustChangePassword, revokeTokens } = req.body;
      if (role && role !== 'admin' && user.role === 'admin' && (await otherAdmins(users, user.name)) === 0) {
        throw new ConflictError('IDRA_ERR_USER_LAST_ADMIN', `'${user.name}' is the last admin: make another user admin first`);
      }
      const updated: UserRecord = { ...user };
      if (role) updated.role = role;
      if (mustChangePassword !== undefined) updated.mustChangePassword = mustChangePassword;
      if (password) {
        updated.passwordHash = await hashPassword(password);
        updated.mustChangePassword = mustChangePassword ?? true;
      }
      // A new role or password ends the user's sessions: they log in again with what now holds.
      if (role || password) updated.sessionVersion = user.sessionVersion + 1;
      if (!(await users.put(updated))) throw new NotFoundError('user', user.name);
      const tokensRevoked = revokeTokens ? await tokens.revokeOwnedBy(user.name) : 0;
      req.log.info({ user: user.name, role: updated.role, passwordReset: Boolean(password), tokensRevoked, by: principalOf(req).name }, 'user updated');
      return userView(updated);
    },
  );

  app.delete(
    '/users/:name',
    {
      config: { access: 'admin' },
      schema: { tags, summary: 'Delete a user and revoke their API tokens', params: UserParams, response: { 204: Type.Null(), ...errors(404, 409) } },
    },
    async (req, reply) => {
      const user = await find(req.params.name);
      if (user.name === principalOf(req).name) throw new ConflictError('IDRA_ERR_USER_SELF_DELETE', 'you cannot delete yourself');
      if (user.role === 'admin' && (await otherAdmins(users, user.name)) === 0)
        throw new ConflictError('IDRA_ERR_USER_LAST_ADMIN', `'${user.name}' is the last admin`);
      await users.delete(user.name);
      const revoked = await tokens.revokeOwnedBy(user.name);
      req.log.info({ user: user.name, tokensRevoked: revoked, by: principalOf(req).name }, 'user deleted');
      return reply.code(204).send(null);
    },
  );
};
