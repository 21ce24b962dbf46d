import { ConfigError, type EndpointContext } from '@idra/core';
import { EndpointOptions, requiredField } from '../records/endpoint-options.ts';

/** Everything the MongoDB source and destination need, with defaults applied. */
export interface MongoConfig {
  /** `connection.url` (`mongodb://…`, `mongodb+srv://…`), else built from `host`/`port`/`user`/`password`. */
  url: string;
  /** `connection.database`, else the URL's path. */
  database: string;
  collection: string;
  /** `options.connectTimeout`: connecting and finding a server. @default 5000 ms */
  connectTimeoutMs: number;
  /** `options.poolSize`: connections per sync. @default 4 */
  poolSize: number;
  /** `options.decimalAs`: how a destination stores decimals; FerretDB 1.x has no Decimal128. @default 'decimal128' */
  decimalAs: 'decimal128' | 'string';
  /** `options.timestampAs`: how a destination stores timestamps; a BSON Date holds milliseconds only. @default 'date' */
  timestampAs: 'date' | 'string';
  /** `options.objectIdFields`: fields whose 24-hex-digit strings a destination stores as ObjectIds. @default ['_id'] */
  objectIdFields: string[];
  /** `options.operationColumn`: the column a change stream fills with insert/update/replace/delete, and a destination deletes by. @default '_op' */
  operationColumn: string;
  /** `options.maxAwaitTime`: how long a change stream read waits for events. @default 500 ms */
  maxAwaitTimeMs: number;
}

function urlOf(ctx: EndpointContext): string {
  const c = ctx.endpoint.connection;
  let url: URL;
  try {
    url = new URL(c.url ?? `mongodb://${c.host}:${c.port ?? 27017}/`);
  } catch {
    throw new ConfigError([{ path: `${ctx.role}.connection.url`, message: 'is not a valid MongoDB URL' }]);
  }
  if (!/^mongodb(\+srv)?:$/.test(url.protocol)) throw new ConfigError([{ path: `${ctx.role}.connection.url`, message: 'must start with mongodb:// or mongodb+srv://' }]);
  if (c.user) url.username = encodeURIComponent(c.user);
  if (c.password) url.password = encodeURIComponent(c.password);
  if (c.ssl !== undefined) url.searchParams.set('tls', String(c.ssl));
  return url.toString();
}

/** Reads and checks the MongoDB settings of one endpoint of a sync; throws a ConfigError naming each bad field. */
export function resolveMongoConfig(ctx: EndpointContext): MongoConfig {
  const opts = EndpointOptions.of(ctx);
  const url = urlOf(ctx);
  const database = ctx.endpoint.connection.database || decodeURIComponent(new URL(url).pathname.replace(/^\//, ''));
  if (!database) throw new ConfigError([{ path: `${ctx.role}.connection.database`, message: 'is required (or give it as the URL path)' }]);
  const config: MongoConfig = {
    url,
    database,
    collection: requiredField(ctx, 'collection'),
    connectTimeoutMs: opts.duration('connectTimeout', 5000),
    poolSize: opts.integer('poolSize', 4, { min: 1, max: 100 }),
    decimalAs: opts.oneOf('decimalAs', ['decimal128', 'string'] as const, 'decimal128'),
    timestampAs: opts.oneOf('timestampAs', ['date', 'string'] as const, 'date'),
    objectIdFields: opts.list('objectIdFields') ?? ['_id'],
    operationColumn: opts.string('operationColumn', '_op'),
    maxAwaitTimeMs: opts.duration('maxAwaitTime', 500),
  };
  opts.done(`mongodb ${ctx.role}`);
  return config;
}
