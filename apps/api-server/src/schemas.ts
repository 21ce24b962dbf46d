import { Type, type TSchema } from '@sinclair/typebox';
import { IdSchema } from '@idra/core';
import type { IdraContext } from './context.ts';
import type { Principal } from './auth/roles.ts';
import type { Role } from '@idra/api-client';

/** Who may call a route: anyone, or an authenticated principal with at least this role. */
export type Access = 'public' | Role;

declare module 'fastify' {
  interface FastifyInstance {
    idra: IdraContext;
  }
  interface FastifyRequest {
    principal: Principal | undefined;
  }
  interface FastifyContextConfig {
    /** Required: routes without it are refused (fail closed). */
    access?: Access;
    /** Still allowed while the user must change their password (change-password, logout, me). */
    duringPasswordChange?: boolean;
  }
}

export const ErrorBodySchema = Type.Object(
  {
    code: Type.String({ description: 'stable code IDRA_ERR_<AREA>_<WHAT>' }),
    message: Type.String(),
    details: Type.Optional(
      Type.Object(
        { issues: Type.Optional(Type.Array(Type.Object({ path: Type.String(), message: Type.String() }))) },
        { additionalProperties: true, description: 'issues name each bad field; the other keys depend on the code (open: each code carries its own)' },
      ),
    ),
  },
  { $id: 'ErrorBody' },
);

/** The error answers a route may give, for the OpenAPI document. */
export function errors(...codes: Array<400 | 401 | 403 | 404 | 409 | 413 | 429 | 503>): Record<number, TSchema> {
  return Object.fromEntries([401, 403, ...codes].map((c) => [c, Type.Ref('ErrorBody')]));
}

export const IdParams = Type.Object({ id: IdSchema }, { additionalProperties: false });

export const RoleSchema = Type.Union([Type.Literal('admin'), Type.Literal('operator'), Type.Literal('viewer')], { description: 'admin, operator or viewer' });

export const UserNameSchema = Type.String({ pattern: '^[A-Za-z0-9][A-Za-z0-9_.@-]{0,63}$', description: 'letters, digits, _ . @ - (max 64)' });

export const PasswordSchema = Type.String({ minLength: 8, maxLength: 256, description: '8 to 256 characters' });

/** A body with no fields (action routes); an absent body counts as `{}`. */
export const EmptyBody = Type.Object({}, { additionalProperties: false });

/** Any object, for a document whose format the handler tells apart (an import: Idra's own or Go Idra's). */
export const AnyObject = Type.Object({}, { additionalProperties: true });

/** What a SQL connection's user can see of other sessions' open transactions (the watermark needs it). */
export const TransactionVisibilitySchema = Type.Object({
  visible: Type.Boolean({ description: "false: an id/timestamp sync from it runs only with delayMs above 0 or watermark 'delay-only'" }),
  reason: Type.Optional(Type.String()),
  grant: Type.Optional(Type.String({ description: 'the statement that lets the user see them' })),
});

/** Whether a cdc sync could read a SQL source's change log (PostgreSQL: wal_level = logical, REPLICATION, a free slot). */
export const ChangeLogReadinessSchema = Type.Object({
  ready: Type.Boolean({ description: "false: a sync in mode 'cdc' would not start; problems say what to change" }),
  problems: Type.Array(Type.String()),
  slots: Type.Optional(
    Type.Array(
      Type.Object({
        name: Type.String(),
        active: Type.Boolean(),
        lagBytes: Type.Number({ description: 'WAL bytes the server keeps for the slot' }),
        sync: Type.Optional(
          Type.Union([Type.String(), Type.Null()], {
            description: "the sync the slot belongs to; null: no sync has it — drop it, it keeps the server's WAL forever",
          }),
        ),
      }),
      { description: "Idra's replication slots (idra_…) on the server" },
    ),
  ),
});
