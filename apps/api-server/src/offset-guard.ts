import { Type } from '@sinclair/typebox';
import {
  SyncLock,
  describeScopeChanges,
  offsetScopeOf,
  positionOf,
  scopeChanges,
  type DataSource,
  type HistoryEntry,
  type OffsetScope,
  type SyncConfig,
} from '@idra/core';
import type { Role } from '@idra/api-client';
import { BadRequestError, ConflictError, ForbiddenError } from './errors.ts';
import { hasRole } from './auth/roles.ts';
import type { IdraContext } from './context.ts';

/** `?offset=reset|keep&confirm=<sync id>`: the choice a change of what a stored offset points into needs. */
export const OffsetDecisionQuery = Type.Object({
  offset: Type.Optional(
    Type.Union([Type.Literal('reset'), Type.Literal('keep')], {
      description: 'when the change moves what the stored offset points into: reset it (start over) or keep it',
    }),
  ),
  confirm: Type.Optional(Type.String({ maxLength: 128, description: 'offset=keep: the sync id, typed by the user' })),
});

export interface OffsetDecision {
  offset?: 'reset' | 'keep' | undefined;
  confirm?: string | undefined;
}

/** A decision taken on a stored offset: applied before the sync is stored, recorded in its history. */
export interface ScopeResolution {
  record: NonNullable<HistoryEntry['offset']>;
  apply(by: string, reason: string | undefined): Promise<void>;
}

async function scopeOf(ctx: IdraContext, config: SyncConfig, pending?: ReadonlyMap<string, DataSource>): Promise<OffsetScope> {
  return offsetScopeOf(await ctx.configs.resolveSync(config, pending));
}

/**
 * A sync about to be stored whose change would make its stored offset point into something else
 * (another table or query, cursor, tiebreaker, key or mode) needs an explicit choice: 409 naming
 * the changes without one; with one (admin, sync paused and stopped) the offset is reset or kept
 * under the new scope. Undefined when nothing needs deciding.
 */
export async function guardOffsetScope(
  ctx: IdraContext,
  next: SyncConfig,
  stored: SyncConfig | undefined,
  decision: OffsetDecision,
  role: Role,
  pending?: ReadonlyMap<string, DataSource>,
): Promise<ScopeResolution | undefined> {
  const offset = await ctx.offsets.load(next.id);
  if (!offset) return undefined;
  const newScope = await scopeOf(ctx, next, pending);
  // Offsets written before scopes were recorded: compared through the stored sync.
  const oldScope = offset.scope ?? (stored ? await scopeOf(ctx, stored).catch(() => undefined) : undefined);
  const changes = oldScope ? scopeChanges(oldScope, newScope) : [{ field: 'source' as const, old: '(not recorded)', new: newScope.source }];
  if (changes.length === 0) return undefined;
  const id = next.id;
  const what = describeScopeChanges(changes);
  if (!decision.offset) {
    throw new ConflictError(
      'IDRA_ERR_OFFSET_SCOPE_CHANGED',
      `sync '${id}' has a stored offset that this change would make point into something else (${what}): choose offset=reset (start over) or offset=keep&confirm=${id} (admin; the sync paused)`,
      { changes, offset: positionOf(offset), choices: ['reset', 'keep'] },
    );
  }
  if (!hasRole(role, 'admin'))
    throw new ForbiddenError('IDRA_ERR_AUTH_FORBIDDEN', `resetting or keeping the offset of sync '${id}' needs the admin role`, { required: 'admin' });
  if (decision.offset === 'keep' && decision.confirm !== id) {
    throw new BadRequestError('IDRA_ERR_OFFSET_CONFIRM', `confirm: type the sync id '${id}' to keep its offset across this change`, [
      { path: 'confirm', message: `must be the sync id '${id}'` },
    ]);
  }
  if (stored && stored.enabled !== false) {
    throw new ConflictError(
      'IDRA_ERR_OFFSET_SYNC_ENABLED',
      `sync '${id}' is enabled: pause it first (POST /api/v1/syncs/${id}/pause?wait=true), then change it with offset=${decision.offset}`,
    );
  }
  const owner = await SyncLock.owner(ctx.etcd.ns, id);
  if (owner)
    throw new ConflictError(
      'IDRA_ERR_OFFSET_SYNC_RUNNING',
      `sync '${id}' is paused but agent ${owner} still holds its lock (finishing its batch): retry once it has stopped`,
      { agentId: owner },
    );
  const choice = decision.offset;
  return {
    record: { decision: choice, changes },
    apply: async (by, reason) => {
      const why = `${choice === 'reset' ? 'reset' : 'kept'} on a change of ${what}${reason ? `: ${reason}` : ''}`;
      await ctx.offsets.set(id, choice === 'reset' ? null : positionOf(offset), { by, reason: why, scope: newScope });
    },
  };
}

/**
 * A data source some syncs read from may move their offsets (another server or database): each
 * such sync needs the decision; `confirm` is then the data source's id, typed by the user.
 */
export async function guardDataSourceReaders(ctx: IdraContext, ds: DataSource, decision: OffsetDecision, role: Role): Promise<ScopeResolution[]> {
  const readers = (await ctx.configs.listSyncs()).syncs.filter((s) => s.source.dataSourceId === ds.id);
  const pending = new Map([[ds.id, ds]]);
  const resolutions: ScopeResolution[] = [];
  for (const sync of readers) {
    const r = await guardOffsetScope(ctx, sync, sync, { offset: decision.offset, confirm: decision.confirm === ds.id ? sync.id : undefined }, role, pending);
    if (r) resolutions.push(r);
  }
  return resolutions;
}

/** True for the 409 of a change that would move a stored offset. */
export const movesOffset = (err: unknown): err is ConflictError => err instanceof ConflictError && err.code === 'IDRA_ERR_OFFSET_SCOPE_CHANGED';
