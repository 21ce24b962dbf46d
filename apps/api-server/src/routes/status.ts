import { Type } from '@sinclair/typebox';
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import type { AssignmentView, ErrorSummary, OverviewPage, OverviewSummary, SyncOverview, SyncStatus } from '@idra/api-client';
import {
  HEALTH_ORDER,
  KEYS,
  OVERVIEW_MAX_PAGE_SIZE,
  OVERVIEW_MAX_QUERY_LENGTH,
  OVERVIEW_SORT_KEYS,
  deriveHealth,
  queryOverview,
  readOverviewQuery,
  readUnassigned,
  summariseOverview,
} from '@idra/core';
import { deadLetterCounts, listAssignments, lockOwners } from '../cluster-view.ts';
import { NotFoundError } from '../errors.ts';
import { errors, IdParams } from '../schemas.ts';

const OverviewPageQuery = Type.Object(
  {
    q: Type.Optional(
      Type.String({ maxLength: OVERVIEW_MAX_QUERY_LENGTH, description: 'text searched in id, name, tables, connectors, data sources, agent and last error' }),
    ),
    health: Type.Optional(Type.Union(HEALTH_ORDER.map((h) => Type.Literal(h)))),
    sort: Type.Optional(
      Type.Union(
        OVERVIEW_SORT_KEYS.map((k) => Type.Literal(k)),
        { description: 'default health (problems first)' },
      ),
    ),
    dir: Type.Optional(Type.Union([Type.Literal('asc'), Type.Literal('desc')])),
    page: Type.Optional(Type.String({ pattern: '^[1-9][0-9]{0,5}$', description: '1-based (default 1); past the last page gives the last' })),
    // The pattern spells OVERVIEW_MAX_PAGE_SIZE (200); the API test holds the two together.
    pageSize: Type.Optional(Type.String({ pattern: '^([1-9][0-9]?|1[0-9]{2}|200)$', description: `syncs per page, 1–${OVERVIEW_MAX_PAGE_SIZE} (default 25)` })),
  },
  { additionalProperties: false },
);

/** `/status`, `/overview`, `/errors`: what the agents report, for dashboards that poll. */
export const statusRoutes: FastifyPluginAsyncTypebox = async (app) => {
  const { configs, statuses, etcd } = app.idra;
  const tags = ['status'];

  app.get(
    '/status',
    {
      config: { access: 'viewer' },
      schema: {
        tags,
        summary: 'Status and lag of every sync, as reported by their agents',
        response: { 200: Type.Array(Type.Ref('SyncStatus')), ...errors() },
      },
    },
    async (): Promise<SyncStatus[]> => {
      const [{ syncs, invalid }, list] = await Promise.all([configs.listSyncs(), statuses.list()]);
      // A status left by a sync deleted before agents stopped writing them back (older versions) is not listed.
      const ids = new Set([...syncs, ...invalid].map((s) => s.id));
      return list.filter((s) => ids.has(s.syncId)).sort((a, b) => a.syncId.localeCompare(b.syncId));
    },
  );

  let overviewInFlight: Promise<SyncOverview[]> | undefined;
  /** Every sync with what the cluster says of it, read from etcd in one go. */
  async function readOverview(): Promise<SyncOverview[]> {
    const [{ syncs }, list, assignments, locks, dead, unassigned] = await Promise.all([
      configs.listSyncs(),
      statuses.list(),
      listAssignments(etcd.ns),
      lockOwners(etcd.ns),
      deadLetterCounts(etcd.ns),
      readUnassigned(etcd.ns),
    ]);
    const statusById = new Map(list.map((s) => [s.syncId, s]));
    const assignmentById = new Map<string, AssignmentView>(assignments.map((a) => [a.syncId, a]));
    const endpoint = (e: { connector: string; dataSourceId?: string | undefined; table?: string | undefined }) => ({
      connector: e.connector,
      dataSourceId: e.dataSourceId,
      table: e.table,
    });
    return syncs.map((s) => {
      const status = statusById.get(s.id) ?? null;
      const assignment = assignmentById.get(s.id) ?? null;
      const enabled = s.enabled !== false;
      // The leader's reason stays until it assigns the sync; a paused sync needs none.
      const left = enabled && assignment === null ? (unassigned.get(s.id) ?? null) : null;
      return {
        id: s.id,
        name: s.name ?? s.id,
        enabled,
        mode: s.mode,
        source: endpoint(s.source),
        destination: endpoint(s.destination),
        status,
        assignment,
        runningOn: locks.get(s.id) ?? null,
        deadLetters: dead.get(s.id) ?? 0,
        unassigned: left,
        health: deriveHealth({ enabled, status, assigned: assignment !== null, unassignedReason: left?.reason, lagThreshold: s.lagThreshold }),
        lagThreshold: s.lagThreshold,
      };
    });
  }

  app.get(
    '/overview',
    {
      config: { access: 'viewer' },
      schema: {
        tags,
        summary: 'Every sync with its health, status, assignment, lock owner and dead letter count',
        response: { 200: Type.Array(Type.Ref('SyncOverview')), ...errors() },
      },
    },
    // Dashboard tabs refreshing on the same change ask at once: they share one reading of etcd.
    async (): Promise<SyncOverview[]> => sharedOverview(),
  );
  function sharedOverview(): Promise<SyncOverview[]> {
    return (overviewInFlight ??= currentOverview().finally(() => (overviewInFlight = undefined)));
  }

  // Dashboards and lists ask for a page or a summary of the same reading: a tab receives tens of kB, not every sync.
  app.get(
    '/overview/page',
    {
      config: { access: 'viewer' },
      schema: {
        tags,
        summary: 'One page of the overview: syncs matching a text and a health, sorted, with counts by health',
        querystring: OverviewPageQuery,
        response: { 200: Type.Ref('OverviewPage'), ...errors(400) },
      },
    },
    // The schema has refused any wrong value, naming it.
    async (req): Promise<OverviewPage> =>
      queryOverview(await sharedOverview(), readOverviewQuery({ get: (name) => (req.query as Record<string, string>)[name] })),
  );

  app.get(
    '/overview/summary',
    {
      config: { access: 'viewer' },
      schema: {
        tags,
        summary: 'Syncs by health, the 12 busiest enabled syncs (problems first) and the 10 newest errors',
        response: { 200: Type.Ref('OverviewSummary'), ...errors() },
      },
    },
    async (): Promise<OverviewSummary> => summariseOverview(await sharedOverview()),
  );

  app.get(
    '/syncs/:id/overview',
    {
      config: { access: 'viewer' },
      schema: {
        tags,
        summary: "The sync's row of the overview: health, status, assignment, lock owner and dead letters; 404 IDRA_ERR_SYNC_NOT_FOUND",
        params: IdParams,
        response: { 200: Type.Ref('SyncOverview'), ...errors(404) },
      },
    },
    async (req): Promise<SyncOverview> => {
      const row = (await sharedOverview()).find((o) => o.id === req.params.id);
      if (!row) throw new NotFoundError('sync', req.params.id);
      return row;
    },
  );

  let lastOverview: { revision: string; overview: SyncOverview[] } | undefined;
  /**
   * The overview read last, while nothing in etcd changed since (its revision, asked first: one cheap
   * read), else read again: tabs of a quiet cluster cost one round trip each, and none sees a stale one.
   */
  async function currentOverview(): Promise<SyncOverview[]> {
    const { revision } = (await etcd.ns.get(KEYS.syncs).exec()).header;
    if (lastOverview?.revision === revision) return lastOverview.overview;
    const overview = await readOverview();
    // The revision read before the overview: a change made meanwhile makes the next request read again.
    lastOverview = { revision, overview };
    return overview;
  }

  app.get(
    '/errors',
    {
      config: { access: 'viewer' },
      schema: {
        tags,
        summary: 'Number of dead letters per sync',
        response: { 200: Type.Array(Type.Object({ syncId: Type.String(), count: Type.Integer() })), ...errors() },
      },
    },
    async (): Promise<ErrorSummary[]> =>
      [...(await deadLetterCounts(etcd.ns))].map(([syncId, count]) => ({ syncId, count })).sort((a, b) => a.syncId.localeCompare(b.syncId)),
  );
};
