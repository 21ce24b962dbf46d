import { Type } from '@sinclair/typebox';
import type { FastifyRequest } from 'fastify';
import {
  diffDocuments,
  type AlsoWrite,
  type DataSource,
  type HistoryAction,
  type HistoryChange,
  type HistoryEntry,
  type HistoryKind,
  type SyncConfig,
} from '@idra/core';
import type { IdraContext } from './context.ts';
import { actorName } from './auth/roles.ts';
import { principalOf } from './plugins/auth.ts';

/** `?reason=`: why a change is made, kept in its history entry. */
export const ReasonQuery = Type.Object({ reason: Type.Optional(Type.String({ minLength: 1, maxLength: 500, description: 'why: kept in the history' })) });

/**
 * A recorded value with its secrets masked by core's one rule (the diff runs on decrypted documents,
 * so a changed secret shows as changed): the value is put back at its path, so that every key on
 * the way counts (`source.options.headers.X-API-Key`, `connection.options.ssl.key`).
 */
function maskValue(ctx: IdraContext, path: string, value: unknown): unknown {
  if (value === undefined) return undefined;
  const parts = path.split('.');
  const doc = parts.reduceRight<unknown>((inner, key) => ({ [key]: inner }), value);
  return parts.reduce<unknown>((v, key) => (v as Record<string, unknown>)[key], ctx.secrets.mask(doc));
}

/** The sync with its secrets decrypted wherever they are, so that the diff sees real values. */
function opened(ctx: IdraContext, s: SyncConfig | undefined): SyncConfig | undefined {
  return s && { ...s, source: ctx.secrets.open(s.source), destination: ctx.secrets.open(s.destination) };
}

/** Who, why and how, for the history entries of one request. */
export interface AuditContext {
  by: string;
  reason?: string | undefined;
  via?: string | undefined;
}

export function auditOf(req: FastifyRequest, via?: string): AuditContext {
  const reason = (req.query as { reason?: string } | undefined)?.reason;
  return { by: actorName(principalOf(req)), ...(reason ? { reason } : {}), ...(via ? { via } : {}) };
}

/** Builds the history entries written with each change, and keeps the history bounded. */
export class Audit {
  private readonly ctx: IdraContext;
  constructor(ctx: IdraContext) {
    this.ctx = ctx;
  }

  private changes(before: unknown, after: unknown): HistoryChange[] {
    return diffDocuments(before, after).map((c) => {
      const masked: HistoryChange = { path: c.path };
      if ('old' in c) masked.old = maskValue(this.ctx, c.path, c.old);
      if ('new' in c) masked.new = maskValue(this.ctx, c.path, c.new);
      return masked;
    });
  }

  private write(
    kind: HistoryKind,
    objectId: string,
    action: HistoryAction,
    who: AuditContext,
    changes: HistoryChange[],
    offset?: HistoryEntry['offset'],
  ): AlsoWrite {
    const { key, value } = this.ctx.history.entry({
      kind,
      objectId,
      action,
      by: who.by,
      reason: who.reason,
      via: who.via,
      changes,
      ...(offset ? { offset } : {}),
    });
    return [{ key, value }];
  }

  /** The entry for a change of a sync (`before` and `after` as stored: sealed secrets are opened to compare). */
  sync(action: HistoryAction, who: AuditContext, before: SyncConfig | undefined, after: SyncConfig | undefined, offset?: HistoryEntry['offset']): AlsoWrite {
    const id = (after ?? before)!.id;
    return this.write('sync', id, action, who, this.changes(opened(this.ctx, before), opened(this.ctx, after)), offset);
  }

  dataSource(action: HistoryAction, who: AuditContext, before: DataSource | undefined, after: DataSource | undefined): AlsoWrite {
    const open = (d: DataSource | undefined) => d && this.ctx.secrets.open(d);
    return this.write('dataSource', (after ?? before)!.id, action, who, this.changes(open(before), open(after)));
  }

  /** Keeps the object's history within its bound; a failure here loses nothing recorded. */
  async trim(kind: HistoryKind, objectId: string): Promise<void> {
    await this.ctx.history.trim(kind, objectId).catch(() => undefined);
  }
}
