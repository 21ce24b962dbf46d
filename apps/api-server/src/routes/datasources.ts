import { Type } from '@sinclair/typebox';
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { DataSourceSchema, followsLog, validateDataSource, type DataSource, type HistoryEntry } from '@idra/core';
import { cdcNames, discover, testConnection } from '@idra/connectors';
import type { ConnectionTestResult, Role, TableListing } from '@idra/api-client';
import { ConflictError, NotFoundError, requireIdOfPath } from '../errors.ts';
import { principalOf } from '../plugins/auth.ts';
import { ReasonQuery, auditOf, type AuditContext } from '../audit.ts';
import { OffsetDecisionQuery, guardDataSourceReaders, type OffsetDecision } from '../offset-guard.ts';
import { ChangeLogReadinessSchema, IdParams, EmptyBody, TransactionVisibilitySchema, errors } from '../schemas.ts';
import { probeLimit, probeOptions, type ProbeRouteOptions } from '../probes.ts';

const TableListingSchema = Type.Object({
  ok: Type.Boolean(),
  tables: Type.Array(
    Type.Object({
      schema: Type.Optional(Type.String()),
      name: Type.String(),
      columns: Type.Array(Type.Object({ name: Type.String(), type: Type.String(), primaryKey: Type.Boolean() })),
    }),
  ),
  error: Type.Optional(Type.String()),
});

const TestResultSchema = Type.Object({
  ok: Type.Boolean(),
  connector: Type.String(),
  latencyMs: Type.Number(),
  error: Type.Optional(Type.String()),
  transactions: Type.Optional(TransactionVisibilitySchema),
  changeLog: Type.Optional(ChangeLogReadinessSchema),
});

const ChangeQuery = Type.Composite([ReasonQuery, OffsetDecisionQuery]);

/** `/datasources`: named connections, secrets sealed in etcd and masked in every answer. */
export const dataSourceRoutes: FastifyPluginAsyncTypebox<ProbeRouteOptions> = async (app, opts) => {
  /** Names the cdc sync of each of Idra's replication slots the test found; null marks a slot no sync has, which holds the server's WAL forever. */
  const withSlotOwners = async (result: ConnectionTestResult): Promise<ConnectionTestResult> => {
    const slots = result.changeLog?.slots;
    if (!slots || slots.length === 0) return result;
    const { syncs } = await app.idra.configs.listSyncs();
    const owners = new Map(syncs.filter((s) => followsLog(s.mode)).map((s) => [cdcNames(s).slot, s.id]));
    return { ...result, changeLog: { ...result.changeLog!, slots: slots.map((slot) => ({ ...slot, sync: owners.get(slot.name) ?? null })) } };
  };
  const ctx = app.idra;
  const { configs, secrets } = ctx;
  const tags = ['data sources'];

  const find = async (id: string): Promise<DataSource> => {
    const ds = await configs.getDataSource(id);
    if (!ds) throw new NotFoundError('data source', id);
    return ds;
  };

  /** The data source to store: masks merged with the stored secrets, then validated. */
  const prepare = (incoming: DataSource, stored: DataSource | undefined): DataSource => {
    const ds = validateDataSource(incoming);
    return secrets.restoreDataSource(ds, stored);
  };

  const usedBy = async (id: string): Promise<string[]> =>
    (await configs.listSyncs()).syncs.filter((s) => s.source.dataSourceId === id || s.destination.dataSourceId === id).map((s) => s.id);

  const save = async (ds: DataSource, before: DataSource | undefined, who: AuditContext, decision: OffsetDecision, role: Role) => {
    const resolutions = before ? await guardDataSourceReaders(ctx, ds, decision, role) : [];
    for (const r of resolutions) await r.apply(who.by, who.reason);
    const stored = await configs.putDataSource(ds, ctx.audit.dataSource(before ? 'updated' : 'created', who, before, ds));
    await ctx.audit.trim('dataSource', ds.id);
    return stored;
  };

  app.get(
    '/datasources',
    {
      config: { access: 'viewer' },
      schema: { tags, summary: 'List data sources (secrets masked)', response: { 200: Type.Array(DataSourceSchema), ...errors() } },
    },
    async () => (await configs.listDataSources()).map((ds) => secrets.mask(ds)),
  );

  app.get(
    '/datasources/:id',
    {
      config: { access: 'viewer' },
      schema: { tags, summary: 'One data source (secrets masked)', params: IdParams, response: { 200: DataSourceSchema, ...errors(404) } },
    },
    async (req) => secrets.mask(await find(req.params.id)),
  );

  app.post(
    '/datasources',
    {
      config: { access: 'operator' },
      schema: {
        tags,
        summary: 'Create a data source (recorded in its history)',
        querystring: ReasonQuery,
        body: DataSourceSchema,
        response: { 201: DataSourceSchema, ...errors(400, 409) },
      },
    },
    async (req, reply) => {
      if (await configs.getDataSource(req.body.id)) throw new ConflictError('IDRA_ERR_DATA_SOURCE_EXISTS', `data source '${req.body.id}' already exists`);
      const stored = await save(prepare(req.body, undefined), undefined, auditOf(req), {}, principalOf(req).role);
      req.log.info({ dataSourceId: stored.id, by: principalOf(req).name }, 'data source created');
      return reply.code(201).send(secrets.mask(stored));
    },
  );

  app.put(
    '/datasources/:id',
    {
      config: { access: 'operator' },
      schema: {
        tags,
        summary:
          'Create or replace a data source; masked secrets sent back keep the stored ones; moving the offsets of syncs reading it needs offset=reset|keep (confirm: its id)',
        params: IdParams,
        querystring: ChangeQuery,
        body: DataSourceSchema,
        response: { 200: DataSourceSchema, 201: DataSourceSchema, ...errors(400, 409) },
      },
    },
    async (req, reply) => {
      requireIdOfPath(req.body.id, req.params.id);
      const existing = await configs.getDataSource(req.params.id);
      const stored = await save(prepare(req.body, existing), existing, auditOf(req), req.query, principalOf(req).role);
      req.log.info({ dataSourceId: stored.id, by: principalOf(req).name }, existing ? 'data source updated' : 'data source created');
      return reply.code(existing ? 200 : 201).send(secrets.mask(stored));
    },
  );

  app.delete(
    '/datasources/:id',
    {
      config: { access: 'operator' },
      schema: {
        tags,
        summary: 'Delete a data source no sync uses',
        params: IdParams,
        querystring: ReasonQuery,
        response: { 204: Type.Null(), ...errors(404, 409) },
      },
    },
    async (req, reply) => {
      const before = await find(req.params.id);
      const syncs = await usedBy(req.params.id);
      if (syncs.length > 0)
        throw new ConflictError('IDRA_ERR_DATA_SOURCE_IN_USE', `data source '${req.params.id}' is used by syncs ${syncs.join(', ')}`, { syncs });
      await configs.deleteDataSource(req.params.id, ctx.audit.dataSource('deleted', auditOf(req), before, undefined));
      await ctx.audit.trim('dataSource', req.params.id);
      req.log.info({ dataSourceId: req.params.id, by: principalOf(req).name }, 'data source deleted');
      return reply.code(204).send(null);
    },
  );

  app.get(
    '/datasources/:id/history',
    {
      config: { access: 'viewer' },
      schema: {
        tags,
        summary: 'Every create, update and delete of a data source: who, when, the changes (secrets masked), why; newest first',
        params: IdParams,
        response: { 200: Type.Array(Type.Ref('HistoryEntry')), ...errors() },
      },
    },
    async (req): Promise<HistoryEntry[]> => ctx.history.list('dataSource', req.params.id),
  );

  app.post(
    '/datasources/:id/test',
    {
      config: { access: 'operator', rateLimit: probeLimit(opts) },
      schema: {
        tags,
        summary: 'Open a real connection with a stored data source',
        params: IdParams,
        body: EmptyBody,
        response: { 200: TestResultSchema, ...errors(404, 429) },
      },
    },
    async (req): Promise<ConnectionTestResult> => {
      const ds = await find(req.params.id);
      return withSlotOwners(await testConnection(ds.connector, secrets.open(ds.connection), probeOptions(req)));
    },
  );

  app.get(
    '/datasources/:id/tables',
    {
      config: { access: 'operator', rateLimit: probeLimit(opts) },
      schema: {
        tags,
        summary:
          'What a stored data source holds: SQL tables and views, MongoDB collections, Kafka topics, S3 bucket prefixes, the resource an HTTP API answers with; with columns and keys where known',
        params: IdParams,
        response: { 200: TableListingSchema, ...errors(404, 429) },
      },
    },
    async (req): Promise<TableListing> => {
      const ds = await find(req.params.id);
      const listing = await discover(ds.connector, secrets.open(ds.connection), probeOptions(req));
      return { ...listing, tables: listing.tables.map((t) => ({ ...t, schema: t.schema ?? undefined })) };
    },
  );

  app.post(
    '/datasources/test',
    {
      config: { access: 'operator', rateLimit: probeLimit(opts) },
      schema: {
        tags,
        summary: 'Open a real connection with an unsaved data source (masks take the stored secrets of the same id)',
        body: DataSourceSchema,
        response: { 200: TestResultSchema, ...errors(400, 429) },
      },
    },
    async (req): Promise<ConnectionTestResult> => {
      const ds = validateDataSource(req.body);
      const stored = await configs.getDataSource(ds.id);
      // Masks take the stored secrets of the same id only for the same target: an operator cannot
      // send a stored password to a server of their choosing.
      const connection = secrets.restore(ds, stored, '').connection;
      return withSlotOwners(await testConnection(ds.connector, secrets.open(connection), probeOptions(req)));
    },
  );
};
