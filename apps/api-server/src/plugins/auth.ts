import fp from 'fastify-plugin';
import jwt from '@fastify/jwt';
import rateLimit from '@fastify/rate-limit';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { Type } from '@sinclair/typebox';
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import type { LoginResult, Role, WhoAmI } from '@idra/api-client';
import { ApiError, BadRequestError, ForbiddenError, UnauthorizedError } from '../errors.ts';
import { hasRole, type Principal } from '../auth/roles.ts';
import { UNUSABLE_HASH, hashPassword, verifyPassword } from '../auth/passwords.ts';
import { isApiToken } from '../auth/token-store.ts';
import { userView, type UserRecord } from '../auth/user-store.ts';
import { EmptyBody, PasswordSchema, errors } from '../schemas.ts';

export interface AuthOptions {
  jwtSecret: string;
  sessionTtlMs: number;
  /** Login attempts per client IP and user name per minute. */
  loginRateLimit: number;
}

interface SessionClaims {
  /** User name. */
  sub: string;
  /** The user's never-reused id: a session of a deleted user does not work for a new user of the same name. */
  uid: string;
  /** The user's sessionVersion when the token was issued. */
  sv: number;
}

function bearer(req: FastifyRequest): string {
  const header = req.headers.authorization;
  if (!header) throw new UnauthorizedError('IDRA_ERR_AUTH_REQUIRED', 'authentication required: send "Authorization: Bearer <session or API token>"');
  const m = /^Bearer\s+(\S+)$/i.exec(header);
  if (!m) throw new UnauthorizedError('IDRA_ERR_AUTH_REQUIRED', 'the Authorization header must be "Bearer <token>"');
  return m[1]!;
}

const userGone = (name: string) => new UnauthorizedError('IDRA_ERR_AUTH_USER_UNKNOWN', `user '${name}' no longer exists`);

/** The lesser of two roles. */
function lesserRole(a: Role, b: Role): Role {
  return hasRole(a, b) ? b : a;
}

/**
 * Who the request's credentials stand for, checked against etcd on every request: a revoked token,
 * an ended session, a deleted or re-created user, a demoted owner all take effect at once.
 */
export async function authenticate(app: FastifyInstance, req: FastifyRequest): Promise<Principal> {
  const token = bearer(req);
  const { users, tokens } = app.idra;
  if (isApiToken(token)) {
    const record = await tokens.verify(token);
    if (!record) throw new UnauthorizedError('IDRA_ERR_AUTH_TOKEN_REVOKED', 'the API token is unknown, revoked or expired');
    const owner = await users.get(record.owner);
    if (!owner) throw userGone(record.owner);
    if (!record.ownerId) await tokens.bindOwner(record, owner.id);
    else if (record.ownerId !== owner.id) throw userGone(record.owner);
    // A token never does more than its owner may do now.
    const role = lesserRole(record.role, owner.role);
    return { name: owner.name, userId: owner.id, role, via: 'api-token', tokenId: record.id, mustChangePassword: false };
  }
  let claims: SessionClaims & { exp?: number };
  try {
    claims = app.jwt.verify<SessionClaims & { exp?: number }>(token);
  } catch (err) {
    const expired = (err as { code?: string }).code === 'FAST_JWT_EXPIRED';
    throw new UnauthorizedError(
      expired ? 'IDRA_ERR_AUTH_SESSION_EXPIRED' : 'IDRA_ERR_AUTH_TOKEN_INVALID',
      expired ? 'the session has expired: log in again' : 'the token is not a valid session or API token',
    );
  }
  const user = await users.get(claims.sub);
  if (!user || user.id !== claims.uid) throw userGone(claims.sub);
  if (user.sessionVersion !== claims.sv) throw new UnauthorizedError('IDRA_ERR_AUTH_SESSION_ENDED', 'the session has ended (logout or password change): log in again');
  return {
    name: user.name,
    userId: user.id,
    role: user.role,
    via: 'session',
    mustChangePassword: user.mustChangePassword,
    ...(claims.exp ? { expiresAt: claims.exp * 1000 } : {}),
  };
}

/** JWT sessions, API tokens and role checks for every route (routes declare `config.access`). */
export const authentication = fp(async (app: FastifyInstance, opts: AuthOptions) => {
  await app.register(jwt, { secret: opts.jwtSecret, sign: { expiresIn: Math.floor(opts.sessionTtlMs / 1000) } });
  await app.register(rateLimit, { global: false });
  app.decorateRequest('principal', undefined);
  app.addHook('onRequest', async (req) => {
    if (req.is404) return;
    const { access, duringPasswordChange } = req.routeOptions.config;
    if (access === 'public') return;
    const principal = await authenticate(app, req);
    req.principal = principal;
    if (principal.mustChangePassword && !duringPasswordChange) {
      throw new ForbiddenError('IDRA_ERR_AUTH_PASSWORD_CHANGE_REQUIRED', 'the password must be changed first: POST /api/v1/auth/password');
    }
    // A route that forgot to declare its access is admin-only: fail closed.
    const required = access ?? 'admin';
    if (!hasRole(principal.role, required)) {
      throw new ForbiddenError('IDRA_ERR_AUTH_FORBIDDEN', `this needs the ${required} role; ${principal.name} is ${principal.role}`, { required, role: principal.role });
    }
  });
});

/** The authenticated principal of a route that is not public. */
export function principalOf(req: FastifyRequest): Principal {
  if (!req.principal) throw new ApiError(500, 'IDRA_ERR_INTERNAL', 'route has no principal');
  return req.principal;
}

const LoginBody = Type.Object({ username: Type.String({ minLength: 1, maxLength: 64 }), password: Type.String({ minLength: 1, maxLength: 256 }) }, { additionalProperties: false });
const PasswordBody = Type.Object({ currentPassword: Type.String({ minLength: 1, maxLength: 256 }), newPassword: PasswordSchema }, { additionalProperties: false });
const LoginResultSchema = Type.Object({ token: Type.String(), expiresAt: Type.String(), mustChangePassword: Type.Boolean(), user: Type.Object({}, { additionalProperties: true }) });

/** At most `max` password checks per minute per client address and user name. */
function passwordGuesses(max: number, what: string, userOf: (req: FastifyRequest) => string) {
  return {
    max,
    timeWindow: 60_000,
    hook: 'preHandler' as const,
    keyGenerator: (req: FastifyRequest) => `${what}|${req.ip}|${userOf(req)}`,
    errorResponseBuilder: (_req: FastifyRequest, ctx: { after: string }) => new ApiError(429, 'IDRA_ERR_AUTH_RATE_LIMITED', `too many ${what} attempts: retry in ${ctx.after}`),
  };
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

  app.post(
    '/auth/refresh',
    { config: { access: 'viewer' }, schema: { tags: ['auth'], summary: 'A new session token for the current session', body: EmptyBody, response: { 200: LoginResultSchema, ...errors(400) } } },
    async (req) => session(await sessionUser(req)),
  );

  app.post(
    '/auth/logout',
    {
      config: { access: 'viewer', duringPasswordChange: true },
      schema: { tags: ['auth'], summary: "Ends every session of the caller (API tokens are revoked with DELETE /tokens/{id})", body: EmptyBody, response: { 204: Type.Null(), ...errors() } },
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
      config: { access: 'viewer', duringPasswordChange: true, rateLimit: passwordGuesses(opts.loginRateLimit, 'password change', (req) => principalOf(req).name) },
      schema: { tags: ['auth'], summary: "Changes the caller's password; returns a new session (the others end)", body: PasswordBody, response: { 200: LoginResultSchema, ...errors(400, 429) } },
    },
    async (req) => {
      const user = await sessionUser(req);
      if (!(await verifyPassword(req.body.currentPassword, user.passwordHash))) {
        throw new BadRequestError('IDRA_ERR_AUTH_WRONG_PASSWORD', 'currentPassword: is not the current password', [{ path: 'currentPassword', message: 'is not the current password' }]);
      }
      if (req.body.newPassword === req.body.currentPassword) {
        throw new BadRequestError('IDRA_ERR_AUTH_PASSWORD_UNCHANGED', 'newPassword: must differ from the current password', [{ path: 'newPassword', message: 'must differ from the current password' }]);
      }
      const updated: UserRecord = { ...user, passwordHash: await hashPassword(req.body.newPassword), mustChangePassword: false, sessionVersion: user.sessionVersion + 1 };
      await users.put(updated);
      req.log.info({ user: user.name }, 'password changed');
      return session(updated);
    },
  );

  app.get(
    '/auth/me',
    { config: { access: 'viewer', duringPasswordChange: true }, schema: { tags: ['auth'], summary: 'Who the caller is authenticated as', response: { 200: Type.Object({}, { additionalProperties: true }), ...errors() } } },
    async (req): Promise<WhoAmI> => {
      const p = principalOf(req);
      return { name: p.name, role: p.role, via: p.via, ...(p.tokenId ? { tokenId: p.tokenId } : {}), mustChangePassword: p.mustChangePassword };
    },
  );
};
