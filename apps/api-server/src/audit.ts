import { Type } from '@sinclair/typebox';
import type { FastifyRequest } from 'fastify';
import {
  SECRET_MASK,
  diffDocuments,
  type AlsoWrite,
  type Connection,
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

const SECRET_OPTION = /(secret|password|passwd|token|api[-_]?key|credential|auth)/i;

/** A recorded value with its secrets masked (the diff runs on decrypted documents, so a changed secret shows as changed). */
function maskValue(ctx: IdraContext, path: string, value: unknown): unknown {
  if (value === undefined) return undefined;
  const leaf = path.split('.').pop()!;
  const inConnection = /(^|\.)connection(\.|$)/.test(path);
  if (!inConnection) return value;
  if (/(^|\.)connection$/.test(path) && typeof value === 'object' && value !== null) return ctx.secrets.mask(value as Connection);
  if (/(^|\.)connection\.options$/.test(path) && typeof value === 'object' && value !== null) return ctx.secrets.mask({ options: value as Record<string, unknown> }).options;
  if (leaf === 'url' && typeof value === 'string') return ctx.secrets.mask({ url: value }).url;
  if (leaf === 'password' || (/(^|\.)connection\.options\./.test(path) && SECRET_OPTION.test(leaf))) return SECRET_MASK;
  return value;
}

/** The sync with every connection decrypted, so that the diff sees real values. */
function opened(ctx: IdraContext, s: SyncConfig | undefined): SyncConfig | undefined {
  if (!s) return undefined;
  const out = structuredClone(s);
  for (const ep of [out.source, out.destination]) if (ep.connection) ep.connection = ctx.secrets.open(ep.connection);
  return out;
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

  private write(kind: HistoryKind, objectId: string, action: HistoryAction, who: AuditContext, changes: HistoryChange[], offset?: HistoryEntry['offset']): AlsoWrite {
    const { key, value } = this.ctx.history.entry({ kind, objectId, action, by: who.by, reason: who.reason, via: who.via, changes, ...(offset ? { offset } : {}) });
    return [{ key, value }];
  }

  /** The entry for a change of a sync (`before` and `after` as stored: sealed secrets are opened to compare). */
  sync(action: HistoryAction, who: AuditContext, before: SyncConfig | undefined, after: SyncConfig | undefined, offset?: HistoryEntry['offset']): AlsoWrite {
    const id = (after ?? before)!.id;
    return this.write('sync', id, action, who, this.changes(opened(this.ctx, before), opened(this.ctx, after)), offset);
  }

  dataSource(action: HistoryAction, who: AuditContext, before: DataSource | undefined, after: DataSource | undefined): AlsoWrite {
    const open = (d: DataSource | undefined) => d && { ...d, connection: this.ctx.secrets.open(d.connection) };
    return this.write('dataSource', (after ?? before)!.id, action, who, this.changes(open(before), open(after)));
  }

  /** Keeps the object's history within its bound; a failure here loses nothing recorded. */
  async trim(kind: HistoryKind, objectId: string): Promise<void> {
    await this.ctx.history.trim(kind, objectId).catch(() => undefined);
  }
}
