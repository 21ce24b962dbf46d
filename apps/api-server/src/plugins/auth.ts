import fp from 'fastify-plugin';
import jwt from '@fastify/jwt';
import rateLimit from '@fastify/rate-limit';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { Role } from '@idra/api-client';
import { ApiError, ForbiddenError, UnauthorizedError } from '../errors.ts';
import { hasRole, type Principal } from '../auth/roles.ts';
import { isApiToken } from '../auth/token-store.ts';

export interface AuthOptions {
  jwtSecret: string;
  sessionTtlMs: number;
  /** Login attempts per client IP and user name per minute. */
  loginRateLimit: number;
}

export interface SessionClaims {
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

export const userGone = (name: string) => new UnauthorizedError('IDRA_ERR_AUTH_USER_UNKNOWN', `user '${name}' no longer exists`);

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
  if (user.sessionVersion !== claims.sv)
    throw new UnauthorizedError('IDRA_ERR_AUTH_SESSION_ENDED', 'the session has ended (logout or password change): log in again');
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
  // Counted in etcd: every API server of the cluster shares one limit per client and user.
  await app.register(rateLimit, { global: false, store: app.idra.attempts.rateLimitStore() });
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
      throw new ForbiddenError('IDRA_ERR_AUTH_FORBIDDEN', `this needs the ${required} role; ${principal.name} is ${principal.role}`, {
        required,
        role: principal.role,
      });
    }
  });
});

/** The authenticated principal of a route that is not public. */
export function principalOf(req: FastifyRequest): Principal {
  if (!req.principal) throw new ApiError(500, 'IDRA_ERR_INTERNAL', 'route has no principal');
  return req.principal;
}
