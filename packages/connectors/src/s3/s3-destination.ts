import { promisify } from 'node:util';
import { gzip, zstdCompress } from 'node:zlib';
import { CreateBucketCommand, HeadBucketCommand, PutObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import type { Batch, Column, Destination, EndpointContext, Row, WriteResult } from '@idra/core';
import { csvLine } from '../records/csv.ts';
import { encodeColumns, rowToJson, stringifyJson, toJsonValue } from '../records/json-records.ts';
import { resolveS3Config, type S3Config } from './s3-options.ts';
import { batchObjectKey, columnsMetadata, createS3Client, s3Failure } from './s3-objects.ts';

const COMPRESS = { gzip: promisify(gzip), zstd: promisify(zstdCompress) };
const CONTENT_TYPE = { gzip: 'application/gzip', zstd: 'application/zstd', csv: 'text/csv; charset=utf-8', jsonl: 'application/x-ndjson' };

/** A row value as CSV text: NULL stays NULL, JSON values are JSON text, bytes base64. */
function csvText(value: unknown): string | null {
  const v = toJsonValue(value);
  if (v === null) return null;
  return typeof v === 'string' ? v : stringifyJson(v);
}

/** The body of the object holding a batch: JSON Lines, or CSV (with a header line unless `header` is false). */
function batchBody(config: Pick<S3Config, 'format' | 'delimiter' | 'header'>, columns: readonly Column[], rows: readonly Row[]): string {
  if (config.format === 'csv') {
    const d = config.delimiter ?? ',';
    const head = config.header
      ? csvLine(
          columns.map((c) => c.name),
          d,
        )
      : '';
    return (
      head +
      rows
        .map((row) =>
          csvLine(
            columns.map((c) => csvText(row[c.name])),
            d,
          ),
        )
        .join('')
    );
  }
  return rows.map((row) => stringifyJson(rowToJson(row, columns)) + '\n').join('');
}

/**
 * Writes each batch as one object (JSON Lines or CSV, optionally gzip- or zstd-compressed) under the prefix, named
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
    try {
      await this.ensureBucket(signal);
      const text = Buffer.from(batchBody(config, batch.columns, batch.rows));
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
      return { written: batch.rows.length };
    } catch (err) {
      throw s3Failure(this.ctx, err);
    }
  }

  async close(): Promise<void> {
    this.client.destroy();
  }
}
