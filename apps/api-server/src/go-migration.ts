import {
  ConfigError,
  SyncLock,
  checkTimeZone,
  describeScopeChanges,
  offsetScopeOf,
  importGoIdra,
  migrateGoOffset,
  type ConfigIssue,
  type GoSyncReport,
  type ImportedGoSync,
  type Position,
  type ScopeChange,
  type SyncConfig,
} from '@idra/core';
import type { GoMigrationResult } from '@idra/api-client';
import { ApiError, BadRequestError, ConflictError } from './errors.ts';
import { prepareSync } from './sync-input.ts';
import type { IdraContext } from './context.ts';
import type { AuditContext } from './audit.ts';
import { guardOffsetScope, movesOffset } from './offset-guard.ts';

/** What to do with Go Idra documents: an import (`POST /import`) or a migration with offsets (`POST /migrate/go-idra`). */
export interface GoImportRequest {
  /** The Go syncs (an export array, one sync, or the values of `/syncs/` in Go Idra's etcd). */
  docs: unknown;
  /** Migration only: Go Idra's `/offsets/` values, by the key after `/offsets/`. */
  offsets?: ReadonlyMap<string, string> | undefined;
  /** Migration only: the zone Go read wall-clock timestamps in, when not the one its connection strings imply. */
  timeZone?: string | undefined;
  dryRun: boolean;
  overwrite: boolean;
  /** Import the importable syncs and leave the refused ones out (default: refuse everything). */
  skipRefused: boolean;
  /** Import every sync paused (enabled: false). */
  paused: boolean;
  /** Who, for the offset and sync histories. */
  who: AuditContext;
}

interface Planned {
  imported: ImportedGoSync;
  config: SyncConfig;
  position: Position | undefined;
  reason: string;
}

const refusedLine = (s: ImportedGoSync, field: string, detail: string) => {
  s.report.fields.push({ field, outcome: 'refused', detail });
  s.report.outcome = 'refused';
};

/**
 * Converts Go Idra syncs (and, for a migration, their offsets), reports what becomes of every field,
 * and — unless it is a dry run — stores the importable ones, each offset before its sync so that no
 * agent starts a migrated sync from the beginning. Offsets Idra already has are kept.
 */
export async function importGoSyncs(ctx: IdraContext, req: GoImportRequest): Promise<GoMigrationResult> {
  if (req.timeZone !== undefined) checkTimeZone(req.timeZone, 'timeZone');
  const imported = importGoIdra(req.docs);
  const used = new Set<string>();
  if (req.offsets) {
    for (const s of imported) {
      s.report.offset = migrateGoOffset(s, req.offsets, req.timeZone, used);
      if (s.report.offset.outcome === 'refused') refusedLine(s, '(offset)', s.report.offset.detail);
    }
  }
  const existing = await ctx.configs.listSyncs();
  const byId = new Map(existing.syncs.map((s) => [s.id, s]));
  const invalid = new Set(existing.invalid.map((i) => i.id));
  const planned: Planned[] = [];
  for (const s of imported) {
    if (s.report.outcome === 'refused' || !s.config) continue;
    const config = req.paused ? { ...s.config, enabled: false } : s.config;
    try {
      const prepared = await prepareSync(ctx, config, byId.get(config.id), new Map(), `[${s.report.index}]`);
      // A sync Idra runs already keeps its offset: a Go version moving what it points into is refused.
      if (byId.has(config.id)) await guardOffsetScope(ctx, prepared, byId.get(config.id), {}, 'admin');
      const position = s.report.offset?.position ?? s.seed;
      const reason = s.report.offset?.position
        ? `migrated from Go Idra ${s.report.offset.goKey} = ${s.report.offset.goValue}`
        : 'start_offset of the imported Go Idra sync';
      planned.push({ imported: s, config: prepared, position: position ?? undefined, reason });
    } catch (err) {
      if (movesOffset(err))
        refusedLine(
          s,
          '(idra) offset',
          `the Idra sync of this id has an offset this version would move (${describeScopeChanges((err.details as { changes: ScopeChange[] }).changes)}): change it in Idra with a choice (offset=reset|keep) instead`,
        );
      else if (err instanceof ConfigError) for (const i of err.issues) refusedLine(s, `(idra) ${i.path}`, i.message);
      else if (err instanceof ApiError) refusedLine(s, '(idra)', err.message);
      else throw err;
    }
  }
  const report = imported.map((s) => s.report);
  const refused = report.filter((r) => r.outcome === 'refused');
  const clash = planned.filter((p) => byId.has(p.config.id) || invalid.has(p.config.id)).map((p) => p.config.id);
  const result: GoMigrationResult = {
    dryRun: req.dryRun,
    report,
    syncs: {
      created: planned.filter((p) => !byId.has(p.config.id)).map((p) => p.config.id),
      updated: planned.filter((p) => byId.has(p.config.id)).map((p) => p.config.id),
    },
    refused: refused.map((r) => r.id ?? `[${r.index}]`),
    offsetsSet: [],
    unusedOffsets: req.offsets ? [...req.offsets.keys()].filter((k) => !used.has(k)).sort() : [],
  };
  for (const p of planned) {
    if (p.position && ((await ctx.offsets.load(p.config.id)) || (await SyncLock.owner(ctx.etcd.ns, p.config.id)))) {
      p.position = undefined;
      const note = 'not stored: Idra already has an offset for this sync (it ran in Idra), which is kept';
      if (p.imported.report.offset) p.imported.report.offset.detail += `; ${note}`;
      else p.imported.report.fields.push({ field: 'source_connector.start_offset', outcome: 'ignored', detail: note });
    }
  }
  if (req.dryRun) return result;
  if (refused.length > 0 && !req.skipRefused) {
    const issues: ConfigIssue[] = refused.flatMap((r) =>
      r.fields.filter((f) => f.outcome === 'refused').map((f) => ({ path: `[${r.index}].${f.field}`, message: f.detail })),
    );
    throw new BadRequestError(
      'IDRA_ERR_IMPORT_REFUSED',
      `${refused.length} of ${report.length} Go Idra syncs cannot be imported faithfully (import the others with skipRefused=true): ${issues.map((i) => `${i.path}: ${i.message}`).join('; ')}`,
      issues,
    );
  }
  if (clash.length > 0 && !req.overwrite) {
    throw new ConflictError(
      'IDRA_ERR_IMPORT_EXISTS',
      `already exist: ${clash.map((s) => `sync ${s}`).join(', ')} (import with overwrite=true to replace them)`,
      { syncs: clash, dataSources: [] },
    );
  }
  for (const p of planned) {
    const id = p.config.id;
    if (p.position) {
      // The offset first: an agent must never see the sync without it.
      await ctx.offsets.set(id, p.position, { by: req.who.by, reason: p.reason, scope: offsetScopeOf(await ctx.configs.resolveSync(p.config)) });
      result.offsetsSet.push(id);
    }
    const before = byId.get(id);
    await ctx.configs.putSync(
      p.config,
      ctx.audit.sync(
        before ? 'updated' : 'created',
        { ...req.who, reason: req.who.reason ?? `from Go Idra sync '${p.imported.report.goId || p.imported.report.name}'` },
        before,
        p.config,
      ),
    );
    await ctx.audit.trim('sync', id);
  }
  return result;
}

/** `ImportResult` fields of a Go Idra import. */
export function goImportSummary(r: GoMigrationResult) {
  return {
    format: 'go-idra' as const,
    dryRun: r.dryRun,
    syncs: r.syncs,
    dataSources: { created: [], updated: [] },
    offsetsSeeded: r.offsetsSet,
    report: r.report,
    refused: r.refused,
  };
}

export type { GoSyncReport };
