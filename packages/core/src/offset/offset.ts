import { ConfigError, OffsetStoreError, type ConfigIssue } from '../errors.ts';
import { POSITION_KINDS, PositionSchema, type Position } from '../model/position.ts';
import { schemaIssues } from '../model/validate.ts';
import { storedKind, type SyncMode } from '../model/modes.ts';
import type { OffsetScope } from './offset-scope.ts';

/** The stored form of a position: versioned, with who committed it and under which lock epoch. */
export type OffsetDocument = Position & {
  v: 1;
  committedAt: string;
  agentId: string;
  epoch: number;
  /** What the position points into (absent in offsets written before it was recorded). */
  scope?: OffsetScope | undefined;
};

/** Who is committing: the agent and the epoch of its ownership of the sync (0 in single mode), and the sync's scope. */
export interface CommitContext {
  agentId: string;
  epoch: number;
  scope?: OffsetScope | undefined;
}

/** Who changes an offset by hand and why; `scope`: what the new position points into (default: the stored offset's). */
export interface ManualChange {
  by: string;
  reason: string;
  scope?: OffsetScope | undefined;
}

/** A manual offset change, kept in the sync's offset history. */
export interface OffsetChange {
  at: string;
  by: string;
  reason: string;
  old: Position | null;
  new: Position | null;
}

/** Durable offsets per sync. */
export interface OffsetStore {
  load(syncId: string): Promise<OffsetDocument | undefined>;
  /** Stores the position after a batch the destination has committed. Throws FencedError when not the owner. */
  commit(syncId: string, position: Position, ctx: CommitContext): Promise<OffsetDocument>;
  /** Manual change (null = start over), recorded in the history with who and why. */
  set(syncId: string, position: Position | null, change: ManualChange): Promise<void>;
  history(syncId: string): Promise<OffsetChange[]>;
}

/** The problems of a position, checked against the schema branch of its kind (so the message names the field at fault). */
export function positionIssues(position: unknown, base = ''): ConfigIssue[] {
  const kind = (position as { kind?: unknown } | null)?.kind;
  const branch = PositionSchema.anyOf.find((b) => b.properties.kind.const === kind);
  if (!branch) return [{ path: base ? `${base}.kind` : 'kind', message: `must be one of ${POSITION_KINDS.map((k) => `'${k}'`).join(', ')}` }];
  return schemaIssues(branch, position, base);
}

/**
 * A position typed by hand (`--value v [--tiebreaker t]`, `--position <json>`, `--reset` → null)
 * for a sync in `mode`; a ConfigError names the option at fault.
 */
export function manualPosition(
  mode: SyncMode,
  input: { value?: string | undefined; tiebreaker?: string | undefined; position?: string | undefined; reset?: boolean | undefined },
): Position | null {
  const kind = storedKind(mode);
  const fail = (path: string, message: string) => new ConfigError([{ path, message }], 'invalid offset');
  if (!kind) throw fail('mode', `'${mode}' resumes from the destination and stores no offset`);
  const given = [input.value !== undefined, input.position !== undefined, Boolean(input.reset)].filter(Boolean).length;
  if (given !== 1) throw fail('--value', 'give exactly one of --value, --position, --reset');
  if (input.reset) return null;
  if (input.value !== undefined) {
    if (kind === 'id') return { kind, value: input.value };
    if (kind === 'timestamp') return { kind, value: input.value, tiebreaker: input.tiebreaker ?? null };
    throw fail('--value', `a sync in mode '${mode}' needs --position <json>`);
  }
  let position: unknown;
  try {
    position = JSON.parse(input.position!);
  } catch {
    throw fail('--position', 'must be JSON, e.g. {"kind":"id","value":"42"}');
  }
  if ((position as { kind?: unknown } | null)?.kind !== kind) throw fail('--position.kind', `must be '${kind}' for a sync in mode '${mode}'`);
  const issues = positionIssues(position, '--position');
  if (issues.length > 0) throw new ConfigError(issues, 'invalid offset');
  return position as Position;
}

/** Builds the document stored for a position. */
export function toOffsetDocument(position: Position, ctx: CommitContext, now = new Date()): OffsetDocument {
  const doc: OffsetDocument = { v: 1, ...position, committedAt: now.toISOString(), agentId: ctx.agentId, epoch: ctx.epoch };
  if (ctx.scope) doc.scope = ctx.scope;
  return doc;
}

/** Parses and checks a stored offset document; `where` names its location in errors. */
export function parseOffsetDocument(text: string, where: string): OffsetDocument {
  let doc: unknown;
  try {
    doc = JSON.parse(text);
  } catch (err) {
    throw new OffsetStoreError(`offset at ${where} is not valid JSON`, err);
  }
  const d = doc as Partial<OffsetDocument> | null;
  if (!d || typeof d !== 'object' || d.v !== 1) throw new OffsetStoreError(`offset at ${where} is not a version 1 offset document`);
  const issues = positionIssues(positionOf(d as OffsetDocument));
  if (issues.length > 0) throw new OffsetStoreError(`offset at ${where} does not hold a valid position: ${new ConfigError(issues).message}`);
  return d as OffsetDocument;
}

/** The position part of an offset document. */
export function positionOf(doc: OffsetDocument): Position {
  switch (doc.kind) {
    case 'id':
      return doc.ranges ? { kind: 'id', value: doc.value, ranges: doc.ranges } : { kind: 'id', value: doc.value };
    case 'timestamp':
      return doc.ranges
        ? { kind: 'timestamp', value: doc.value, tiebreaker: doc.tiebreaker, ranges: doc.ranges }
        : { kind: 'timestamp', value: doc.value, tiebreaker: doc.tiebreaker };
    case 'full':
      return doc.ranges ? { kind: 'full', value: doc.value, ranges: doc.ranges } : { kind: 'full', value: doc.value };
    case 'stream':
      return { kind: 'stream', value: doc.value };
  }
}

/** The history entry of a manual offset change. */
export function offsetChange(current: OffsetDocument | undefined, position: Position | null, change: ManualChange): OffsetChange {
  return { at: new Date().toISOString(), by: change.by, reason: change.reason, old: current ? positionOf(current) : null, new: position };
}

/** Who a manually set offset is recorded as committed by (the epoch is kept), and what it points into. */
export function manualCommitContext(current: OffsetDocument | undefined, change: ManualChange): CommitContext {
  return { agentId: `manual:${change.by}`, epoch: current?.epoch ?? 0, scope: change.scope ?? current?.scope };
}
