import { Option, defineConnector, readEndpoint, type Column, type Connection, type EndpointContext } from '@idra/core';
import { hostUrl } from '../records/host-url.ts';

/** Objects in an S3 bucket (JSON Lines or CSV): the options of an endpoint, each with its default. */
export const s3Spec = defineConnector({
  kind: 's3',
  label: 'S3 (objects)',
  options: {
    region: Option.string('the region requests are signed for', 'us-east-1'),
    pathStyle: Option.optionalBoolean('http://host/bucket/key addressing (default: true with a custom endpoint, else false)'),
    format: Option.oneOf(['jsonl', 'csv'], 'format of the objects', 'jsonl'),
    requestTimeout: Option.duration('per S3 request', 30_000),
    header: Option.boolean("CSV: the first line names the columns (a UTF-8 byte order mark is ignored)", true, { only: 'source' }),
    columnNames: Option.optionalList('CSV without a header line: the column names in order (default column1, column2 …)', { only: 'source' }),
    columnTypes: Option.columnTypes('types of fields of objects Idra did not write (those carry their columns in metadata)', { only: 'source' }),
    lookbackObjects: Option.integer(
      'objects remembered behind the newest one read, so that one arriving late under an earlier key is still read (0: keys strictly in order)',
      100,
      { min: 0, max: 10_000 },
      { only: 'source' },
    ),
    gzip: Option.boolean('compress objects (.gz names); a source recognizes gzip by content either way', false, { only: 'destination' }),
    createBucket: Option.boolean('create a missing bucket', false, { only: 'destination' }),
  },
  source: { fields: ['bucket', 'prefix', 'columns'], required: ['bucket'] },
  destination: { fields: ['bucket', 'prefix'], required: ['bucket'] },
  rules: (o) => (o.columnNames && (o.format !== 'csv' || o.header) ? [{ option: 'columnNames', message: 'applies to CSV without a header line (format csv, header false)' }] : []),
});

/** Everything the S3 source and destination need, with defaults applied (see {@link s3Spec} for each option). */
export interface S3Config {
  bucket: string;
  /** Key prefix of the objects (`endpoint.prefix`, default ''); a destination writes under it, a source reads only it. */
  prefix: string;
  /** Custom endpoint (`connection.url`, e.g. MinIO or another S3-compatible store); AWS when absent. */
  endpoint: string | undefined;
  region: string;
  pathStyle: boolean;
  /** `connection.user` / `connection.password` as access key id and secret; the AWS default chain when absent. */
  credentials: { accessKeyId: string; secretAccessKey: string } | undefined;
  format: 'jsonl' | 'csv';
  header: boolean;
  columnNames: string[] | undefined;
  gzip: boolean;
  createBucket: boolean;
  columnTypes: Column[];
  lookbackObjects: number;
  requestTimeoutMs: number;
}

/** The server of an S3 connection: a custom endpoint (`url`, or `host`/`port`/`ssl`; AWS when absent) and the access key. */
export function s3Server(c: Connection): Pick<S3Config, 'endpoint' | 'credentials'> {
  return {
    endpoint: c.url ?? hostUrl(c),
    credentials: c.user ? { accessKeyId: c.user, secretAccessKey: c.password ?? '' } : undefined,
  };
}

/** Reads and checks the S3 settings of one endpoint of a sync; throws a ConfigError naming each bad field. */
export function resolveS3Config(ctx: EndpointContext): S3Config {
  const o = readEndpoint(s3Spec, ctx);
  const { endpoint, credentials } = s3Server(ctx.endpoint.connection);
  return {
    bucket: ctx.endpoint.bucket!,
    prefix: ctx.endpoint.prefix ?? '',
    endpoint,
    region: o.region,
    pathStyle: o.pathStyle ?? endpoint !== undefined,
    credentials,
    format: o.format,
    header: o.header,
    columnNames: o.columnNames,
    gzip: o.gzip,
    createBucket: o.createBucket,
    columnTypes: o.columnTypes,
    lookbackObjects: o.lookbackObjects,
    requestTimeoutMs: o.requestTimeout,
  };
}
