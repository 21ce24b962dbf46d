import { Type } from '@sinclair/typebox';
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { OffsetStoreError, PositionSchema, SyncLock, offsetScopeOf, storedKind, type OffsetChange, type Position } from '@idra/core';
import type { OffsetView } from '@idra/api-client';
import { BadRequestError, ConflictError, NotFoundError } from '../errors.ts';
import { actorName } from '../auth/roles.ts';
import { principalOf } from '../plugins/auth.ts';
import { storedSync } from '../sync-input.ts';
import { IdParams, errors } from '../schemas.ts';

const SetOffsetBody = Type.Object(
  {
    position: Type.Union([PositionSchema, Type.Null()], { description: 'the new position; null starts the sync over' }),
    reason: Type.String({ minLength: 3, maxLength: 500, description: 'why: kept in the offset history' }),
  },
  { additionalProperties: false },
);

/** `/syncs/:id/offset`: read, change (admin, paused syncs only, audited) and history. */
export const offsetRoutes: FastifyPluginAsyncTypebox = async (app) => {
  const { offsets, etcd } = app.idra;
  const tags = ['offsets'];

  const view = async (syncId: string): Promise<OffsetView> => {
    const [sync, offset, runningOn] = await Promise.all([storedSync(app.idra, syncId), offsets.load(syncId), SyncLock.owner(etcd.ns, syncId)]);
    if (!sync && !offset) throw new NotFoundError('sync', syncId);
    return { syncId, offset: offset ?? null, enabled: sync ? sync.enabled !== false : false, runningOn: runningOn ?? null };
  };

  app.get(
    '/syncs/:id/offset',
    {
      config: { access: 'viewer' },
      schema: {
        tags,
        summary: "A sync's stored offset, and whether it can be changed now",
        params: IdParams,
        response: { 200: Type.Ref('OffsetView'), ...errors(404) },
      },
    },
    async (req) => view(req.params.id),
  );

  app.put(
    '/syncs/:id/offset',
    {
      config: { access: 'admin' },
      schema: {
        tags,
        summary: 'Change the offset of a paused sync whose agent has stopped; recorded with who, when, old, new and reason',
        params: IdParams,
        body: SetOffsetBody,
        response: { 200: Type.Ref('OffsetView'), ...errors(400, 404, 409) },
      },
    },
    async (req) => {
      const id = req.params.id;
      const sync = await storedSync(app.idra, id);
      if (!sync) throw new NotFoundError('sync', id);
      if (sync.enabled !== false) {
        throw new ConflictError(
          'IDRA_ERR_OFFSET_SYNC_ENABLED',
          `sync '${id}' is enabled: pause it first (POST /api/v1/syncs/${id}/pause?wait=true), then change its offset`,
        );
      }
      const owner = await SyncLock.owner(etcd.ns, id);
      if (owner) {
        throw new ConflictError(
          'IDRA_ERR_OFFSET_SYNC_RUNNING',
          `sync '${id}' is paused but agent ${owner} still holds its lock (finishing its batch): retry once it has stopped`,
          { agentId: owner },
        );
      }
      const position = req.body.position as Position | null;
      const kind = storedKind(sync.mode);
      if (!kind)
        throw new BadRequestError('IDRA_ERR_OFFSET_NOT_STORED', `sync '${id}' uses mode '${sync.mode}': it resumes from the destination and stores no offset`);
      if (position && position.kind !== kind) {
        throw new BadRequestError('IDRA_ERR_OFFSET_KIND', `position.kind: must be '${kind}' for a sync in mode '${sync.mode}'`, [
          { path: 'position.kind', message: `must be '${kind}' for mode '${sync.mode}'` },
        ]);
      }
      try {
        // The position is meant for the sync as it is now: that is what it points into from here on.
        const scope = offsetScopeOf(await app.idra.configs.resolveSync(sync));
        await offsets.set(id, position, { by: actorName(principalOf(req)), reason: req.body.reason, scope });
      } catch (err) {
        // The lock appeared between the check and the write: the store's transaction refused.
        if (err instanceof OffsetStoreError) throw new ConflictError('IDRA_ERR_OFFSET_SYNC_RUNNING', err.message);
        throw err;
      }
      req.log.info({ syncId: id, by: principalOf(req).name, reason: req.body.reason }, 'offset changed by hand');
      return view(id);
    },
  );

  app.get(
    '/syncs/:id/offset/history',
    {
      config: { access: 'viewer' },
      schema: {
        tags,
        summary: 'Manual offset changes: who, when, old, new, reason (oldest first)',
        params: IdParams,
        response: { 200: Type.Array(Type.Ref('OffsetChange')), ...errors() },
      },
    },
    async (req): Promise<OffsetChange[]> => offsets.history(req.params.id),
  );
};
