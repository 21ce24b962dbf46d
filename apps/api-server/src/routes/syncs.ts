import { Type } from '@sinclair/typebox';
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import type { FastifyBaseLogger, FastifyRequest } from 'fastify';
import {
  ConfigError,
  IdSchema,
  KEYS,
  SyncLock,
  SyncSchema,
  followsLog,
  normalizeSync,
  type ConfigIssue,
  type SyncConfig,
  type DataSource,
  type HistoryEntry,
  type Sync,
} from '@idra/core';
import { checkSource, releaseSource } from '@idra/connectors';
import type { DeadLetterView, SourceCheck, SyncList, ValidateResult } from '@idra/api-client';
import { BadRequestError, ConflictError, NotFoundError, RequestValidationError, requireIdOfPath } from '../errors.ts';
import { prepareSync, storedSync, syncExists } from '../sync-input.ts';
import { ReasonQuery, auditOf, type AuditContext } from '../audit.ts';
import { OffsetDecisionQuery, guardOffsetScope } from '../offset-guard.ts';
import { principalOf } from '../plugins/auth.ts';
import { EmptyBody, IdParams, TransactionVisibilitySchema, errors } from '../schemas.ts';
import { probeLimit, probeOptions, type ProbeRouteOptions } from '../probes.ts';
import type { IdraContext } from '../context.ts';

const DeadLetterParams = Type.Object(
  { id: IdSchema, errorId: Type.String({ pattern: '^[0-9]{15}-[a-z0-9]{1,8}$', description: 'dead letter id' }) },
  { additionalProperties: false },
);
const PauseQuery = Type.Object({
  wait: Type.Optional(
    Type.Union([Type.Literal('true'), Type.Literal('false')], {
      description: 'true: answer once the agent has stopped the sync and released its lock (up to 30 s)',
    }),
  ),
  reason: ReasonQuery.properties.reason,
});
const ChangeQuery = Type.Composite([ReasonQuery, OffsetDecisionQuery]);
const DuplicateBody = Type.Object(
  {
    id: IdSchema,
    name: Type.Optional(Type.String({ maxLength: 200 })),
    enabled: Type.Optional(Type.Boolean({ description: 'default false: the copy starts paused' })),
  },
  { additionalProperties: false },
);

const PAUSE_WAIT_MS = 30_000;
/** Syncs of a bulk request checked or stored at once. */
const BULK_CONCURRENCY = 32;

/**
 * `fn` over every item, BULK_CONCURRENCY at a time (each next item starts as soon as one ends, no
 * group waits for its slowest); the results in the items' order. After a failure no new item starts,
 * and it is thrown once those under way have settled.
 */
async function inPool<T, R>(items: readonly T[], fn: (item: T, index: number) => Promise<R>): Promise<R[]> {
  const results: R[] = new Array<R>(items.length);
  let next = 0;
  let failure: { reason: unknown } | undefined;
  const worker = async () => {
    while (!failure && next < items.length) {
      const index = next++;
      try {
        results[index] = await fn(items[index]!, index);
      } catch (reason) {
        failure ??= { reason };
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(BULK_CONCURRENCY, items.length) }, worker));
  if (failure) throw failure.reason;
  return results;
}

/** The ids of the keys under `prefix` (`syncs/`, `offsets/`), read as keys only. */
async function idsUnder(ctx: IdraContext, prefix: string): Promise<Set<string>> {
  return new Set((await ctx.etcd.ns.getAll().prefix(prefix).keys()).map((key) => key.slice(prefix.length)));
}

/**
 * A route that judges its documents in the handler (attachValidation) still refuses a body whose frame
 * is wrong, with the schema's own 400, unless each of its issues lies within a part the handler names.
 */
function refuseFrame(req: FastifyRequest, within: (path: string) => boolean): void {
  const refused = req.validationError;
  if (refused && !(refused instanceof RequestValidationError && refused.issues.every((i) => within(i.path)))) throw refused;
}
/** Any field of the body, not the body itself (not an object). */
const inBody = (path: string) => path !== 'body';

const SourceCheckSchema = Type.Object({
  ok: Type.Boolean({ description: 'an agent would read the source: it connects and nothing stops the sync' }),
  error: Type.Optional(Type.String({ description: 'the connection failed (secrets removed)' })),
  problem: Type.Optional(Type.Object({ code: Type.String(), message: Type.String() }, { description: 'what would stop the sync, with what to do' })),
  warning: Type.Optional(Type.String({ description: 'what would weaken its guarantee while it runs' })),
  transactions: Type.Optional(TransactionVisibilitySchema),
});

/** `/syncs`: CRUD, validation, pause/resume, duplicate, status and dead letters of one sync. */
export const syncRoutes: FastifyPluginAsyncTypebox<ProbeRouteOptions> = async (app, opts) => {
  const ctx = app.idra;
  const { configs, statuses, secrets } = ctx;
  const tags = ['syncs'];

  const find = async (id: string): Promise<SyncConfig> => {
    const s = await storedSync(ctx, id);
    if (!s) throw new NotFoundError('sync', id);
    return s;
  };
  const stored = (s: SyncConfig) => secrets.maskSync(s);

  /** A sync from the editor, runnable: validated, masks merged with the stored sync of its id, data sources resolved. */
  const normalizeDraft = async (body: unknown): Promise<Sync> => {
    const id = (body as { id?: unknown }).id;
    const existing = typeof id === 'string' ? await configs.getSync(id).catch(() => undefined) : undefined;
    const config = await prepareSync(ctx, body, existing);
    const dataSources = new Map<string, DataSource>();
    for (const dsId of [config.source.dataSourceId, config.destination.dataSourceId]) {
      const ds = dsId ? await configs.getDataSource(dsId) : undefined;
      if (ds) dataSources.set(ds.id, ds);
    }
    return normalizeSync(config, (x) => dataSources.get(x));
  };

  app.get(
    '/syncs',
    {
      config: { access: 'viewer' },
      schema: {
        tags,
        summary: 'List syncs (secrets masked); stored documents that no longer validate are listed in invalid',
        response: { 200: Type.Ref('SyncList'), ...errors() },
      },
    },
    async (): Promise<SyncList> => {
      const { syncs, invalid } = await configs.listSyncs();
      return { syncs: syncs.map(stored), invalid };
    },
  );

  app.get(
    '/syncs/:id',
    { config: { access: 'viewer' }, schema: { tags, summary: 'One sync (secrets masked)', params: IdParams, response: { 200: SyncSchema, ...errors(404) } } },
    async (req) => stored(await find(req.params.id)),
  );

  // A draft is judged by core's validator in the handler (attachValidation), not refused by the route's
  // schema first: the 400 then names every problem at once, those of its shape and those between its fields.
  app.post(
    '/syncs/validate',
    {
      config: { access: 'viewer' },
      attachValidation: true,
      schema: {
        tags,
        summary: 'Check a sync without storing it: 200 with the normalized sync, or 400 naming each bad field',
        body: SyncSchema,
        response: { 200: Type.Ref('ValidateResult'), ...errors(400) },
      },
    },
    async (req): Promise<ValidateResult> => {
      refuseFrame(req, inBody);
      const normalized = await normalizeDraft(req.body);
      return { valid: true, normalized: { ...normalized, source: secrets.mask(normalized.source), destination: secrets.mask(normalized.destination) } };
    },
  );

  app.post(
    '/syncs/check',
    {
      config: { access: 'operator', rateLimit: probeLimit(opts) },
      attachValidation: true,
      schema: {
        tags,
        summary: "Connect to an unsaved sync's source as its agent would: would it run? (400 naming each bad field, like validate)",
        body: SyncSchema,
        response: { 200: SourceCheckSchema, ...errors(400, 429) },
      },
    },
    async (req): Promise<SourceCheck> => {
      refuseFrame(req, inBody);
      const sync = await normalizeDraft(req.body);
      return checkSource({ ...sync, source: secrets.open(sync.source) }, probeOptions(req));
    },
  );

  /** Stores a sync with its history entry; a change of what its stored offset points into needs the caller's decision first. */
  const save = async (
    config: SyncConfig,
    before: SyncConfig | undefined,
    who: AuditContext,
    decision: { offset?: 'reset' | 'keep' | undefined; confirm?: string | undefined },
    role: Parameters<typeof guardOffsetScope>[4],
    /** A bulk create knows already that the new sync's id has no stored offset: no guard to ask, no history to trim. */
    fresh = false,
  ) => {
    const resolution = fresh ? undefined : await guardOffsetScope(ctx, config, before, decision, role);
    await resolution?.apply(who.by, who.reason);
    const saved = await configs.putSync(config, ctx.audit.sync(before ? 'updated' : 'created', who, before, config, resolution?.record));
    if (!fresh) await ctx.audit.trim('sync', config.id);
    return saved;
  };

  app.post(
    '/syncs',
    {
      config: { access: 'operator' },
      schema: {
        tags,
        summary: 'Create a sync (recorded in its history)',
        querystring: ChangeQuery,
        body: SyncSchema,
        response: { 201: SyncSchema, ...errors(400, 409) },
      },
    },
    async (req, reply) => {
      if (await syncExists(ctx, req.body.id)) throw new ConflictError('IDRA_ERR_SYNC_EXISTS', `sync '${req.body.id}' already exists`);
      const saved = await save(await prepareSync(ctx, req.body, undefined), undefined, auditOf(req), req.query, principalOf(req).role);
      req.log.info({ syncId: saved.id, by: principalOf(req).name }, 'sync created');
      return reply.code(201).send(stored(saved));
    },
  );

  const BulkBody = Type.Object(
    { syncs: Type.Array(SyncSchema, { minItems: 1, maxItems: 1000, description: 'the syncs to create (all or none)' }) },
    { additionalProperties: false },
  );

  // Like validate, each sync is judged in the handler so that the 400 lists the problems of every one;
  // only an envelope that is wrong itself (no list, too long, an item that is no object) is refused as it is.
  app.post(
    '/syncs/bulk',
    {
      config: { access: 'operator' },
      attachValidation: true,
      schema: {
        tags,
        summary: 'Create many syncs at once: all are checked first, and none is created unless every one is valid (400 lists the problems of each)',
        querystring: ChangeQuery,
        body: BulkBody,
        response: { 201: Type.Object({ created: Type.Array(Type.String()) }), ...errors(400, 409) },
      },
    },
    async (req, reply) => {
      refuseFrame(req, (path) => /^syncs\[\d+\]\./.test(path));
      const items: Array<{ index: number; id: string | undefined; issues: ConfigIssue[] }> = [];
      const configs: SyncConfig[] = [];
      const seen = new Set<string>();
      // Which ids have a sync or an offset already: two reads of keys for the request, not two per sync.
      const [storedIds, offsetIds] = await Promise.all([idsUnder(ctx, KEYS.syncs), idsUnder(ctx, KEYS.offsets)]);
      // Each sync costs an etcd transaction or two: checked, then stored, BULK_CONCURRENCY at a time (1,000 in seconds).
      const checked = await inPool(req.body.syncs, async (input, index) => {
        const base = `syncs[${index}]`;
        const id = typeof (input as { id?: unknown }).id === 'string' ? (input as { id: string }).id : undefined;
        const issues: ConfigIssue[] = [];
        let config: SyncConfig | undefined;
        try {
          config = await prepareSync(ctx, input, undefined, undefined, base);
        } catch (err) {
          if (err instanceof ConfigError || (err instanceof BadRequestError && Array.isArray(err.details?.issues)))
            issues.push(...(err instanceof ConfigError ? err.issues : (err.details!.issues as ConfigIssue[])));
          else throw err;
        }
        const exists = id !== undefined && storedIds.has(id);
        return { base, id, issues, config, exists };
      });
      for (const [index, { base, id, issues, config, exists }] of checked.entries()) {
        if (config) configs.push(config);
        if (id !== undefined && seen.has(id)) issues.push({ path: `${base}.id`, message: `'${id}' appears twice in this request` });
        else if (exists) issues.push({ path: `${base}.id`, message: `sync '${id}' already exists` });
        if (id !== undefined) seen.add(id);
        if (issues.length > 0) items.push({ index, id, issues });
      }
      if (items.length > 0) {
        const issues = items.flatMap((i) => i.issues);
        throw new BadRequestError(
          'IDRA_ERR_SYNC_BULK_INVALID',
          `${items.length} of ${req.body.syncs.length} syncs have problems: nothing was created`,
          issues,
          { items },
        );
      }
      const created: string[] = [];
      try {
        await inPool(configs, async (config) =>
          created.push((await save(config, undefined, auditOf(req, 'bulk'), req.query, principalOf(req).role, !offsetIds.has(config.id))).id),
        );
      } catch (err) {
        // A sync created by someone else meanwhile: undo this request's, so that it stays all or nothing.
        for (const id of created) await ctx.configs.deleteSync(id).catch(() => false);
        throw err;
      }
      req.log.info({ syncs: created.length, by: principalOf(req).name }, 'syncs created in bulk');
      return reply.code(201).send({ created: configs.map((c) => c.id) });
    },
  );

  app.put(
    '/syncs/:id',
    {
      config: { access: 'operator' },
      schema: {
        tags,
        summary:
          'Create or replace a sync; masked secrets sent back keep the stored ones; a change of what its stored offset points into needs offset=reset|keep (recorded in its history)',
        params: IdParams,
        querystring: ChangeQuery,
        body: SyncSchema,
        response: { 200: SyncSchema, 201: SyncSchema, ...errors(400, 409) },
      },
    },
    async (req, reply) => {
      requireIdOfPath(req.body.id, req.params.id);
      const existed = await syncExists(ctx, req.params.id);
      // A stored document that no longer validates has no secrets to merge: it is simply replaced.
      const existing = await configs.getSync(req.params.id).catch(() => undefined);
      const saved = await save(await prepareSync(ctx, req.body, existing), existing, auditOf(req), req.query, principalOf(req).role);
      req.log.info({ syncId: saved.id, by: principalOf(req).name }, existed ? 'sync updated' : 'sync created');
      return reply.code(existed ? 200 : 201).send(stored(saved));
    },
  );

  app.delete(
    '/syncs/:id',
    {
      config: { access: 'operator' },
      schema: {
        tags,
        summary: "Delete a sync (its agent stops it; its offset and history are kept; a cdc sync's replication slot is dropped)",
        params: IdParams,
        querystring: ReasonQuery,
        response: { 204: Type.Null(), ...errors(404) },
      },
    },
    async (req, reply) => {
      const before = await configs.getSync(req.params.id).catch(() => undefined);
      const entry = before ? ctx.audit.sync('deleted', auditOf(req), before, undefined) : [];
      const runnable = before && followsLog(before.mode) ? await normalizeDraft(before).catch(() => undefined) : undefined;
      if (!(await configs.deleteSync(req.params.id, entry))) throw new NotFoundError('sync', req.params.id);
      if (runnable) await releaseChangeLog(runnable, req.log);
      await ctx.audit.trim('sync', req.params.id);
      await statuses.delete(req.params.id);
      await ctx.etcd.ns.delete().key(KEYS.retry(req.params.id)).exec();
      await ctx.activity.deleteAll(req.params.id);
      req.log.info({ syncId: req.params.id, by: principalOf(req).name }, 'sync deleted');
      return reply.code(204).send(null);
    },
  );

  /**
   * A deleted cdc sync's replication slot would hold the source's log forever: once its agent has let
   * the sync go (or after the pause wait), the slot is dropped; what cannot be is logged with what to do.
   */
  const releaseChangeLog = async (sync: Sync, log: FastifyBaseLogger): Promise<void> => {
    const deadline = Date.now() + PAUSE_WAIT_MS;
    while ((await SyncLock.owner(ctx.etcd.ns, sync.id)) !== undefined && Date.now() < deadline) await new Promise((r) => setTimeout(r, 200));
    const { released, error } = await releaseSource({ ...sync, source: secrets.open(sync.source) });
    if (error)
      log.warn(
        { syncId: sync.id, err: error },
        "the deleted sync's replication slot could not be dropped: drop it on the source (pg_drop_replication_slot), it holds the server's WAL",
      );
    else if (released.length > 0) log.info({ syncId: sync.id, released }, 'change log of the deleted sync released');
  };

  /** Flips `enabled` in one compare-and-swap on the document's revision, so a concurrent PUT is never lost. */
  const setEnabled = async (id: string, enabled: boolean, who: AuditContext): Promise<SyncConfig> => {
    const key = KEYS.sync(id);
    for (let attempt = 0; attempt < 5; attempt++) {
      const kv = (await ctx.etcd.ns.get(key).exec()).kvs[0];
      const current = kv && (await storedSync(ctx, id));
      if (!kv || !current) throw new NotFoundError('sync', id);
      if ((current.enabled ?? true) === enabled) return current;
      const next: SyncConfig = { ...current, enabled };
      const history = ctx.audit.sync(enabled ? 'resumed' : 'paused', who, current, next).map((h) => ctx.etcd.ns.put(h.key).value(h.value));
      const res = await ctx.etcd.ns
        .if(key, 'Mod', '==', kv.mod_revision)
        .then(ctx.etcd.ns.put(key).value(JSON.stringify(next)), ...history)
        .commit();
      if (res.succeeded) {
        await ctx.audit.trim('sync', id);
        app.log.info({ syncId: id, enabled, by: who.by }, enabled ? 'sync resumed' : 'sync paused');
        return next;
      }
    }
    throw new ConflictError('IDRA_ERR_SYNC_CHANGING', `sync '${id}' keeps changing under this request: retry`);
  };

  app.post(
    '/syncs/:id/pause',
    {
      config: { access: 'operator' },
      schema: {
        tags,
        summary: 'Pause a sync (enabled: false): the leader unassigns it, its agent finishes the batch and releases the lock',
        params: IdParams,
        querystring: PauseQuery,
        body: EmptyBody,
        response: { 200: SyncSchema, ...errors(404, 409) },
      },
    },
    async (req) => {
      const saved = await setEnabled(req.params.id, false, auditOf(req));
      if (req.query.wait === 'true') {
        const deadline = Date.now() + PAUSE_WAIT_MS;
        let owner: string | undefined;
        while ((owner = await SyncLock.owner(ctx.etcd.ns, req.params.id)) !== undefined && Date.now() < deadline) await new Promise((r) => setTimeout(r, 200));
        if (owner)
          throw new ConflictError(
            'IDRA_ERR_SYNC_STILL_RUNNING',
            `sync '${req.params.id}' is paused but agent ${owner} still holds its lock after ${PAUSE_WAIT_MS / 1000} s`,
            { agentId: owner },
          );
      }
      return stored(saved);
    },
  );

  app.post(
    '/syncs/:id/resume',
    {
      config: { access: 'operator' },
      schema: {
        tags,
        summary: 'Resume a sync (enabled: true)',
        params: IdParams,
        querystring: ReasonQuery,
        body: EmptyBody,
        response: { 200: SyncSchema, ...errors(404) },
      },
    },
    async (req) => stored(await setEnabled(req.params.id, true, auditOf(req))),
  );

  app.post(
    '/syncs/:id/retry',
    {
      config: { access: 'operator' },
      schema: {
        tags,
        summary: "Retry now: the sync's agent attempts again at once, without waiting for the backoff (or for a change, after a rejected row)",
        params: IdParams,
        body: EmptyBody,
        response: { 202: Type.Object({ requested: Type.Boolean(), runningOn: Type.Union([Type.String(), Type.Null()]) }), ...errors(404, 409) },
      },
    },
    async (req, reply) => {
      const sync = await find(req.params.id);
      if (sync.enabled === false) throw new ConflictError('IDRA_ERR_SYNC_PAUSED', `sync '${sync.id}' is paused: resume it to run it again`);
      const by = principalOf(req).name;
      // The owning agent watches this key; nothing else is written, so an idle cluster stays idle.
      await ctx.etcd.ns.put(KEYS.retry(sync.id)).value(JSON.stringify({ at: new Date().toISOString(), by }));
      req.log.info({ syncId: sync.id, by }, 'retry requested');
      await ctx.activity.addEvent(sync.id, { at: new Date().toISOString(), kind: 'config', text: 'Retry now asked', by });
      return reply.code(202).send({ requested: true, runningOn: (await SyncLock.owner(ctx.etcd.ns, sync.id)) ?? null });
    },
  );

  app.post(
    '/syncs/:id/duplicate',
    {
      config: { access: 'operator' },
      schema: {
        tags,
        summary: 'Copy a sync under a new id (paused unless enabled: true)',
        params: IdParams,
        body: DuplicateBody,
        response: { 201: SyncSchema, ...errors(404, 409) },
      },
    },
    async (req, reply) => {
      const source = await find(req.params.id);
      if (await syncExists(ctx, req.body.id)) throw new ConflictError('IDRA_ERR_SYNC_EXISTS', `sync '${req.body.id}' already exists`);
      // The stored secrets are sealed with the same key: the copy keeps them as they are.
      const saved = await save(
        { ...source, id: req.body.id, name: req.body.name ?? `${source.name ?? source.id} (copy)`, enabled: req.body.enabled ?? false },
        undefined,
        auditOf(req, `duplicate of ${source.id}`),
        {},
        principalOf(req).role,
      );
      req.log.info({ syncId: saved.id, from: source.id, by: principalOf(req).name }, 'sync duplicated');
      return reply.code(201).send(stored(saved));
    },
  );

  app.get(
    '/syncs/:id/history',
    {
      config: { access: 'viewer' },
      schema: {
        tags,
        summary: 'Every create, update, pause, resume and delete of a sync: who, when, the changes (secrets masked), why; newest first',
        params: IdParams,
        response: { 200: Type.Array(Type.Ref('HistoryEntry')), ...errors() },
      },
    },
    async (req): Promise<HistoryEntry[]> => ctx.history.list('sync', req.params.id),
  );

  app.get(
    '/syncs/:id/status',
    {
      config: { access: 'viewer' },
      schema: {
        tags,
        summary:
          'What the agent running the sync last reported (state, rows, lag, last error); 404 IDRA_ERR_SYNC_NOT_FOUND: no such sync, IDRA_ERR_SYNC_STATUS_NOT_FOUND: no agent has reported on it yet',
        params: IdParams,
        response: { 200: Type.Ref('SyncStatus'), ...errors(404) },
      },
    },
    async (req) => {
      const [status, exists] = await Promise.all([statuses.get(req.params.id), syncExists(ctx, req.params.id)]);
      if (!exists) throw new NotFoundError('sync', req.params.id);
      if (!status) throw new NotFoundError('sync status', req.params.id);
      return status;
    },
  );

  app.get(
    '/syncs/:id/errors',
    {
      config: { access: 'viewer' },
      schema: {
        tags,
        summary: 'Rows the destination rejected (dead letters), oldest first',
        params: IdParams,
        response: { 200: Type.Array(Type.Ref('DeadLetterView')), ...errors() },
      },
    },
    async (req): Promise<DeadLetterView[]> => statuses.listDeadLetters(req.params.id),
  );

  app.delete(
    '/syncs/:id/errors',
    {
      config: { access: 'operator' },
      schema: {
        tags,
        summary: 'Delete every dead letter of a sync',
        params: IdParams,
        response: { 200: Type.Object({ deleted: Type.Integer() }), ...errors() },
      },
    },
    async (req) => {
      const deleted = await statuses.deleteDeadLetters(req.params.id);
      req.log.info({ syncId: req.params.id, deleted, by: principalOf(req).name }, 'dead letters deleted');
      return { deleted };
    },
  );

  app.delete(
    '/syncs/:id/errors/:errorId',
    {
      config: { access: 'operator' },
      schema: { tags, summary: 'Delete one dead letter', params: DeadLetterParams, response: { 204: Type.Null(), ...errors(404) } },
    },
    async (req, reply) => {
      if ((await statuses.deleteDeadLetters(req.params.id, [req.params.errorId])) === 0)
        throw new NotFoundError('dead letter', `${KEYS.errors(req.params.id)}${req.params.errorId}`);
      return reply.code(204).send(null);
    },
  );
};
