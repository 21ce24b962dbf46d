import { Type, type Static } from '@sinclair/typebox';
import { ConfigError } from '../errors.ts';
import type { Health } from '../health/health.ts';
import { IdSchema } from '../model/schema.ts';
import { assertSchema } from '../model/validate.ts';

const Name = Type.String({ minLength: 1, maxLength: 100, pattern: '^[^\\u0000-\\u001f]*$', description: 'a name without control characters (max 100)' });

/**
 * Where notifications go. `webhook`: a JSON POST signed with HMAC-SHA256 when `secret` is set
 * (`X-Idra-Signature: sha256=<hex>` over `<X-Idra-Timestamp>.<body>`); `slack`: a Slack-compatible
 * incoming webhook (`{ "text": … }`; Mattermost, Rocket.Chat and Teams' Slack mode take it too).
 * `url` and `secret` are sealed in etcd and never returned in clear.
 */
export const ChannelSchema = Type.Object(
  {
    id: IdSchema,
    name: Type.Optional(Name),
    kind: Type.Union([Type.Literal('webhook'), Type.Literal('slack')], { description: 'webhook or slack' }),
    url: Type.String({ minLength: 1, maxLength: 2000, description: 'the http(s) URL to POST to' }),
    /** Key of the webhook's HMAC-SHA256 signature (at least 16 characters). Slack channels have none. */
    secret: Type.Optional(Type.String({ minLength: 16, maxLength: 200, description: 'at least 16 characters' })),
    /** @default true */
    enabled: Type.Optional(Type.Boolean()),
  },
  { additionalProperties: false },
);
export type Channel = Static<typeof ChannelSchema>;

/**
 * When to notify, for which syncs, through which channels. One message when an incident opens, one
 * when it closes; nothing in between, however often the sync's state changes.
 */
export const RuleSchema = Type.Object(
  {
    id: IdSchema,
    name: Type.Optional(Name),
    /** @default true */
    enabled: Type.Optional(Type.Boolean()),
    channels: Type.Array(IdSchema, { minItems: 1, maxItems: 20, description: 'ids of notification channels' }),
    /** The syncs it watches; absent or empty: every sync. */
    syncs: Type.Optional(Type.Array(IdSchema, { maxItems: 1000 })),
    /** A sync's health becomes `failed`. @default true */
    onFailed: Type.Optional(Type.Boolean()),
    /** A sync has been `retrying` (or failed) for this many minutes; absent: never. */
    onRetryingMinutes: Type.Optional(Type.Integer({ minimum: 0, maximum: 10_080 })),
    /** A sync has been `lagging` (behind its lagThreshold) for this many minutes; absent: never. */
    onLagMinutes: Type.Optional(Type.Integer({ minimum: 0, maximum: 10_080 })),
    /** Fewer agents than this are registered; absent: never. */
    onAgentsBelow: Type.Optional(Type.Integer({ minimum: 1, maximum: 10_000 })),
  },
  { additionalProperties: false },
);
export type Rule = Static<typeof RuleSchema>;

/** A channel as a client sent it: checked field by field, the URL an http(s) URL without a fragment. */
export function validateChannel(input: unknown, base = ''): Channel {
  const channel = assertSchema(ChannelSchema, input, 'invalid notification channel', base);
  const at = (field: string) => (base ? `${base}.${field}` : field);
  let url: URL | undefined;
  try {
    url = new URL(channel.url);
  } catch {
    // reported below
  }
  if (!url || (url.protocol !== 'http:' && url.protocol !== 'https:')) {
    throw new ConfigError([{ path: at('url'), message: 'must be an http:// or https:// URL' }], 'invalid notification channel');
  }
  if (channel.kind === 'slack' && channel.secret !== undefined) {
    throw new ConfigError(
      [{ path: at('secret'), message: 'is for webhook channels only (a Slack webhook URL is its own secret)' }],
      'invalid notification channel',
    );
  }
  return channel;
}

/** A rule as a client sent it; it must watch for something. */
export function validateRule(input: unknown, base = ''): Rule {
  const rule = assertSchema(RuleSchema, input, 'invalid notification rule', base);
  if (rule.onFailed === false && rule.onRetryingMinutes === undefined && rule.onLagMinutes === undefined && rule.onAgentsBelow === undefined) {
    throw new ConfigError(
      [{ path: base || 'onFailed', message: 'the rule watches for nothing: set onFailed, onRetryingMinutes, onLagMinutes or onAgentsBelow' }],
      'invalid notification rule',
    );
  }
  return rule;
}

/** What an incident is about: a sync that fails (failed or retrying), a sync that lags, too few agents. */
export type IncidentKind = 'sync-failing' | 'sync-lagging' | 'agents';

/**
 * Something a rule watches for, as the leader keeps it in etcd: `pending` while its condition holds
 * but has not lasted long enough, `open` once its message was queued. It is deleted when it closes.
 */
export interface Incident {
  /** `<ruleId>/<kind>/<syncId or ->`, also its key under `notify/incidents/`. */
  id: string;
  ruleId: string;
  kind: IncidentKind;
  syncId?: string | undefined;
  state: 'pending' | 'open';
  /** When the condition began. */
  since: string;
  openedAt?: string | undefined;
  /** The sync's health when it opened (sync incidents). */
  health?: Health | undefined;
  /** One line saying why, e.g. the sync's last error. */
  reason: string;
}

/** What a channel is sent. */
export interface NotificationEvent {
  /** Unique per message: a receiver that sees an id twice can drop the second (a send is retried until acknowledged). */
  id: string;
  type: 'opened' | 'recovered' | 'test';
  at: string;
  ruleId?: string | undefined;
  incident: Pick<Incident, 'id' | 'kind' | 'syncId' | 'since' | 'openedAt' | 'health' | 'reason'> & { closedAt?: string | undefined };
  /** A line for people (the Slack message). */
  text: string;
}

/** A message waiting to be sent to one channel (`notify/outbox/<id>`). */
export interface OutboxEntry {
  id: string;
  channelId: string;
  event: NotificationEvent;
  attempts: number;
  /** Not before (ISO time): the backoff after a failed attempt. */
  nextAttemptAt: string;
}

/** One message and what became of it (`notify/deliveries/<id>`, the same id as its outbox entry). */
export interface Delivery {
  id: string;
  channelId: string;
  eventId: string;
  eventType: NotificationEvent['type'];
  incidentId: string;
  syncId?: string | undefined;
  text: string;
  status: 'pending' | 'delivered' | 'failed';
  attempts: number;
  /** The receiver's HTTP status of the last attempt, when it answered. */
  httpStatus?: number | undefined;
  /** Why the last attempt failed. */
  error?: string | undefined;
  createdAt: string;
  updatedAt: string;
}
