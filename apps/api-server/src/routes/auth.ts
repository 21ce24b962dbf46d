import { Type } from '@sinclair/typebox';
import type { FastifyRequest } from 'fastify';
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import type { AuthSetup, LoginResult, WhoAmI } from '@idra/api-client';
import { BadRequestError, UnauthorizedError } from '../errors.ts';
import { UNUSABLE_HASH, hashPassword, verifyPassword } from '../auth/passwords.ts';
import { attemptLimit } from '../auth/attempt-counter.ts';
import { userView, type UserRecord } from '../auth/user-store.ts';
import { EmptyBody, PasswordSchema, errors } from '../schemas.ts';
import { principalOf, userGone, type AuthOptions, type SessionClaims } from '../plugins/auth.ts';

const LoginBody = Type.Object(
  { username: Type.String({ minLength: 1, maxLength: 64 }), password: Type.String({ minLength: 1, maxLength: 256 }) },
  { additionalProperties: false },
);
const PasswordBody = Type.Object(
  { currentPassword: Type.String({ minLength: 1, maxLength: 256 }), newPassword: PasswordSchema },
  { additionalProperties: false },
);
const LoginResultSchema = Type.Object({ token: Type.String(), expiresAt: Type.String(), mustChangePassword: Type.Boolean(), user: Type.Ref('UserView') });

/** At most `max` password checks per minute per client address and user name. */
function passwordGuesses(max: number, what: string, userOf: (req: FastifyRequest) => string) {
  return attemptLimit(max, what, (req) => `${req.ip}|${userOf(req)}`, 'IDRA_ERR_AUTH_RATE_LIMITED');
}

/** `/auth/*`: login, refresh, logout, change own password, who am I. */
export const authRoutes: FastifyPluginAsyncTypebox<AuthOptions> = async (app, opts) => {
  const { users, metrics } = app.idra;

  const session = (user: UserRecord): LoginResult => ({
    token: app.jwt.sign({ sub: user.name, uid: user.id, sv: user.sessionVersion } satisfies SessionClaims),
    expiresAt: new Date(Date.now() + Math.floor(opts.sessionTtlMs / 1000) * 1000).toISOString(),
    mustChangePassword: user.mustChangePassword,
    user: userView(user),
  });

  const sessionUser = async (req: FastifyRequest): Promise<UserRecord> => {
    const p = principalOf(req);
    if (p.via !== 'session') throw new BadRequestError('IDRA_ERR_AUTH_SESSION_REQUIRED', 'this needs a login session, not an API token');
    const user = await users.get(p.name);
    if (!user || user.id !== p.userId) throw userGone(p.name);
    return user;
  };

  app.post(
    '/auth/login',
    {
      config: {
        access: 'public',
        rateLimit: passwordGuesses(opts.loginRateLimit, 'login', (req) => String((req.body as { username?: unknown } | undefined)?.username ?? '')),
      },
      schema: { tags: ['auth'], summary: 'Log in; returns a session token (JWT)', body: LoginBody, response: { 200: LoginResultSchema, ...errors(400, 429) } },
    },
    async (req) => {
      const user = await users.get(req.body.username);
      const ok = await verifyPassword(req.body.password, user?.passwordHash ?? UNUSABLE_HASH);
      if (!user || !ok) {
        metrics.logins.inc({ outcome: 'refused' });
        throw new UnauthorizedError('IDRA_ERR_AUTH_INVALID_CREDENTIALS', 'wrong user name or password');
      }
      metrics.logins.inc({ outcome: 'ok' });
      req.log.info({ user: user.name }, 'login');
      return session(user);
    },
  );

  app.get(
    '/auth/setup',
    {
      config: { access: 'public' },
      schema: {
        tags: ['auth'],
        summary: "For the login page: whether the first start's admin/admin still works (nothing else is said to anonymous callers)",
        response: { 200: Type.Object({ defaultAdminPassword: Type.Boolean() }) },
      },
    },
    async (): Promise<AuthSetup> => ({ defaultAdminPassword: await users.defaultAdminPasswordInForce() }),
  );

  app.post(
    '/auth/refresh',
    {
      config: { access: 'viewer' },
      schema: { tags: ['auth'], summary: 'A new session token for the current session', body: EmptyBody, response: { 200: LoginResultSchema, ...errors(400) } },
    },
    async (req) => session(await sessionUser(req)),
  );

  app.post(
    '/auth/logout',
    {
      config: { access: 'viewer', duringPasswordChange: true },
      schema: {
        tags: ['auth'],
        summary: 'Ends every session of the caller (API tokens are revoked with DELETE /tokens/{id})',
        body: EmptyBody,
        response: { 204: Type.Null(), ...errors() },
      },
    },
    async (req, reply) => {
      const p = principalOf(req);
      if (p.via === 'session') {
        const user = await sessionUser(req);
        await users.put({ ...user, sessionVersion: user.sessionVersion + 1 });
      }
      return reply.code(204).send(null);
    },
  );

  app.post(
    '/auth/password',
    {
      // Guesses of currentPassword from a stolen session are limited like logins.
      config: {
        access: 'viewer',
        duringPasswordChange: true,
        rateLimit: passwordGuesses(opts.loginRateLimit, 'password change', (req) => principalOf(req).name),
      },
      schema: {
        tags: ['auth'],
        summary: "Changes the caller's password; returns a new session (the others end)",
        body: PasswordBody,
        response: { 200: LoginResultSchema, ...errors(400, 429) },
      },
    },
    async (req) => {
      const user = await sessionUser(req);
      if (!(await verifyPassword(req.body.currentPassword, user.passwordHash))) {
        throw new BadRequestError('IDRA_ERR_AUTH_WRONG_PASSWORD', 'currentPassword: is not the current password', [
          { path: 'currentPassword', message: 'is not the current password' },
        ]);
      }
      if (req.body.newPassword === req.body.currentPassword) {
        throw new BadRequestError('IDRA_ERR_AUTH_PASSWORD_UNCHANGED', 'newPassword: must differ from the current password', [
          { path: 'newPassword', message: 'must differ from the current password' },
        ]);
      }
      const updated: UserRecord = {
        ...user,
        passwordHash: await hashPassword(req.body.newPassword),
        mustChangePassword: false,
        sessionVersion: user.sessionVersion + 1,
      };
      await users.put(updated);
      req.log.info({ user: user.name }, 'password changed');
      return session(updated);
    },
  );

  app.get(
    '/auth/me',
    {
      config: { access: 'viewer', duringPasswordChange: true },
      schema: { tags: ['auth'], summary: 'Who the caller is authenticated as', response: { 200: Type.Ref('WhoAmI'), ...errors() } },
    },
    async (req): Promise<WhoAmI> => {
      const p = principalOf(req);
      return { name: p.name, role: p.role, via: p.via, ...(p.tokenId ? { tokenId: p.tokenId } : {}), mustChangePassword: p.mustChangePassword };
    },
  );
};
