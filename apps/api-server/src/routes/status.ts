import { Type } from '@sinclair/typebox';
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import type { AssignmentView, ErrorSummary, SyncOverview, SyncStatus } from '@idra/api-client';
import { KEYS, deriveHealth, readUnassigned } from '@idra/core';
import { deadLetterCounts, listAssignments, lockOwners } from '../cluster-view.ts';
import { errors } from '../schemas.ts';

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
    async (): Promise<SyncOverview[]> => (overviewInFlight ??= currentOverview().finally(() => (overviewInFlight = undefined))),
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
