import { createHash } from 'node:crypto';
import { RowRejectedError, type Batch, type Destination, type EndpointContext, type WriteResult } from '@idra/core';
import { connectorFailure } from '../records/connector-failure.ts';
import { batchRecords, markerClash, recordJson, type BatchRecord } from '../records/delete-records.ts';
import { stringifyJson } from '../records/json-records.ts';
import { HttpStatusError, httpRequest, refusalIn, type HttpRetries } from './http-client.ts';
import { requestSettings } from './http-auth.ts';
import { resolveHttpConfig, type HttpConfig } from './http-options.ts';

// Final answers that are about the server or our credentials, not the rows: retried by the sync, never set aside.
const NOT_ABOUT_ROWS = new Set([401, 403, 404, 405]);

/**
 * The idempotency key of one POST: derived from the sync, the batch's position and the body, so
 * that the same batch sent again (a retry, or a replay after a crash) carries the same key, and a
 * different body (a part of the batch while rejected rows are isolated) does not.
 */
export function idempotencyKey(syncId: string, batch: Batch, body: string): string {
  return `${syncId}-${createHash('sha256').update(stringifyJson(batch.position)).update('\n').update(body).digest('hex').slice(0, 40)}`;
}

/**
 * POSTs each batch as JSON (`{"rows": [...]}`, or a bare array), in requests of at most
 * `options.batchSize` rows, each with an idempotency-key header; a delete is an item of the key
 * columns and the marker field (`options.deleteField`) set to true, in its place among the rows. 429 and 5xx are retried with
 * backoff (Retry-After honoured); another 4xx refuses the rows sent, and the sync's error policy
 * isolates the culprits.
 */
export class HttpDestination implements Destination {
  private readonly ctx: EndpointContext;
  private readonly config: HttpConfig;
  private readonly requests: HttpRetries;

  private constructor(ctx: EndpointContext, config: HttpConfig) {
    this.ctx = ctx;
    this.config = config;
    this.requests = requestSettings(config);
  }

  static async open(ctx: EndpointContext): Promise<HttpDestination> {
    return new HttpDestination(ctx, resolveHttpConfig(ctx));
  }

  async write(batch: Batch, signal: AbortSignal): Promise<WriteResult> {
    const { config } = this;
    let records: BatchRecord[];
    try {
      records = batchRecords(batch, 'http destination');
      const clash = records.length > batch.rows.length ? markerClash(batch.columns, config.deleteField) : undefined;
      if (clash) throw new Error(clash);
    } catch (err) {
      throw connectorFailure(this.ctx, err, { transient: false });
    }
    for (let start = 0; start < records.length; start += config.postBatchSize) {
      const rows = records
        .slice(start, start + config.postBatchSize)
        .map((record) => recordJson(record, batch.columns, this.ctx.sync.keyColumns, config.deleteField));
      const body = stringifyJson(config.bodyField === '' ? rows : { [config.bodyField]: rows });
      try {
        await httpRequest(
          this.requests,
          {
            method: 'POST',
            url: config.url,
            body,
            headers: { 'content-type': 'application/json', [config.idempotencyHeader]: idempotencyKey(this.ctx.sync.id, batch, body) },
          },
          signal,
        );
      } catch (err) {
        if (err instanceof HttpStatusError && !NOT_ABOUT_ROWS.has(err.status)) {
          throw new RowRejectedError(batch.rows.length === 1 ? batch.rows[0] : undefined, err);
        }
        throw connectorFailure(this.ctx, refusalIn(err) ?? err, { transient: !refusalIn(err) });
      }
    }
    return { written: batch.rows.length, deleted: records.length - batch.rows.length };
  }

  async close(): Promise<void> {}
}
