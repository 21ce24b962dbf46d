import { Option, defineConnector, readEndpoint, type Column, type Connection, type EndpointContext } from '@idra/core';
import { hostUrl } from '../records/host-url.ts';

/** Objects in an S3 bucket (JSON Lines or CSV): the options of an endpoint, each with its default. */
export const s3Spec = defineConnector({
  kind: 's3',
  label: 'S3 (objects)',
  options: {
    region: Option.string('the region requests are signed for', 'us-east-1'),
    pathStyle: Option.optionalBoolean('http://host/bucket/key addressing (default: true with a custom endpoint, else false)'),
    format: Option.oneOf(
      ['auto', 'jsonl', 'csv'],
      "format of the objects: auto goes by each key's suffix (.csv and .tsv: CSV, anything else: JSON Lines; a .gz/.zst suffix is looked through); a destination writes JSON Lines for auto",
      'auto',
    ),
    delimiter: Option.optionalString('CSV field delimiter: one character, or "tab" (default: a comma; .tsv objects are read with a tab)'),
    header: Option.boolean('CSV: the first line names the columns (a source ignores a byte order mark before it; a destination writes it)', true),
    requestTimeout: Option.duration('per S3 request', 30_000),
    deleteField: Option.string(
      'the field marking a record as the delete of the row its key columns name (a destination writes the key and this field set to true; a source reads such a record as a delete)',
      '_deleted',
    ),
    include: Option.optionalList('glob patterns of keys (below the prefix) to read, e.g. ["**/*.csv"]; others are passed over', { only: 'source' }),
    exclude: Option.optionalList('glob patterns of keys (below the prefix) not to read, e.g. ["_tmp/**", "*.crc"]', { only: 'source' }),
    encoding: Option.string('text encoding of the objects (utf-8, windows-1252, iso-8859-1, utf-16le …); a byte order mark decides over it', 'utf-8', {
      only: 'source',
    }),
    columnNames: Option.optionalList('CSV without a header line: the column names in order (default column1, column2 …)', { only: 'source' }),
    columnTypes: Option.columnTypes('types of fields of objects Idra did not write (those carry their columns in metadata)', { only: 'source' }),
    lookbackObjects: Option.integer(
      'objects remembered behind the newest one read, so that one arriving late under an earlier key is still read (0: keys strictly in order)',
      100,
      { min: 0, max: 10_000 },
      { only: 'source' },
    ),
    compression: Option.oneOf(
      ['none', 'gzip', 'zstd'],
      'compression of the objects written (.gz/.zst names); a source recognizes gzip and zstd by content',
      'none',
      {
        only: 'destination',
      },
    ),
    gzip: Option.boolean('the same as compression "gzip" (kept for syncs written before compression existed)', false, { only: 'destination' }),
    createBucket: Option.boolean('create a missing bucket', false, { only: 'destination' }),
  },
  source: { fields: ['bucket', 'prefix', 'columns'], required: ['bucket'] },
  destination: { fields: ['bucket', 'prefix'], required: ['bucket'] },
  rules(o, role) {
    const problems: Array<{ option: 'columnNames' | 'delimiter' | 'encoding' | 'gzip'; message: string }> = [];
    if (o.columnNames && (o.format === 'jsonl' || o.header))
      problems.push({ option: 'columnNames', message: 'applies to CSV without a header line (format csv or auto, header false)' });
    if (o.delimiter !== undefined && csvDelimiter(o.delimiter) === undefined)
      problems.push({ option: 'delimiter', message: 'must be one character other than a quote or a line break, or "tab"' });
    if (role === 'source' && !isEncoding(o.encoding))
      problems.push({ option: 'encoding', message: `is not a text encoding this runtime knows (e.g. utf-8, windows-1252, utf-16le)` });
    if (o.gzip && o.compression !== 'none') problems.push({ option: 'gzip', message: 'give compression alone' });
    return problems;
  },
  deletes(o) {
    return o.format === 'csv' && !o.header ? { option: 'header', message: HEADERLESS } : undefined;
  },
});

/** Why CSV without a header cannot hold deletes: their marker column would change the width of the records a reader expects. */
export const HEADERLESS = 'CSV objects without a header line (header false) cannot hold deletes: set header to true, or write JSON Lines';

/** A delimiter option as the character it stands for ("tab" → a tab); undefined when it cannot be one. */
function csvDelimiter(option: string): string | undefined {
  const d = option === 'tab' ? '\t' : option;
  return d.length === 1 && !/["\r\n]/.test(d) ? d : undefined;
}

function isEncoding(label: string): boolean {
  try {
    new TextDecoder(label);
    return true;
  } catch {
    return false;
  }
}

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
  format: 'auto' | 'jsonl' | 'csv';
  /** The CSV delimiter given (undefined: a comma, or a tab for .tsv). */
  delimiter: string | undefined;
  header: boolean;
  /** The field that marks a delete record ({@link s3Spec}). */
  deleteField: string;
  columnNames: string[] | undefined;
  encoding: string;
  include: string[] | undefined;
  exclude: string[] | undefined;
  compression: 'none' | 'gzip' | 'zstd';
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
    delimiter: o.delimiter === undefined ? undefined : csvDelimiter(o.delimiter),
    header: o.header,
    deleteField: o.deleteField,
    columnNames: o.columnNames,
    encoding: o.encoding,
    include: o.include,
    exclude: o.exclude,
    compression: o.gzip ? 'gzip' : o.compression,
    createBucket: o.createBucket,
    columnTypes: o.columnTypes,
    lookbackObjects: o.lookbackObjects,
    requestTimeoutMs: o.requestTimeout,
  };
}
