import { Type } from '@sinclair/typebox';
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import {
  ConfigError,
  ConfigFileSchema,
  assertSchema,
  isGoIdraFormat,
  validateDataSource,
  validateSyncConfig,
  type ConfigIssue,
  type DataSource,
  type SyncConfig,
} from '@idra/core';
import type { ExportDocument, ImportResult } from '@idra/api-client';
import { ConflictError } from '../errors.ts';
import { prepareSync } from '../sync-input.ts';
import { goImportSummary, importGoSyncs } from '../go-migration.ts';
import { auditOf } from '../audit.ts';
import { guardDataSourceReaders, guardOffsetScope, movesOffset } from '../offset-guard.ts';
import { principalOf } from '../plugins/auth.ts';
import { AnyObject, errors } from '../schemas.ts';

const flag = (description: string) => Type.Optional(Type.Union([Type.Literal('true'), Type.Literal('false')], { description }));
const ImportQuery = Type.Object({
  overwrite: flag('true: replace syncs and data sources that exist (default: 409 if any exists)'),
  dryRun: flag('true: check everything and report what the import would do; write nothing'),
  skipRefused: flag(
    'Go Idra documents: true imports the syncs that can be imported faithfully and leaves the refused ones out (default: 400 if any is refused)',
  ),
});
const ExportQuery = Type.Object({
  ids: Type.Optional(Type.String({ pattern: '^[A-Za-z0-9_.,-]{1,8192}$', description: 'comma-separated sync ids (default all)' })),
});

interface ParsedImport {
  dataSources: DataSource[];
  syncs: SyncConfig[];
}

/** Reads an Idra document: an export `{dataSources, syncs}`, a sync, or a sync array. */
function parseImport(doc: unknown): ParsedImport {
  const issues: ConfigIssue[] = [];
  const collect = <T>(f: () => T): T | undefined => {
    try {
      return f();
    } catch (err) {
      if (err instanceof ConfigError) issues.push(...err.issues);
      else throw err;
      return undefined;
    }
  };
  let dataSources: DataSource[] = [];
  let syncs: SyncConfig[] = [];
  if (Array.isArray(doc)) {
    syncs = doc.map((s, i) => collect(() => validateSyncConfig(s, `[${i}]`))).filter((s): s is SyncConfig => s !== undefined);
  } else if (typeof doc === 'object' && doc !== null && ('syncs' in doc || 'dataSources' in doc)) {
    const file = assertSchema(ConfigFileSchema, doc, 'invalid import');
    dataSources = (file.dataSources ?? [])
      .map((d, i) => collect(() => validateDataSource(d, `dataSources[${i}]`)))
      .filter((d): d is DataSource => d !== undefined);
    syncs = file.syncs.map((s, i) => collect(() => validateSyncConfig(s, `syncs[${i}]`))).filter((s): s is SyncConfig => s !== undefined);
  } else {
    syncs = [validateSyncConfig(doc)];
  }
  const seen = new Set<string>();
  for (const s of syncs) {
    if (seen.has(s.id)) issues.push({ path: s.id, message: `duplicate sync id '${s.id}'` });
    seen.add(s.id);
  }
  if (issues.length > 0) throw new ConfigError(issues, 'invalid import');
  return { dataSources, syncs };
}

/** `/import` and `/export`: syncs and data sources as JSON documents, also from the original Go Idra. */
export const transferRoutes: FastifyPluginAsyncTypebox = async (app) => {
  const ctx = app.idra;
  const { configs, secrets } = ctx;
  const tags = ['import/export'];

  app.get(
    '/export',
    {
      config: { access: 'viewer' },
      schema: {
        tags,
        summary: 'Syncs and the data sources they use, as an importable document (secrets masked)',
        querystring: ExportQuery,
        response: { 200: Type.Ref('ExportDocument'), ...errors(400) },
      },
    },
    async (req): Promise<ExportDocument> => {
      const wanted = req.query.ids ? new Set(req.query.ids.split(',').filter(Boolean)) : undefined;
      const syncs = (await configs.listSyncs()).syncs.filter((s) => !wanted || wanted.has(s.id));
      const used = new Set(syncs.flatMap((s) => [s.source.dataSourceId, s.destination.dataSourceId]).filter((x): x is string => x !== undefined));
      const dataSources = (await configs.listDataSources()).filter((d) => !wanted || used.has(d.id));
      return { dataSources: dataSources.map((d) => secrets.mask(d)), syncs: syncs.map((s) => secrets.maskSync(s)) };
    },
  );

  app.post(
    '/import',
    {
      config: { access: 'operator' },
      schema: {
        tags,
        summary: 'Import an Idra export, a sync, a sync array or a Go Idra export (with a per-field report); all or nothing; dryRun=true only checks',
        querystring: ImportQuery,
        body: Type.Union([AnyObject, Type.Array(Type.Unknown(), { maxItems: 10_000 })], {
          description:
            "the document to import, open: an Idra export (ExportDocument), a sync or a sync array, or Go Idra's sync documents, told apart and checked field by field by the handler",
        }),
        response: { 200: Type.Ref('ImportResult'), ...errors(400, 409) },
      },
    },
    async (req): Promise<ImportResult> => {
      const overwrite = req.query.overwrite === 'true';
      const dryRun = req.query.dryRun === 'true';
      const who = auditOf(req, 'import');
      const by = who.by;
      if (isGoIdraFormat(req.body)) {
        const r = await importGoSyncs(ctx, { docs: req.body, dryRun, overwrite, skipRefused: req.query.skipRefused === 'true', paused: false, who });
        req.log.info({ format: 'go-idra', dryRun, syncs: r.syncs, refused: r.refused, by }, 'import');
        return goImportSummary(r);
      }
      const parsed = parseImport(req.body);
      const [existingSyncs, existingDataSources] = await Promise.all([configs.listSyncs(), configs.listDataSources()]);
      const syncById = new Map(existingSyncs.syncs.map((s) => [s.id, s]));
      const dsById = new Map(existingDataSources.map((d) => [d.id, d]));
      const invalidIds = new Set(existingSyncs.invalid.map((i) => i.id));
      const clash = {
        syncs: parsed.syncs.filter((s) => syncById.has(s.id) || invalidIds.has(s.id)).map((s) => s.id),
        dataSources: parsed.dataSources.filter((d) => dsById.has(d.id)).map((d) => d.id),
      };
      if (!overwrite && (clash.syncs.length > 0 || clash.dataSources.length > 0)) {
        throw new ConflictError(
          'IDRA_ERR_IMPORT_EXISTS',
          `already exist: ${[...clash.dataSources.map((d) => `data source ${d}`), ...clash.syncs.map((s) => `sync ${s}`)].join(', ')} (import with overwrite=true to replace them)`,
          clash,
        );
      }
      // Everything is checked before anything is written.
      const dataSources = parsed.dataSources.map((d, i) => secrets.restoreDataSource(d, dsById.get(d.id), `dataSources[${i}]`));
      const pending = new Map(dataSources.map((d) => [d.id, d]));
      const syncs: SyncConfig[] = [];
      const issues: ConfigIssue[] = [];
      for (const [i, s] of parsed.syncs.entries()) {
        try {
          syncs.push(await prepareSync(ctx, s, syncById.get(s.id), pending, `syncs[${i}]`));
        } catch (err) {
          if (err instanceof ConfigError) issues.push(...err.issues);
          else throw err;
        }
      }
      if (issues.length > 0) throw new ConfigError(issues, 'invalid import');
      // An import never moves a stored offset: such a change is made on the sync itself, with a choice.
      const role = principalOf(req).role;
      try {
        for (const d of dataSources) if (dsById.has(d.id)) await guardDataSourceReaders(ctx, d, {}, role);
        for (const s of syncs) await guardOffsetScope(ctx, s, syncById.get(s.id), {}, role, pending);
      } catch (err) {
        if (!movesOffset(err)) throw err;
        throw new ConflictError(
          'IDRA_ERR_OFFSET_SCOPE_CHANGED',
          `the import would move a stored offset: ${err.message}; make that change on its own (PUT with offset=reset|keep), then import`,
          err.details,
        );
      }
      if (!dryRun) {
        for (const d of dataSources) {
          await configs.putDataSource(d, ctx.audit.dataSource(dsById.has(d.id) ? 'updated' : 'created', who, dsById.get(d.id), d));
          await ctx.audit.trim('dataSource', d.id);
        }
        for (const s of syncs) {
          await configs.putSync(s, ctx.audit.sync(syncById.has(s.id) ? 'updated' : 'created', who, syncById.get(s.id), s));
          await ctx.audit.trim('sync', s.id);
        }
      }
      req.log.info({ format: 'idra', dryRun, syncs: syncs.length, dataSources: dataSources.length, by }, 'import');
      return {
        format: 'idra',
        dryRun,
        syncs: { created: syncs.filter((s) => !syncById.has(s.id)).map((s) => s.id), updated: syncs.filter((s) => syncById.has(s.id)).map((s) => s.id) },
        dataSources: {
          created: dataSources.filter((d) => !dsById.has(d.id)).map((d) => d.id),
          updated: dataSources.filter((d) => dsById.has(d.id)).map((d) => d.id),
        },
        offsetsSeeded: [],
      };
    },
  );
};
