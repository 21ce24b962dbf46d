import { Type } from '@sinclair/typebox';
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import type { HistoryEntry, Position, TimelineEvent } from '@idra/core';
import type { SyncActivity } from '@idra/api-client';
import { IdParams, errors } from '../schemas.ts';

/** The value of a position, for a timeline line (the UI shows the full offset history). */
const valueOf = (p: Position | null) => (p ? JSON.stringify(p.kind === 'timestamp' ? [p.value, p.tiebreaker] : p.value) : 'the beginning');

/** A change of the sync's configuration (created, updated, paused, resumed, deleted) from its audited history. */
function auditEvent(e: HistoryEntry): TimelineEvent {
  const fields = e.changes.map((c) => c.path).filter((p) => p !== 'enabled');
  const what = e.action === 'updated' && fields.length > 0 ? `updated ${fields.slice(0, 4).join(', ')}${fields.length > 4 ? ' …' : ''}` : e.action;
  return { at: e.at, kind: e.action === 'paused' || e.action === 'resumed' ? e.action : 'config', by: e.by, text: `${what}${e.reason ? `: ${e.reason}` : ''}` };
}

const RANGES = { '1h': 3_600_000, '6h': 6 * 3_600_000, '24h': 24 * 3_600_000 } as const;
const HistoryQuery = Type.Object(
  { range: Type.Optional(Type.Union([Type.Literal('1h'), Type.Literal('6h'), Type.Literal('24h')], { description: 'how far back (default 1h)' })) },
  { additionalProperties: false },
);
const TimelineQuery = Type.Object(
  { limit: Type.Optional(Type.String({ pattern: '^[1-9][0-9]{0,2}$', description: 'newest events to return (1–999, default 200)' })) },
  { additionalProperties: false },
);

/** `/syncs/:id/activity` (per-minute throughput, lag and errors, 24 h) and `/syncs/:id/timeline` (what happened, who, when). */
export const activityRoutes: FastifyPluginAsyncTypebox = async (app) => {
  const { activity, offsets, history } = app.idra;
  const tags = ['status'];

  app.get(
    '/syncs/:id/activity',
    {
      config: { access: 'viewer' },
      schema: {
        tags,
        summary: 'Per-minute points written by the agents (rows, errors, lag, state); minutes with nothing new are absent',
        params: IdParams,
        querystring: HistoryQuery,
        response: { 200: Type.Ref('SyncActivity'), ...errors() },
      },
    },
    async (req): Promise<SyncActivity> => {
      const range = req.query.range ?? '1h';
      const to = Date.now();
      const from = to - RANGES[range];
      return {
        syncId: req.params.id,
        range,
        from: new Date(from).toISOString(),
        to: new Date(to).toISOString(),
        points: await activity.points(req.params.id, from),
      };
    },
  );

  app.get(
    '/syncs/:id/timeline',
    {
      config: { access: 'viewer' },
      schema: {
        tags,
        summary: 'State changes, handoffs, errors, schema changes, pauses and offset edits, newest first',
        params: IdParams,
        querystring: TimelineQuery,
        response: { 200: Type.Array(Type.Ref('TimelineEvent')), ...errors() },
      },
    },
    async (req): Promise<TimelineEvent[]> => {
      const limit = Number(req.query.limit ?? 200);
      const [events, changes, audit] = await Promise.all([
        activity.events(req.params.id, limit),
        offsets.history(req.params.id),
        history.list('sync', req.params.id),
      ]);
      const edits: TimelineEvent[] = changes.map((c) => ({
        at: c.at,
        kind: 'offset',
        by: c.by,
        text: `offset changed from ${valueOf(c.old)} to ${valueOf(c.new)}: ${c.reason}`,
      }));
      return [...events, ...edits, ...audit.map(auditEvent)].sort((a, b) => b.at.localeCompare(a.at)).slice(0, limit);
    },
  );
};
