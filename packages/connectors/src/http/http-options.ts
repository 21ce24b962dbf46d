import { ConfigError, Option, defineConnector, readEndpoint, type Column, type Connection, type EndpointContext } from '@idra/core';
import { hostUrl } from '../records/host-url.ts';

/** JSON HTTP APIs: the options of an endpoint, each with its default. */
export const httpSpec = defineConnector({
  kind: 'http',
  label: 'HTTP',
  options: {
    auth: Option.optionalOneOf(['none', 'basic', 'bearer', 'header'], 'how connection.user/password authenticate (default: basic with a user, bearer with a password alone, else none)'),
    authHeader: Option.string('the header carrying connection.password when auth is "header"', 'X-API-Key'),
    headers: Option.stringRecord('headers sent with every request'),
    timeout: Option.duration('per request', 30_000),
    retries: Option.integer('attempts after the first for 429, 5xx and network errors', 5, { max: 100 }),
    retryBackoff: Option.duration("the first retry's delay, doubling up to 30 s; a Retry-After header wins", 500),
    params: Option.stringRecord('query parameters added to every request', { only: 'source' }),
    cursorParam: Option.string('the query parameter carrying the cursor', 'cursor', { only: 'source' }),
    limitParam: Option.string('a query parameter asking for at most the batch size (none when empty)', '', { only: 'source' }),
    itemsPath: Option.string("dotted path of the items array in the response ('' = the body is the array)", 'items', { only: 'source' }),
    nextCursorPath: Option.string('dotted path of the next cursor; null, missing or empty = no further page yet', 'next_cursor', { only: 'source' }),
    cursorField: Option.string(
      "APIs paged by 'after this value' (?id=<last id>): the next cursor is this field of the page's last item, and nextCursorPath is not read ('' = off)",
      '',
      { only: 'source' },
    ),
    columnTypes: Option.columnTypes("types of the items' fields", { only: 'source' }),
    batchSize: Option.integer('rows per POST (a sync batch may take several)', 500, { min: 1 }, { only: 'destination' }),
    bodyField: Option.string("the field of the posted object holding the rows ('' = post a bare array)", 'rows', { only: 'destination' }),
    idempotencyHeader: Option.string('the header carrying a key derived from the batch position and content', 'Idempotency-Key', { only: 'destination' }),
  },
  source: { fields: ['url', 'columns'], required: [] },
  destination: { fields: ['url'], required: [] },
});

/** Everything the HTTP source and destination need, with defaults applied (see {@link httpSpec} for each option). */
export interface HttpConfig {
  /** `endpoint.url`, resolved against `connection.url` (so the connection can hold the API's base). */
  url: URL;
  /** Headers sent with every request: `options.headers` plus the authentication. */
  headers: Record<string, string>;
  params: Record<string, string>;
  timeoutMs: number;
  retries: number;
  retryBackoffMs: number;
  cursorParam: string;
  limitParam: string;
  itemsPath: string;
  nextCursorPath: string;
  cursorField: string;
  columnTypes: Column[];
  postBatchSize: number;
  bodyField: string;
  idempotencyHeader: string;
}

/** `path` resolved against the connection's base; `at` names the field in errors. */
export function httpUrl(c: Connection, path: string | undefined, at: string): URL {
  let url: URL;
  try {
    const host = hostUrl(c);
    url = new URL(path ?? '', c.url ?? (host && `${host}/`));
  } catch {
    throw new ConfigError([{ path: at, message: 'is not a URL, nor a path under connection.url' }]);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') throw new ConfigError([{ path: at, message: 'must be http:// or https://' }]);
  return url;
}

/** The headers that authenticate with the connection's secrets (which stay in the connection, encrypted at rest). */
export function authHeaders(c: Connection, auth: 'none' | 'basic' | 'bearer' | 'header' | undefined, authHeader: string): Record<string, string> {
  switch (auth ?? (c.user ? 'basic' : c.password ? 'bearer' : 'none')) {
    case 'basic':
      return { Authorization: `Basic ${Buffer.from(`${c.user ?? ''}:${c.password ?? ''}`).toString('base64')}` };
    case 'bearer':
      return { Authorization: `Bearer ${c.password ?? ''}` };
    case 'header':
      return { [authHeader]: c.password ?? '' };
    default:
      return {};
  }
}

/** Reads and checks the HTTP settings of one endpoint of a sync; throws a ConfigError naming each bad field. */
export function resolveHttpConfig(ctx: EndpointContext): HttpConfig {
  const o = readEndpoint(httpSpec, ctx);
  const c = ctx.endpoint.connection;
  return {
    url: httpUrl(c, ctx.endpoint.url, `${ctx.role}.url`),
    headers: { ...o.headers, ...authHeaders(c, o.auth, o.authHeader) },
    params: o.params,
    timeoutMs: o.timeout,
    retries: o.retries,
    retryBackoffMs: o.retryBackoff,
    cursorParam: o.cursorParam,
    limitParam: o.limitParam,
    itemsPath: o.itemsPath,
    nextCursorPath: o.nextCursorPath,
    cursorField: o.cursorField,
    columnTypes: o.columnTypes,
    postBatchSize: o.batchSize,
    bodyField: o.bodyField,
    idempotencyHeader: o.idempotencyHeader,
  };
}
