import { Type } from '@sinclair/typebox';
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import {
  ConfigError,
  ConfigFileSchema,
  SyncLock,
  assertSchema,
  importGoIdra,
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
import { actorName } from '../auth/roles.ts';
import { principalOf } from './auth.ts';
import { AnyObject, Permissive, errors } from '../schemas.ts';

const ImportQuery = Type.Object({
  overwrite: Type.Optional(Type.Union([Type.Literal('true'), Type.Literal('false')], { description: 'true: replace syncs and data sources that exist (default: 409 if any exists)' })),
});
const ExportQuery = Type.Object({ ids: Type.Optional(Type.String({ pattern: '^[A-Za-z0-9_.,-]{1,8192}$', description: 'comma-separated sync ids (default all)' })) });

interface ParsedImport {
  format: ImportResult['format'];
  dataSources: DataSource[];
  syncs: SyncConfig[];
  startOffsets: Map<string, string>;
}

/** Reads any accepted document: an Idra export `{dataSources, syncs}`, a sync, a sync array, or a Go Idra export. */
function parseImport(doc: unknown): ParsedImport {
  if (isGoIdraFormat(doc)) {
    const imported = importGoIdra(doc);
    return {
      format: 'go-idra',
      dataSources: [],
      syncs: imported.map((i) => i.config),
      startOffsets: new Map(imported.filter((i) => i.startOffset !== undefined && i.config.mode === 'id').map((i) => [i.config.id, i.startOffset!])),
    };
  }
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
    dataSources = (file.dataSources ?? []).map((d, i) => collect(() => validateDataSource(d, `dataSources[${i}]`))).filter((d): d is DataSource => d !== undefined);
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
  return { format: 'idra', dataSources, syncs, startOffsets: new Map() };
}

/** `/import` and `/export`: syncs and data sources as JSON documents, also from the original Go Idra. */
export const transferRoutes: FastifyPluginAsyncTypebox = async (app) => {
  const ctx = app.idra;
  const { configs, secrets } = ctx;
  const tags = ['import/export'];

  app.get(
    '/export',
    { config: { access: 'viewer' }, schema: { tags, summary: 'Syncs and the data sources they use, as an importable document (secrets masked)', querystring: ExportQuery, response: { 200: Permissive('{ dataSources, syncs }'), ...errors(400) } } },
    async (req): Promise<ExportDocument> => {
      const wanted = req.query.ids ? new Set(req.query.ids.split(',').filter(Boolean)) : undefined;
      const syncs = (await configs.listSyncs()).syncs.filter((s) => !wanted || wanted.has(s.id));
      const used = new Set(syncs.flatMap((s) => [s.source.dataSourceId, s.destination.dataSourceId]).filter((x): x is string => x !== undefined));
      const dataSources = (await configs.listDataSources()).filter((d) => !wanted || used.has(d.id));
      return { dataSources: dataSources.map((d) => secrets.maskDataSource(d)), syncs: syncs.map((s) => secrets.maskSync(s)) };
    },
  );

  app.post(
    '/import',
    {
      config: { access: 'operator' },
      schema: {
        tags,
        summary: 'Import an Idra export, a sync, a sync array or a Go Idra export; all or nothing',
        querystring: ImportQuery,
        body: Type.Union([AnyObject, Type.Array(Type.Unknown(), { maxItems: 10_000 })], { description: 'the document to import' }),
        response: { 200: Permissive('ImportResult'), ...errors(400, 409) },
      },
    },
    async (req): Promise<ImportResult> => {
      const parsed = parseImport(req.body);
      const overwrite = req.query.overwrite === 'true';
      const [existingSyncs, existingDataSources] = await Promise.all([configs.listSyncs(), configs.listDataSources()]);
      const syncById = new Map(existingSyncs.syncs.map((s) => [s.id, s]));
      const dsById = new Map(existingDataSources.map((d) => [d.id, d]));
      const invalidIds = new Set(existingSyncs.invalid.map((i) => i.id));
      const clash = {
        syncs: parsed.syncs.filter((s) => syncById.has(s.id) || invalidIds.has(s.id)).map((s) => s.id),
        dataSources: parsed.dataSources.filter((d) => dsById.has(d.id)).map((d) => d.id),
      };
      if (!overwrite && (clash.syncs.length > 0 || clash.dataSources.length > 0)) {
        throw new ConflictError('IDRA_ERR_IMPORT_EXISTS', `already exist: ${[...clash.dataSources.map((d) => `data source ${d}`), ...clash.syncs.map((s) => `sync ${s}`)].join(', ')} (import with overwrite=true to replace them)`, clash);
      }
      // Everything is checked before anything is written.
      const dataSources = parsed.dataSources.map((d, i) => ({ ...d, connection: secrets.mergeForStorage(d.connection, dsById.get(d.id)?.connection, `dataSources[${i}].connection`) }));
      const pending = new Map(dataSources.map((d) => [d.id, d]));
      const syncs: SyncConfig[] = [];
      const issues: ConfigIssue[] = [];
      for (const [i, s] of parsed.syncs.entries()) {
        try {
          syncs.push(await prepareSync(ctx, s, syncById.get(s.id), pending, parsed.format === 'idra' ? `syncs[${i}]` : `[${i}]`));
        } catch (err) {
          if (err instanceof ConfigError) issues.push(...err.issues);
          else throw err;
        }
      }
      if (issues.length > 0) throw new ConfigError(issues, 'invalid import');

      for (const d of dataSources) await configs.putDataSource(d);
      for (const s of syncs) await configs.putSync(s);
      const offsetsSeeded: string[] = [];
      const by = actorName(principalOf(req));
      for (const [id, value] of parsed.startOffsets) {
        if ((await ctx.offsets.load(id)) || (await SyncLock.owner(ctx.etcd.ns, id))) continue;
        await ctx.offsets.set(id, { kind: 'id', value }, { by, reason: 'start_offset of the imported Go Idra sync' });
        offsetsSeeded.push(id);
      }
      req.log.info({ format: parsed.format, syncs: syncs.length, dataSources: dataSources.length, by }, 'import');
      return {
        format: parsed.format,
        syncs: { created: syncs.filter((s) => !syncById.has(s.id)).map((s) => s.id), updated: syncs.filter((s) => syncById.has(s.id)).map((s) => s.id) },
        dataSources: { created: dataSources.filter((d) => !dsById.has(d.id)).map((d) => d.id), updated: dataSources.filter((d) => dsById.has(d.id)).map((d) => d.id) },
        offsetsSeeded,
      };
    },
  );
};
