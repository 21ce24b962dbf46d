import { Type } from '@sinclair/typebox';
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { DataSourceSchema, validateDataSource, type DataSource } from '@idra/core';
import { listTables, testConnection } from '@idra/connectors';
import type { ConnectionTestResult, TableListing } from '@idra/api-client';
import { BadRequestError, ConflictError, NotFoundError } from '../errors.ts';
import { principalOf } from './auth.ts';
import { IdParams, EmptyBody, errors } from '../schemas.ts';

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

const TestResultSchema = Type.Object({ ok: Type.Boolean(), connector: Type.String(), latencyMs: Type.Number(), error: Type.Optional(Type.String()) });

/** `/datasources`: named connections, secrets sealed in etcd and masked in every answer. */
export const dataSourceRoutes: FastifyPluginAsyncTypebox = async (app) => {
  const { configs, secrets } = app.idra;
  const tags = ['data sources'];

  const find = async (id: string): Promise<DataSource> => {
    const ds = await configs.getDataSource(id);
    if (!ds) throw new NotFoundError('data source', id);
    return ds;
  };

  /** The data source to store: masks merged with the stored secrets, then validated. */
  const prepare = (incoming: DataSource, stored: DataSource | undefined): DataSource => {
    const ds = validateDataSource(incoming);
    return { ...ds, connection: secrets.mergeForStorage(ds.connection, stored?.connection, 'connection') };
  };

  const usedBy = async (id: string): Promise<string[]> =>
    (await configs.listSyncs()).syncs.filter((s) => s.source.dataSourceId === id || s.destination.dataSourceId === id).map((s) => s.id);

  app.get('/datasources', { config: { access: 'viewer' }, schema: { tags, summary: 'List data sources (secrets masked)', response: { 200: Type.Array(DataSourceSchema), ...errors() } } }, async () =>
    (await configs.listDataSources()).map((ds) => secrets.maskDataSource(ds)),
  );

  app.get(
    '/datasources/:id',
    { config: { access: 'viewer' }, schema: { tags, summary: 'One data source (secrets masked)', params: IdParams, response: { 200: DataSourceSchema, ...errors(404) } } },
    async (req) => secrets.maskDataSource(await find(req.params.id)),
  );

  app.post(
    '/datasources',
    { config: { access: 'operator' }, schema: { tags, summary: 'Create a data source', body: DataSourceSchema, response: { 201: DataSourceSchema, ...errors(400, 409) } } },
    async (req, reply) => {
      if (await configs.getDataSource(req.body.id)) throw new ConflictError('IDRA_ERR_DATA_SOURCE_EXISTS', `data source '${req.body.id}' already exists`);
      const stored = await configs.putDataSource(prepare(req.body, undefined));
      req.log.info({ dataSourceId: stored.id, by: principalOf(req).name }, 'data source created');
      return reply.code(201).send(secrets.maskDataSource(stored));
    },
  );

  app.put(
    '/datasources/:id',
    {
      config: { access: 'operator' },
      schema: { tags, summary: 'Create or replace a data source; masked secrets sent back keep the stored ones', params: IdParams, body: DataSourceSchema, response: { 200: DataSourceSchema, 201: DataSourceSchema, ...errors(400) } },
    },
    async (req, reply) => {
      if (req.body.id !== req.params.id) throw new BadRequestError('IDRA_ERR_API_ID_MISMATCH', `id: '${req.body.id}' differs from the path's '${req.params.id}'`, [{ path: 'id', message: 'differs from the id in the path' }]);
      const existing = await configs.getDataSource(req.params.id);
      const stored = await configs.putDataSource(prepare(req.body, existing));
      req.log.info({ dataSourceId: stored.id, by: principalOf(req).name }, existing ? 'data source updated' : 'data source created');
      return reply.code(existing ? 200 : 201).send(secrets.maskDataSource(stored));
    },
  );

  app.delete(
    '/datasources/:id',
    { config: { access: 'operator' }, schema: { tags, summary: 'Delete a data source no sync uses', params: IdParams, response: { 204: Type.Null(), ...errors(404, 409) } } },
    async (req, reply) => {
      await find(req.params.id);
      const syncs = await usedBy(req.params.id);
      if (syncs.length > 0) throw new ConflictError('IDRA_ERR_DATA_SOURCE_IN_USE', `data source '${req.params.id}' is used by syncs ${syncs.join(', ')}`, { syncs });
      await configs.deleteDataSource(req.params.id);
      req.log.info({ dataSourceId: req.params.id, by: principalOf(req).name }, 'data source deleted');
      return reply.code(204).send(null);
    },
  );

  app.post(
    '/datasources/:id/test',
    { config: { access: 'operator' }, schema: { tags, summary: 'Open a real connection with a stored data source', params: IdParams, body: EmptyBody, response: { 200: TestResultSchema, ...errors(404) } } },
    async (req): Promise<ConnectionTestResult> => {
      const ds = await find(req.params.id);
      return testConnection(ds.connector, secrets.open(ds.connection));
    },
  );

  app.get(
    '/datasources/:id/tables',
    {
      config: { access: 'operator' },
      schema: { tags, summary: 'Tables and views of a stored SQL data source, with column types and primary keys', params: IdParams, response: { 200: TableListingSchema, ...errors(404) } },
    },
    async (req): Promise<TableListing> => {
      const ds = await find(req.params.id);
      const listing = await listTables(ds.connector, secrets.open(ds.connection));
      return { ...listing, tables: listing.tables.map((t) => ({ ...t, schema: t.schema ?? undefined })) };
    },
  );

  app.post(
    '/datasources/test',
    {
      config: { access: 'operator' },
      schema: { tags, summary: 'Open a real connection with an unsaved data source (masks take the stored secrets of the same id)', body: DataSourceSchema, response: { 200: TestResultSchema, ...errors(400) } },
    },
    async (req): Promise<ConnectionTestResult> => {
      const ds = validateDataSource(req.body);
      const stored = await configs.getDataSource(ds.id);
      const connection = secrets.merge(ds.connection, stored?.connection, 'connection');
      return testConnection(ds.connector, secrets.open(connection));
    },
  );
};
