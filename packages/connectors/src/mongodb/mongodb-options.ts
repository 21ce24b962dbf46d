import { ConfigError, Option, defineConnector, readEndpoint, type Connection, type EndpointContext } from '@idra/core';

/** MongoDB collections: the options of an endpoint, each with its default. */
export const mongodbSpec = defineConnector({
  kind: 'mongodb',
  label: 'MongoDB',
  options: {
    connectTimeout: Option.duration('connecting and finding a server', 5000),
    poolSize: Option.integer('connections per sync', 4, { min: 1, max: 100 }),
    operationColumn: Option.string('the column a change stream fills with insert/update/replace/delete, and a destination deletes by', '_op'),
    maxAwaitTime: Option.duration('how long a change stream read waits for events', 500, { only: 'source' }),
    decimalAs: Option.oneOf(['decimal128', 'string'], 'how decimals are stored (FerretDB 1.x has no Decimal128)', 'decimal128', { only: 'destination' }),
    timestampAs: Option.oneOf(['date', 'string'], 'how timestamps are stored (a BSON Date holds milliseconds only)', 'date', { only: 'destination' }),
    objectIdFields: Option.list('fields whose 24-hex-digit strings are stored as ObjectIds', ['_id'], { only: 'destination' }),
  },
  source: { fields: ['collection', 'columns'], required: ['collection'] },
  destination: { fields: ['collection'], required: ['collection'] },
});

/** Everything the MongoDB source and destination need, with defaults applied (see {@link mongodbSpec} for each option). */
export interface MongoConfig {
  /** `connection.url` (`mongodb://…`, `mongodb+srv://…`), else built from `host`/`port`/`user`/`password`. */
  url: string;
  /** `connection.database`, else the URL's path. */
  database: string;
  collection: string;
  connectTimeoutMs: number;
  poolSize: number;
  decimalAs: 'decimal128' | 'string';
  timestampAs: 'date' | 'string';
  objectIdFields: string[];
  operationColumn: string;
  maxAwaitTimeMs: number;
}

/** The server URL of a connection, credentials and TLS merged in; `at` names the connection in errors. */
export function mongoUrl(c: Connection, at: string): string {
  let url: URL;
  try {
    url = new URL(c.url ?? `mongodb://${c.host}:${c.port ?? 27017}/`);
  } catch {
    throw new ConfigError([{ path: `${at}.url`, message: 'is not a valid MongoDB URL' }]);
  }
  if (!/^mongodb(\+srv)?:$/.test(url.protocol)) throw new ConfigError([{ path: `${at}.url`, message: 'must start with mongodb:// or mongodb+srv://' }]);
  if (c.user) url.username = encodeURIComponent(c.user);
  if (c.password) url.password = encodeURIComponent(c.password);
  if (c.ssl !== undefined) url.searchParams.set('tls', String(c.ssl));
  return url.toString();
}

/** The database of a connection: `database`, else the URL's path; undefined when neither names one. */
export function mongoDatabase(c: Connection, url: string): string | undefined {
  return c.database || decodeURIComponent(new URL(url).pathname.replace(/^\//, '')) || undefined;
}

/** Reads and checks the MongoDB settings of one endpoint of a sync; throws a ConfigError naming each bad field. */
export function resolveMongoConfig(ctx: EndpointContext): MongoConfig {
  const o = readEndpoint(mongodbSpec, ctx);
  const at = `${ctx.role}.connection`;
  const url = mongoUrl(ctx.endpoint.connection, at);
  const database = mongoDatabase(ctx.endpoint.connection, url);
  if (!database) throw new ConfigError([{ path: `${at}.database`, message: 'is required (or give it as the URL path)' }]);
  return {
    url,
    database,
    collection: ctx.endpoint.collection!,
    connectTimeoutMs: o.connectTimeout,
    poolSize: o.poolSize,
    decimalAs: o.decimalAs,
    timestampAs: o.timestampAs,
    objectIdFields: o.objectIdFields,
    operationColumn: o.operationColumn,
    maxAwaitTimeMs: o.maxAwaitTime,
  };
}
