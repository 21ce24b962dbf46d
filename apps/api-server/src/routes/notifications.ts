import { randomUUID } from 'node:crypto';
import { Type } from '@sinclair/typebox';
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { ChannelSchema, RuleSchema, SECRET_MASK, deliverOnce, deliveryOf, sequenceKey, type Channel, type NotificationEvent, type Rule } from '@idra/core';
import type { NotificationTestResult } from '@idra/api-client';
import { BadRequestError, ConflictError, NotFoundError, requireIdOfPath } from '../errors.ts';
import { principalOf } from '../plugins/auth.ts';
import { EmptyBody, IdParams, errors } from '../schemas.ts';

/** What a channel's URL shows: where it goes, not the path and query that hold its credentials. */
function maskedUrl(url: string): string {
  try {
    return `${new URL(url).origin}/${SECRET_MASK}`;
  } catch {
    return SECRET_MASK;
  }
}

// Query strings are text (the API does not coerce them): a number is checked by its pattern.
const DeliveriesQuery = Type.Object(
  { limit: Type.Optional(Type.String({ pattern: '^(500|[1-4][0-9]{2}|[1-9][0-9]?)$', description: 'newest deliveries to return (1–500, default 500)' })) },
  { additionalProperties: false },
);
/**
 * A channel as the API shows and takes it: answers mask its URL's path and its secret, and a mask sent
 * back stands for the stored value (core's ChannelSchema alone would refuse the secret's mask as too short).
 */
const ChannelViewSchema = Type.Object(
  {
    ...ChannelSchema.properties,
    secret: Type.Optional(
      Type.Union([Type.Required(ChannelSchema).properties.secret, Type.Literal(SECRET_MASK)], {
        description: `at least 16 characters; ${SECRET_MASK} in answers, and sent back it keeps the stored secret`,
      }),
    ),
  },
  { additionalProperties: false },
);
const TestResultSchema = Type.Object({
  ok: Type.Boolean(),
  httpStatus: Type.Optional(Type.Integer()),
  error: Type.Optional(Type.String()),
  deliveryId: Type.String(),
});

/**
 * `/notifications`: channels and rules (admins only; channel URLs and secrets sealed in etcd and
 * masked in every answer), a test message per channel, and what the leader did: open incidents and
 * the delivery log (anyone signed in).
 */
export const notificationRoutes: FastifyPluginAsyncTypebox = async (app) => {
  const { notify } = app.idra;
  const tags = ['notifications'];

  const findChannel = async (id: string): Promise<Channel> => {
    const c = await notify.getChannel(id);
    if (!c) throw new NotFoundError('notification channel', id);
    return c;
  };
  const view = (stored: Channel): Channel => {
    const open = notify.open(stored);
    return { ...open, url: maskedUrl(open.url), secret: open.secret === undefined ? undefined : SECRET_MASK };
  };
  /** A client's channel with masks sent back unchanged replaced by the stored URL and secret. */
  const restore = (incoming: Channel, stored: Channel | undefined): Channel => {
    const open = stored ? notify.open(stored) : undefined;
    const url = open && incoming.url === maskedUrl(open.url) ? open.url : incoming.url;
    const secret = incoming.secret === SECRET_MASK ? open?.secret : incoming.secret;
    if (url.includes(SECRET_MASK) || (incoming.secret === SECRET_MASK && secret === undefined)) {
      const field = url.includes(SECRET_MASK) ? 'url' : 'secret';
      throw new BadRequestError('IDRA_ERR_SECRETS_MASKED', `${field}: the mask stands for nothing stored: give the value itself`, [
        { path: field, message: 'the mask stands for nothing stored' },
      ]);
    }
    return { ...incoming, url, secret };
  };
  /** Every channel a rule names must exist. */
  const checkChannels = async (rule: Rule): Promise<void> => {
    const known = new Set((await notify.listChannels()).map((c) => c.id));
    const issues = rule.channels.flatMap((id, i) => (known.has(id) ? [] : [{ path: `channels[${i}]`, message: `no notification channel '${id}'` }]));
    if (issues.length > 0) throw new BadRequestError('IDRA_ERR_CONFIG_INVALID', issues.map((i) => `${i.path}: ${i.message}`).join('; '), issues);
  };

  app.get(
    '/notifications/channels',
    {
      config: { access: 'admin' },
      schema: { tags, summary: 'Notification channels (URL and secret masked)', response: { 200: Type.Array(ChannelViewSchema), ...errors() } },
    },
    async () => (await notify.listChannels()).map(view),
  );

  app.post(
    '/notifications/channels',
    {
      config: { access: 'admin' },
      schema: {
        tags,
        summary: 'Create a notification channel (webhook or Slack)',
        body: ChannelViewSchema,
        response: { 201: ChannelViewSchema, ...errors(400, 409) },
      },
    },
    async (req, reply) => {
      const body = req.body;
      if (await notify.getChannel(body.id)) throw new ConflictError('IDRA_ERR_NOTIFY_CHANNEL_EXISTS', `notification channel '${body.id}' already exists`);
      const stored = await notify.putChannel(restore(body, undefined));
      req.log.info({ channelId: stored.id, kind: stored.kind, by: principalOf(req).name }, 'notification channel created');
      return reply.code(201).send(view(stored));
    },
  );

  app.put(
    '/notifications/channels/:id',
    {
      config: { access: 'admin' },
      schema: {
        tags,
        summary: 'Create or replace a notification channel; a masked URL or secret sent back keeps the stored one',
        params: IdParams,
        body: ChannelViewSchema,
        response: { 200: ChannelViewSchema, ...errors(400) },
      },
    },
    async (req) => {
      const body = req.body;
      requireIdOfPath(body.id, req.params.id);
      const stored = await notify.putChannel(restore(body, await notify.getChannel(req.params.id)));
      req.log.info({ channelId: stored.id, by: principalOf(req).name }, 'notification channel saved');
      return view(stored);
    },
  );

  app.delete(
    '/notifications/channels/:id',
    {
      config: { access: 'admin' },
      schema: { tags, summary: 'Delete a notification channel no rule uses', params: IdParams, response: { 204: Type.Null(), ...errors(404, 409) } },
    },
    async (req, reply) => {
      await findChannel(req.params.id);
      const users = (await notify.listRules()).filter((r) => r.channels.includes(req.params.id)).map((r) => r.id);
      if (users.length > 0)
        throw new ConflictError(
          'IDRA_ERR_NOTIFY_CHANNEL_IN_USE',
          `notification channel '${req.params.id}' is used by rule ${users.join(', ')}: change or delete the rules first`,
          { rules: users },
        );
      await notify.deleteChannel(req.params.id);
      req.log.info({ channelId: req.params.id, by: principalOf(req).name }, 'notification channel deleted');
      return reply.code(204).send(null);
    },
  );

  app.post(
    '/notifications/channels/:id/test',
    {
      config: { access: 'admin' },
      schema: {
        tags,
        summary: 'Send a sample notification through the channel now (once, no retries), logged in the deliveries',
        params: IdParams,
        body: EmptyBody,
        response: { 200: TestResultSchema, ...errors(404) },
      },
    },
    async (req): Promise<NotificationTestResult> => {
      const channel = notify.open(await findChannel(req.params.id));
      const at = new Date().toISOString();
      const event: NotificationEvent = {
        id: `test-${randomUUID()}`,
        type: 'test',
        at,
        incident: { id: 'test', kind: 'sync-failing', syncId: undefined, since: at, openedAt: at, health: undefined, reason: 'a test message' },
        text: `Test message from Idra (sent by ${principalOf(req).name}): notifications through '${channel.name ?? channel.id}' arrive.`,
      };
      const result = await deliverOnce(channel, event);
      const delivery = {
        ...deliveryOf({ id: sequenceKey(), channelId: channel.id, event }),
        status: result.delivered ? ('delivered' as const) : ('failed' as const),
        attempts: 1,
        httpStatus: result.httpStatus,
        error: result.error,
      };
      await notify.logDelivery(delivery);
      req.log.info({ channelId: channel.id, ok: result.delivered, httpStatus: result.httpStatus }, 'test notification sent');
      return { ok: result.delivered, httpStatus: result.httpStatus, error: result.error, deliveryId: delivery.id };
    },
  );

  app.get(
    '/notifications/rules',
    { config: { access: 'admin' }, schema: { tags, summary: 'Notification rules', response: { 200: Type.Array(RuleSchema), ...errors() } } },
    async () => notify.listRules(),
  );

  app.post(
    '/notifications/rules',
    {
      config: { access: 'admin' },
      schema: { tags, summary: 'Create a notification rule', body: RuleSchema, response: { 201: RuleSchema, ...errors(400, 409) } },
    },
    async (req, reply) => {
      const body = req.body;
      if (await notify.getRule(body.id)) throw new ConflictError('IDRA_ERR_NOTIFY_RULE_EXISTS', `notification rule '${body.id}' already exists`);
      const rule = await notify.putRule(body, checkChannels);
      req.log.info({ ruleId: rule.id, by: principalOf(req).name }, 'notification rule created');
      return reply.code(201).send(rule);
    },
  );

  app.put(
    '/notifications/rules/:id',
    {
      config: { access: 'admin' },
      schema: {
        tags,
        summary: 'Create or replace a notification rule',
        params: IdParams,
        body: RuleSchema,
        response: { 200: RuleSchema, ...errors(400) },
      },
    },
    async (req) => {
      const body = req.body;
      requireIdOfPath(body.id, req.params.id);
      const rule = await notify.putRule(body, checkChannels);
      req.log.info({ ruleId: rule.id, by: principalOf(req).name }, 'notification rule saved');
      return rule;
    },
  );

  app.delete(
    '/notifications/rules/:id',
    {
      config: { access: 'admin' },
      schema: {
        tags,
        summary: 'Delete a notification rule (its incidents close without a message)',
        params: IdParams,
        response: { 204: Type.Null(), ...errors(404) },
      },
    },
    async (req, reply) => {
      if (!(await notify.deleteRule(req.params.id))) throw new NotFoundError('notification rule', req.params.id);
      req.log.info({ ruleId: req.params.id, by: principalOf(req).name }, 'notification rule deleted');
      return reply.code(204).send(null);
    },
  );

  app.get(
    '/notifications/incidents',
    {
      config: { access: 'viewer' },
      schema: {
        tags,
        summary: 'Incidents open (told) or pending (not lasted long enough yet)',
        response: { 200: Type.Array(Type.Ref('Incident')), ...errors() },
      },
    },
    async () => [...(await notify.listIncidents()).values()],
  );

  app.get(
    '/notifications/deliveries',
    {
      config: { access: 'viewer' },
      schema: {
        tags,
        summary: 'The delivery log, newest first',
        querystring: DeliveriesQuery,
        response: { 200: Type.Array(Type.Ref('Delivery')), ...errors() },
      },
    },
    async (req) => notify.listDeliveries(req.query.limit === undefined ? undefined : Number(req.query.limit)),
  );
};
