import type { Column, EndpointContext } from '@idra/core';
import { EndpointOptions, requiredField } from '../records/endpoint-options.ts';
import { parseColumnTypes } from '../records/json-records.ts';

/** Everything the S3 source and destination need, with defaults applied. */
export interface S3Config {
  bucket: string;
  /** Key prefix of the objects (`endpoint.prefix`); a destination writes under it, a source reads only it. @default '' */
  prefix: string;
  /** Custom endpoint (`connection.url`, e.g. MinIO or another S3-compatible store); AWS when absent. */
  endpoint: string | undefined;
  /** `options.region`. @default 'us-east-1' */
  region: string;
  /** `options.pathStyle`: `http://host/bucket/key` addressing. @default true with a custom endpoint, else false */
  pathStyle: boolean;
  /** `connection.user` / `connection.password` as access key id and secret; the AWS default chain when absent. */
  credentials: { accessKeyId: string; secretAccessKey: string } | undefined;
  /** `options.format` of objects. @default 'jsonl' */
  format: 'jsonl' | 'csv';
  /** `options.gzip`: a destination compresses objects (`.gz` names); a source recognizes gzip by content either way. @default false */
  gzip: boolean;
  /** `options.createBucket`: a destination creates a missing bucket. @default false */
  createBucket: boolean;
  /** `options.columnTypes`: column types for objects Idra did not write (those carry their columns in metadata). */
  columnTypes: Column[];
  /** `options.requestTimeout` per S3 request. @default 30000 ms */
  requestTimeoutMs: number;
}

/** Reads and checks the S3 settings of one endpoint of a sync; throws a ConfigError naming each bad field. */
export function resolveS3Config(ctx: EndpointContext): S3Config {
  const opts = EndpointOptions.of(ctx);
  const c = ctx.endpoint.connection;
  const endpoint = c.url ?? (c.host ? `${c.ssl === false ? 'http' : 'https'}://${c.host}${c.port ? `:${c.port}` : ''}` : undefined);
  const columnTypes = parseColumnTypes(opts.raw('columnTypes'));
  if (typeof columnTypes === 'string') opts.problem('columnTypes', columnTypes);
  const config: S3Config = {
    bucket: requiredField(ctx, 'bucket'),
    prefix: ctx.endpoint.prefix ?? '',
    endpoint,
    region: opts.string('region', 'us-east-1'),
    pathStyle: opts.boolean('pathStyle', endpoint !== undefined),
    credentials: c.user ? { accessKeyId: c.user, secretAccessKey: c.password ?? '' } : undefined,
    format: opts.oneOf('format', ['jsonl', 'csv'] as const, 'jsonl'),
    gzip: opts.boolean('gzip', false),
    createBucket: opts.boolean('createBucket', false),
    columnTypes: typeof columnTypes === 'string' ? [] : columnTypes,
    requestTimeoutMs: opts.duration('requestTimeout', 30_000),
  };
  opts.done(`s3 ${ctx.role}`);
  return config;
}
