import { ListBucketsCommand, ListObjectsV2Command, S3ServiceException, type S3Client } from '@aws-sdk/client-s3';
import { resolveOptions, type Connection, type DiscoveredObject, type ProbeOptions } from '@idra/core';
import { createS3Client } from './s3-objects.ts';
import { s3Server, s3Spec } from './s3-options.ts';

/** Buckets listed at most, and prefixes per bucket: enough to choose from, bounded for huge accounts. */
const MAX_BUCKETS = 100;
const MAX_PREFIXES = 1000;

function clientOf(connection: Connection, opts: ProbeOptions): S3Client {
  const server = s3Server(connection);
  const o = resolveOptions(s3Spec.options, {});
  return createS3Client({ ...server, region: o.region, pathStyle: server.endpoint !== undefined, requestTimeoutMs: opts.timeoutMs });
}

/** Lists the buckets; a store that refuses the listing (credentials scoped to one bucket) has still checked the signature. */
export async function checkS3(connection: Connection, opts: ProbeOptions): Promise<void> {
  const client = clientOf(connection, opts);
  try {
    await client.send(new ListBucketsCommand({}), { abortSignal: opts.signal });
  } catch (err) {
    if (!(err instanceof S3ServiceException && err.name === 'AccessDenied')) throw err;
  } finally {
    client.destroy();
  }
}

/** The top-level prefixes of each bucket (`schema` is the bucket, `name` the prefix; '' for objects at the top). */
export async function discoverS3(connection: Connection, opts: ProbeOptions): Promise<DiscoveredObject[]> {
  const client = clientOf(connection, opts);
  try {
    const buckets = ((await client.send(new ListBucketsCommand({}), { abortSignal: opts.signal })).Buckets ?? []).slice(0, MAX_BUCKETS);
    const found: DiscoveredObject[] = [];
    for (const { Name: bucket } of buckets) {
      if (!bucket) continue;
      const listed = await client.send(new ListObjectsV2Command({ Bucket: bucket, Delimiter: '/', MaxKeys: MAX_PREFIXES }), { abortSignal: opts.signal });
      if ((listed.Contents ?? []).length > 0) found.push({ schema: bucket, name: '', columns: [] });
      for (const p of listed.CommonPrefixes ?? []) if (p.Prefix) found.push({ schema: bucket, name: p.Prefix, columns: [] });
    }
    return found;
  } finally {
    client.destroy();
  }
}
