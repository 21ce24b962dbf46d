import { promisify } from 'node:util';
import { gzip, zstdCompress } from 'node:zlib';
import { CreateBucketCommand, HeadBucketCommand, PutObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import { ConnectorError, type Batch, type Destination, type EndpointContext, type WriteResult } from '@idra/core';
import { csvLine } from '../records/csv.ts';
import { batchRecords, markerClash, recordJson, type BatchRecord } from '../records/delete-records.ts';
import { encodeColumns, stringifyJson, toJsonValue } from '../records/json-records.ts';
import { HEADERLESS, resolveS3Config, type S3Config } from './s3-options.ts';
import { batchObjectKey, columnsMetadata, createS3Client, s3Failure } from './s3-objects.ts';

const COMPRESS = { gzip: promisify(gzip), zstd: promisify(zstdCompress) };
const CONTENT_TYPE = { gzip: 'application/gzip', zstd: 'application/zstd', csv: 'text/csv; charset=utf-8', jsonl: 'application/x-ndjson' };

/** A row value as CSV text: NULL stays NULL, JSON values are JSON text, bytes base64. */
function csvText(value: unknown): string | null {
  const v = toJsonValue(value);
  if (v === null) return null;
  return typeof v === 'string' ? v : stringifyJson(v);
}

/**
 * The body of the object holding a batch's records ({@link batchRecords}): JSON Lines, or CSV (with a header line unless `header`
 * is false). A CSV object holding deletes has one more column, the marker, "true" on the deletes' lines.
 */
function batchBody(
  config: Pick<S3Config, 'format' | 'delimiter' | 'header' | 'deleteField'>,
  batch: Batch,
  records: BatchRecord[],
  keys: readonly string[],
): string {
  const marker = config.deleteField;
  const { columns } = batch;
  if (config.format !== 'csv') return records.map((r) => stringifyJson(recordJson(r, columns, keys, marker)) + '\n').join('');
  const d = config.delimiter ?? ',';
  const deletes = records.some((r) => 'deleted' in r);
  const names = [...columns.map((c) => c.name), ...(deletes ? [...keys.filter((k) => !columns.some((c) => c.name === k)), marker] : [])];
  const line = (r: BatchRecord) =>
    csvLine(
      names.map((n) => ('row' in r ? (n === marker ? null : csvText(r.row[n])) : n === marker ? 'true' : keys.includes(n) ? csvText(r.deleted[n]) : null)),
      d,
    );
  return (config.header ? csvLine(names, d) : '') + records.map(line).join('');
}

/**
 * Writes each batch as one object (JSON Lines or CSV, optionally gzip- or zstd-compressed) under the prefix, its deletes as
 * records marked deleted among its rows ({@link batchRecords}), named
 * after the batch's position ({@link batchObjectKey}) so that a replayed batch overwrites its object.
 * A PUT is atomic: the object exists whole or not at all.
 */
export class S3Destination implements Destination {
  private readonly ctx: EndpointContext;
  private readonly config: S3Config;
  private readonly client: S3Client;
  private bucketChecked = false;

  private constructor(ctx: EndpointContext, config: S3Config, client: S3Client) {
    this.ctx = ctx;
    this.config = config;
    this.client = client;
  }

  static async open(ctx: EndpointContext): Promise<S3Destination> {
    const config = resolveS3Config(ctx);
    return new S3Destination(ctx, config, createS3Client(config));
  }

  private async ensureBucket(signal: AbortSignal): Promise<void> {
    if (this.bucketChecked) return;
    try {
      await this.client.send(new HeadBucketCommand({ Bucket: this.config.bucket }), { abortSignal: signal });
    } catch (err) {
      const status = (err as { $metadata?: { httpStatusCode?: number } }).$metadata?.httpStatusCode;
      if (status !== 404) throw err;
      if (!this.config.createBucket) throw new Error(`bucket ${this.config.bucket} does not exist (set options.createBucket to create it)`);
      await this.client.send(new CreateBucketCommand({ Bucket: this.config.bucket }), { abortSignal: signal });
    }
    this.bucketChecked = true;
  }

  async write(batch: Batch, signal: AbortSignal): Promise<WriteResult> {
    const { config } = this;
    const keys = this.ctx.sync.keyColumns;
    try {
      const records = batchRecords(batch, 's3 destination');
      // A schema change alone writes nothing: the next object's header and metadata carry the new columns.
      if (records.length === 0) return { written: 0 };
      const deletes = records.length - batch.rows.length;
      const refused = deletes > 0 && (markerClash(batch.columns, config.deleteField) ?? (config.format === 'csv' && !config.header ? HEADERLESS : undefined));
      if (refused) throw new ConnectorError({ connector: 's3', role: 'destination', syncId: this.ctx.sync.id, transient: false, message: refused });
      await this.ensureBucket(signal);
      const text = Buffer.from(batchBody(config, batch, records, keys));
      const body = config.compression === 'none' ? text : await COMPRESS[config.compression](text);
      await this.client.send(
        new PutObjectCommand({
          Bucket: config.bucket,
          Key: batchObjectKey(config, this.ctx.sync, batch),
          Body: body,
          ContentType: CONTENT_TYPE[config.compression === 'none' ? (config.format === 'csv' ? 'csv' : 'jsonl') : config.compression],
          Metadata: columnsMetadata(encodeColumns(batch.columns)),
        }),
        { abortSignal: signal },
      );
      return { written: batch.rows.length, deleted: deletes };
    } catch (err) {
      throw s3Failure(this.ctx, err);
    }
  }

  async close(): Promise<void> {
    this.client.destroy();
  }
}
