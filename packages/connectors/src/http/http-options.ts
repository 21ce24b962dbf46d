import { ConfigError, type Column, type EndpointContext } from '@idra/core';
import { EndpointOptions } from '../records/endpoint-options.ts';
import { parseColumnTypes } from '../records/json-records.ts';

/** Everything the HTTP source and destination need, with defaults applied. */
export interface HttpConfig {
  /** `endpoint.url`, resolved against `connection.url` (so the connection can hold the API's base). */
  url: URL;
  /** Headers sent with every request: `options.headers` plus the authentication. */
  headers: Record<string, string>;
  /** `options.params`: query parameters added to every source request. */
  params: Record<string, string>;
  /** `options.timeout` per request. @default 30000 ms */
  timeoutMs: number;
  /** `options.retries`: attempts after the first for 429, 5xx and network errors. @default 5 */
  retries: number;
  /** `options.retryBackoff`: the first retry's delay, doubling up to 30 s; a Retry-After header wins. @default 500 ms */
  retryBackoffMs: number;
  /** Source: `options.cursorParam`, the query parameter carrying the cursor. @default 'cursor' */
  cursorParam: string;
  /** Source: `options.limitParam`, a query parameter asking for at most the batch size (none when empty). @default '' */
  limitParam: string;
  /** Source: `options.itemsPath`, dotted path of the items array in the response ('' = the body is the array). @default 'items' */
  itemsPath: string;
  /** Source: `options.nextCursorPath`, dotted path of the next cursor; null, missing or empty = no further page yet. @default 'next_cursor' */
  nextCursorPath: string;
  /**
   * Source: `options.cursorField`, for APIs paged by "after this value" (`?id=<last id>`): the next
   * cursor is this field of the page's last item, and `nextCursorPath` is not read. @default '' (off)
   */
  cursorField: string;
  /** Source: `options.columnTypes` for the items' fields. */
  columnTypes: Column[];
  /** Destination: `options.batchSize`, rows per POST (a sync batch may take several). @default 500 */
  postBatchSize: number;
  /** Destination: `options.bodyField`, the field of the posted object holding the rows ('' = post a bare array). @default 'rows' */
  bodyField: string;
  /** Destination: `options.idempotencyHeader`, carrying a key derived from the batch position and content. @default 'Idempotency-Key' */
  idempotencyHeader: string;
}

/** Reads and checks the HTTP settings of one endpoint of a sync; throws a ConfigError naming each bad field. */
export function resolveHttpConfig(ctx: EndpointContext): HttpConfig {
  const opts = EndpointOptions.of(ctx);
  const c = ctx.endpoint.connection;
  let url: URL;
  try {
    const base = c.url ?? (c.host ? `${c.ssl === false ? 'http' : 'https'}://${c.host}${c.port ? `:${c.port}` : ''}/` : undefined);
    url = new URL(ctx.endpoint.url ?? '', base);
  } catch {
    throw new ConfigError([{ path: `${ctx.role}.url`, message: 'is not a URL, nor a path under connection.url' }]);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') throw new ConfigError([{ path: `${ctx.role}.url`, message: 'must be http:// or https://' }]);
  const headers = opts.stringRecord('headers');
  const auth = opts.oneOf('auth', ['none', 'basic', 'bearer', 'header'] as const, c.user ? 'basic' : c.password ? 'bearer' : 'none');
  const authHeader = opts.string('authHeader', 'X-API-Key');
  // Secrets stay in the connection (encrypted at rest): the password is the bearer token or header value.
  if (auth === 'basic') headers['Authorization'] = `Basic ${Buffer.from(`${c.user ?? ''}:${c.password ?? ''}`).toString('base64')}`;
  if (auth === 'bearer') headers['Authorization'] = `Bearer ${c.password ?? ''}`;
  if (auth === 'header') headers[authHeader] = c.password ?? '';
  const columnTypes = parseColumnTypes(opts.raw('columnTypes'));
  if (typeof columnTypes === 'string') opts.problem('columnTypes', columnTypes);
  const config: HttpConfig = {
    url,
    headers,
    params: opts.stringRecord('params'),
    timeoutMs: opts.duration('timeout', 30_000),
    retries: opts.integer('retries', 5, { max: 100 }),
    retryBackoffMs: opts.duration('retryBackoff', 500),
    cursorParam: opts.string('cursorParam', 'cursor'),
    limitParam: opts.string('limitParam', ''),
    itemsPath: opts.string('itemsPath', 'items'),
    nextCursorPath: opts.string('nextCursorPath', 'next_cursor'),
    cursorField: opts.string('cursorField', ''),
    columnTypes: typeof columnTypes === 'string' ? [] : columnTypes,
    postBatchSize: opts.integer('batchSize', 500, { min: 1 }),
    bodyField: opts.string('bodyField', 'rows'),
    idempotencyHeader: opts.string('idempotencyHeader', 'Idempotency-Key'),
  };
  opts.done(`http ${ctx.role}`);
  return config;
}
