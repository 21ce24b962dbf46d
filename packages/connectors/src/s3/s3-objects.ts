import { createHash } from 'node:crypto';
import { S3Client, S3ServiceException } from '@aws-sdk/client-s3';
import type { Batch, EndpointContext, Row, Sync } from '@idra/core';
import { connectorFailure } from '../records/connector-failure.ts';
import type { S3Config } from './s3-options.ts';

/** User metadata key carrying an object's columns (names and types), so that an S3 source restores them. */
export const COLUMNS_METADATA = 'idra-columns';
// S3 allows 2 KB of user metadata per object; wider column lists are left out (sources infer types then).
const MAX_METADATA_BYTES = 1800;

/** The metadata to store with an object holding `columns` (encoded). */
export function columnsMetadata(encoded: string): Record<string, string> {
  return Buffer.byteLength(encoded) <= MAX_METADATA_BYTES ? { [COLUMNS_METADATA]: encoded } : {};
}

/** An S3 client for one endpoint: path-style and a custom endpoint as configured, checksums only where S3 requires them (compatible stores). */
export function createS3Client(config: Pick<S3Config, 'region' | 'pathStyle' | 'requestTimeoutMs' | 'endpoint' | 'credentials'>): S3Client {
  return new S3Client({
    region: config.region,
    forcePathStyle: config.pathStyle,
    maxAttempts: 2,
    requestChecksumCalculation: 'WHEN_REQUIRED',
    responseChecksumValidation: 'WHEN_REQUIRED',
    requestHandler: { connectionTimeout: 3000, requestTimeout: config.requestTimeoutMs },
    ...(config.endpoint ? { endpoint: config.endpoint } : {}),
    ...(config.credentials ? { credentials: config.credentials } : {}),
  });
}

/** An S3 error as the connector's error; every S3 failure is retried (a missing bucket may be created). */
export function s3Failure(ctx: EndpointContext, err: unknown, context?: string): Error {
  if (err instanceof S3ServiceException) {
    const status = err.$metadata.httpStatusCode;
    const what =
      err.name === 'NoSuchBucket' ? `bucket ${ctx.endpoint.bucket} does not exist` : `${err.name}${status ? ` (HTTP ${status})` : ''}: ${err.message}`;
    return connectorFailure(ctx, new Error(what, { cause: err }), context ? { context } : {});
  }
  return connectorFailure(ctx, err, context ? { context } : {});
}

/** A key segment that sorts like the value: integers zero-padded to 20 digits, other text made key-safe. */
function sortable(value: unknown): string {
  const text = value === null || value === undefined ? '' : typeof value === 'string' ? value : JSON.stringify(value);
  if (/^\d{1,20}$/.test(text)) return text.padStart(20, '0');
  return text.replace(/ /g, 'T').replace(/[^A-Za-z0-9._-]/g, '-');
}

/**
 * The name of the object holding a batch: deterministic, so that a batch written again after a
 * crash (before its offset was committed) overwrites its first copy instead of adding one, and
 * increasing, so that an S3 source reads the objects back in order. Cursor modes name it after the
 * batch's first row (its cursor and tiebreaker, or key): a replayed batch starts at the same row even
 * if it grew. Stream mode names it after the position the batch ends at (Kafka: the sum of the
 * partition offsets; MongoDB: the resume token; otherwise its text): a replay that ends elsewhere
 * (more messages had arrived) writes a second object, and the rows of the first appear twice.
 */
export function batchObjectKey(config: S3Config, sync: Sync, batch: Batch): string {
  const ext =
    (config.format === 'csv' ? (config.delimiter === '\t' ? '.tsv' : '.csv') : '.jsonl') + { none: '', gzip: '.gz', zstd: '.zst' }[config.compression];
  // A batch of deletes alone has no first row: it is named after the row its read ended at (its position), which sorts
  // after the objects holding the rows it deletes and before those of the rows read after it.
  const deletesOnly = batch.rows.length === 0;
  const p = batch.position;
  const first: Row =
    batch.rows[0] ??
    (p.kind === 'id'
      ? { [sync.cursorColumn!]: p.value }
      : p.kind === 'timestamp'
        ? { [sync.cursorColumn!]: p.value, [sync.tiebreakerColumn!]: p.tiebreaker }
        : {});
  let name: string;
  switch (sync.mode) {
    case 'id':
    case 'destination-id':
      name = sortable(first[sync.cursorColumn!]);
      break;
    case 'timestamp':
    case 'destination-timestamp':
      name = `${sortable(first[sync.cursorColumn!])}_${sortable(first[sync.tiebreakerColumn!])}`;
      break;
    case 'full': {
      const run = batch.position.kind === 'full' ? batch.position.value.run : 0;
      name = `run${String(run).padStart(10, '0')}_${sync.keyColumns.map((k) => sortable(first[k])).join('_')}`;
      break;
    }
    case 'stream': {
      const value = batch.position.kind === 'stream' ? batch.position.value : null;
      if (value && typeof value === 'object' && Object.values(value).every((v) => typeof v === 'string' && /^\d+$/.test(v))) {
        name = sortable(String(Object.values(value as Record<string, string>).reduce((sum, v) => sum + BigInt(v), 0n)));
      } else if (value && typeof value === 'object' && typeof (value as { _data?: unknown })._data === 'string') {
        name = sortable((value as { _data: string })._data);
      } else if (typeof value === 'string' && value.length <= 200) {
        name = sortable(value);
      } else {
        name = createHash('sha256').update(JSON.stringify(value)).digest('hex').slice(0, 32);
      }
      break;
    }
    case 'cdc': {
      // The log position (PostgreSQL LSN `X/Y`, zero-padded hex sorts as the log does), and the rows
      // of the initial copy so far while it runs (its batches all end at the slot's position).
      const value = (batch.position.kind === 'stream' ? batch.position.value : null) as { lsn?: unknown; snapshot?: { rows?: unknown } } | null;
      const lsn =
        typeof value?.lsn === 'string' && /^[0-9A-F]{1,8}\/[0-9A-F]{1,8}$/i.test(value.lsn)
          ? value.lsn
              .split('/')
              .map((p) => p.padStart(8, '0'))
              .join('')
          : undefined;
      name = lsn
        ? `${lsn}${value?.snapshot ? `_${sortable(String(value.snapshot.rows))}` : ''}`
        : createHash('sha256').update(JSON.stringify(value)).digest('hex').slice(0, 32);
      break;
    }
  }
  return `${config.prefix}${name}${deletesOnly ? '_deletes' : ''}${ext}`;
}
