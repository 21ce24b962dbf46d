import { ConfigError, Option, defineConnector, readEndpoint, type Column, type Connection, type EndpointContext } from '@idra/core';
import { hostUrl } from '../records/host-url.ts';
import type { ClientCredentialsGrant } from './http-auth.ts';

/** JSON HTTP APIs: the options of an endpoint, each with its default. */
export const httpSpec = defineConnector({
  kind: 'http',
  label: 'HTTP',
  options: {
    auth: Option.optionalOneOf(
      ['none', 'basic', 'bearer', 'header', 'oauth2'],
      'how connection.user/password authenticate: basic, a bearer token (the password), an API key header (authHeader), or OAuth2 client credentials ' +
        '(user = client id, password = client secret, connection.options.tokenUrl) (default: oauth2 with a tokenUrl, basic with a user, bearer with a password alone, else none)',
    ),
    authHeader: Option.string('the header carrying connection.password when auth is "header"', 'X-API-Key'),
    headers: Option.stringRecord('headers sent with every request'),
    timeout: Option.duration('per request', 30_000),
    retries: Option.integer('attempts after the first for 429, 5xx and network errors', 5, { max: 100 }),
    retryBackoff: Option.duration("the first retry's delay, doubling up to 30 s; a Retry-After header wins", 500),
    deleteField: Option.string(
      'the field marking an item as the delete of the row its key columns name (a destination posts the key and this field set to true; a source reads such an item as a delete)',
      '_deleted',
    ),
    params: Option.stringRecord('query parameters added to every request; {{offset}} in a value is the incremental value (incrementalField)', {
      only: 'source',
    }),
    pagination: Option.oneOf(
      ['cursor', 'page', 'offset', 'link'],
      'how the next page is asked for: a cursor from the response (cursorParam), a page number (pageParam), an item offset (offsetParam), or the Link header\'s rel="next" URL',
      'cursor',
      { only: 'source' },
    ),
    pageParam: Option.string('pagination page: the query parameter carrying the page number', 'page', { only: 'source' }),
    firstPage: Option.integer('pagination page: the number of the first page', 1, { min: 0 }, { only: 'source' }),
    offsetParam: Option.string('pagination offset: the query parameter carrying the number of items to skip', 'offset', { only: 'source' }),
    pageSize: Option.integer(
      'pagination page/offset: items in a full page (sent in limitParam when given); a page with fewer is the last one for now',
      100,
      { min: 1 },
      { only: 'source' },
    ),
    incrementalField: Option.string(
      "dotted path of an item field (updated_at) whose largest value copied fills {{offset}} in params for the next pass over the API ('' = off)",
      '',
      { only: 'source' },
    ),
    incrementalStart: Option.optionalString('the value of {{offset}} before anything was copied (default: parameters holding it are left out)', {
      only: 'source',
    }),
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
  rules(o) {
    const problems: Array<{ option: 'incrementalField' | 'cursorField'; message: string }> = [];
    if (o.incrementalField && !Object.values(o.params).some((v) => v.includes(OFFSET_PLACEHOLDER))) {
      problems.push({
        option: 'incrementalField',
        message: `needs a parameter holding ${OFFSET_PLACEHOLDER} in params (e.g. {"updated_since": "${OFFSET_PLACEHOLDER}"})`,
      });
    }
    if (o.cursorField && o.pagination !== 'cursor') problems.push({ option: 'cursorField', message: 'applies to pagination "cursor"' });
    return problems;
  },
  endpointRules(endpoint) {
    try {
      endpointUrl(endpoint.connection, endpoint.url, '');
      return [];
    } catch (err) {
      if (err instanceof ConfigError) return err.issues;
      throw err;
    }
  },
});

/** Where the incremental value goes in a parameter value. */
export const OFFSET_PLACEHOLDER = '{{offset}}';

/** Everything the HTTP source and destination need, with defaults applied (see {@link httpSpec} for each option). */
export interface HttpConfig {
  /** `endpoint.url`, resolved against `connection.url` (so the connection can hold the API's base). */
  url: URL;
  /** The connection's origin (scheme, host, port): every request of the endpoint goes there, none elsewhere. */
  origin: string;
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
  pagination: 'cursor' | 'page' | 'offset' | 'link';
  pageParam: string;
  firstPage: number;
  offsetParam: string;
  pageSize: number;
  incrementalField: string;
  incrementalStart: string | undefined;
  /** Auth oauth2: the client-credentials grant its tokens come from. */
  oauth2: ClientCredentialsGrant | undefined;
  columnTypes: Column[];
  postBatchSize: number;
  bodyField: string;
  idempotencyHeader: string;
  /** The field that marks a delete item ({@link httpSpec}). */
  deleteField: string;
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

/**
 * An endpoint's `url` resolved against its connection, refused (naming `<role>.url`) when it is not on the
 * connection's origin: an HTTP endpoint's requests, and the credentials they carry, go only there.
 */
export function endpointUrl(c: Connection, path: string | undefined, role: string): URL {
  const at = (field: string) => (role ? `${role}.${field}` : field);
  const url = httpUrl(c, path, at('url'));
  const origin = httpUrl(c, undefined, at('connection.url')).origin;
  if (url.origin !== origin) {
    throw new ConfigError([
      {
        path: at('url'),
        message: `is on ${url.origin}, not on the connection's origin ${origin}: an HTTP endpoint's requests (and their credentials) go only to its connection's origin`,
      },
    ]);
  }
  return url;
}

type AuthKind = 'none' | 'basic' | 'bearer' | 'header' | 'oauth2';

/**
 * How requests authenticate with a connection's secrets (which stay in the connection, encrypted at
 * rest): fixed headers, or the OAuth2 client-credentials grant of `connection.options.tokenUrl`.
 */
export interface HttpAuth {
  headers: Record<string, string>;
  oauth2: ClientCredentialsGrant | undefined;
}

/** The connection's authentication; `at` names the connection in errors (`source.connection`). */
export function connectionAuth(c: Connection, auth: AuthKind | undefined, authHeader: string, at: string): HttpAuth {
  const { tokenUrl, scope } = c.options ?? {};
  if (tokenUrl !== undefined && typeof tokenUrl !== 'string')
    throw new ConfigError([{ path: `${at}.options.tokenUrl`, message: 'must be a URL (or a path under url)' }]);
  if (scope !== undefined && typeof scope !== 'string')
    throw new ConfigError([{ path: `${at}.options.scope`, message: 'must be a string of space-separated scopes' }]);
  switch (auth ?? (tokenUrl ? 'oauth2' : c.user ? 'basic' : c.password ? 'bearer' : 'none')) {
    case 'basic':
      return { headers: { Authorization: `Basic ${Buffer.from(`${c.user ?? ''}:${c.password ?? ''}`).toString('base64')}` }, oauth2: undefined };
    case 'bearer':
      return { headers: { Authorization: `Bearer ${c.password ?? ''}` }, oauth2: undefined };
    case 'header':
      return { headers: { [authHeader]: c.password ?? '' }, oauth2: undefined };
    case 'oauth2':
      // The token endpoint is the connection's (a data source's) own setting, not a sync's: the client secret goes there.
      if (!tokenUrl)
        throw new ConfigError([
          { path: `${at}.options.tokenUrl`, message: 'is required with auth "oauth2" (the token endpoint of the client-credentials grant)' },
        ]);
      return {
        headers: {},
        oauth2: { tokenUrl: httpUrl(c, tokenUrl, `${at}.options.tokenUrl`), clientId: c.user ?? '', clientSecret: c.password ?? '', scope },
      };
    default:
      return { headers: {}, oauth2: undefined };
  }
}

/** Reads and checks the HTTP settings of one endpoint of a sync; throws a ConfigError naming each bad field. */
export function resolveHttpConfig(ctx: EndpointContext): HttpConfig {
  const o = readEndpoint(httpSpec, ctx);
  const c = ctx.endpoint.connection;
  const url = endpointUrl(c, ctx.endpoint.url, ctx.role);
  const auth = connectionAuth(c, o.auth, o.authHeader, `${ctx.role}.connection`);
  return {
    url,
    origin: url.origin,
    headers: { ...o.headers, ...auth.headers },
    oauth2: auth.oauth2,
    params: o.params,
    timeoutMs: o.timeout,
    retries: o.retries,
    retryBackoffMs: o.retryBackoff,
    cursorParam: o.cursorParam,
    limitParam: o.limitParam,
    itemsPath: o.itemsPath,
    nextCursorPath: o.nextCursorPath,
    cursorField: o.cursorField,
    pagination: o.pagination,
    pageParam: o.pageParam,
    firstPage: o.firstPage,
    offsetParam: o.offsetParam,
    pageSize: o.pageSize,
    incrementalField: o.incrementalField,
    incrementalStart: o.incrementalStart,
    columnTypes: o.columnTypes,
    postBatchSize: o.batchSize,
    bodyField: o.bodyField,
    idempotencyHeader: o.idempotencyHeader,
    deleteField: o.deleteField,
  };
}
