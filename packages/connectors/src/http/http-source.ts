import { createHash } from 'node:crypto';
import { ConnectorError, type Batch, type EndpointContext, type LogicalType, type Position, type Row, type Source } from '@idra/core';
import { connectorFailure } from '../records/connector-failure.ts';
import { objectRecord, recordColumns, recordRow, selectColumns, stringifyJson, type DecodedRecord } from '../records/json-records.ts';
import { undecodableRow } from '@idra/core';
import { isRawJsonNumber, parseJsonExact } from '../records/exact-json.ts';
import { httpRequest, refusalIn } from './http-client.ts';
import { resolveHttpConfig, type HttpConfig } from './http-options.ts';

/**
 * The stored offset of an HTTP source: the cursor of the page being read, and the fingerprints of
 * the items of that page already copied. Fingerprints rather than a count: an API's last page
 * changes while it is read again (an item that changes moves to the end, new ones arrive), and only
 * what is not yet copied, wherever it now stands in the page, must be taken.
 */
export interface HttpOffset {
  cursor: string | null;
  seen: string[];
}

type NumberTypes = WeakMap<object, Map<string, LogicalType>>;

// One read follows next cursors while its batch is not full, at most this many pages.
const MAX_PAGES_PER_READ = 20;

/** The value at a dotted path (`data.items`); the whole value for ''. */
export function at(value: unknown, path: string): unknown {
  if (path === '') return value;
  return path.split('.').reduce<unknown>((v, key) => (v !== null && typeof v === 'object' ? (v as Record<string, unknown>)[key] : undefined), value);
}

/** The stored offset; one of an earlier version (`{cursor, skip}`: a count) comes with the count to skip once. */
function storedOffset(ctx: EndpointContext, position: Position): HttpOffset & { skip: number } {
  if (position.kind !== 'stream' || position.value === null || position.value === undefined) return { cursor: null, seen: [], skip: 0 };
  const v = position.value as Partial<HttpOffset> & { skip?: unknown };
  const cursorOk = typeof v === 'object' && (v.cursor === null || typeof v.cursor === 'string');
  if (cursorOk && Array.isArray(v.seen) && v.seen.every((f) => typeof f === 'string')) return { cursor: v.cursor!, seen: v.seen, skip: 0 };
  if (cursorOk && typeof v.skip === 'number' && Number.isInteger(v.skip) && v.skip >= 0) return { cursor: v.cursor!, seen: [], skip: v.skip };
  throw new ConnectorError({ connector: 'http', role: 'source', syncId: ctx.sync.id, transient: false, message: `stored offset ${JSON.stringify(position.value)} is not {cursor, seen}` });
}

/** A short digest of an item as the API sent it (72 bits: collisions within one page are out of reach). */
function fingerprint(item: unknown): string {
  return createHash('sha256').update(stringifyJson(item)).digest('base64url').slice(0, 12);
}

/**
 * Pages a JSON API by a cursor query parameter: each response holds the items (at `itemsPath`)
 * and the next cursor (at `nextCursorPath`, or the `cursorField` of the last item). The offset is
 * the cursor of the page being read plus
 * the fingerprints of its items already copied ({@link HttpOffset}), so a batch smaller than a page
 * loses nothing; when the API gives no next cursor the source asks for the same page again at the
 * next poll and copies the items it has not seen, wherever they are in the page: an item that
 * changed is copied again, one that did not is not. Items that are not JSON objects follow the
 * sync's error policy.
 */
export class HttpSource implements Source {
  private readonly ctx: EndpointContext;
  private readonly config: HttpConfig;

  private constructor(ctx: EndpointContext, config: HttpConfig) {
    this.ctx = ctx;
    this.config = config;
  }

  static async open(ctx: EndpointContext): Promise<HttpSource> {
    return new HttpSource(ctx, resolveHttpConfig(ctx));
  }

  private async page(cursor: string | null, limit: number, signal: AbortSignal): Promise<{ items: unknown[]; next: string | null; numberTypes: NumberTypes }> {
    const { config } = this;
    const url = new URL(config.url);
    for (const [k, v] of Object.entries(config.params)) url.searchParams.set(k, v);
    if (cursor !== null) url.searchParams.set(config.cursorParam, cursor);
    if (config.limitParam) url.searchParams.set(config.limitParam, String(limit));
    const { text } = await httpRequest(config, { method: 'GET', url }, signal);
    let body: unknown;
    const numberTypes: NumberTypes = new WeakMap();
    try {
      body = parseJsonExact(text, numberTypes);
    } catch {
      // Not the text itself: statuses are read by everyone, and the answer may be anything.
      throw new Error(`GET ${url.origin}${url.pathname}: the response is not JSON (${text.length} characters)`);
    }
    const items = at(body, config.itemsPath);
    if (!Array.isArray(items)) throw new Error(`GET ${url.origin}${url.pathname}: no array at '${config.itemsPath}' in the response`);
    const last: unknown = items[items.length - 1];
    const next = config.cursorField ? (last !== null && typeof last === 'object' ? (last as Record<string, unknown>)[config.cursorField] : undefined) : at(body, config.nextCursorPath);
    const nextCursor = next === null || next === undefined || next === '' ? null : isRawJsonNumber(next) ? next.rawJSON : String(next);
    return { items, next: nextCursor, numberTypes };
  }

  async read(position: Position, limit: number, signal: AbortSignal): Promise<Batch> {
    const stored = storedOffset(this.ctx, position);
    const taken: Array<DecodedRecord | Row> = [];
    const records = new Set<DecodedRecord>();
    let offset: HttpOffset = { cursor: stored.cursor, seen: stored.seen };
    let legacySkip = stored.skip;
    try {
      for (let pages = 0; pages < MAX_PAGES_PER_READ && taken.length < limit && !signal.aborted; pages++) {
        const { items, next, numberTypes } = await this.page(offset.cursor, limit, signal);
        // The page's items already copied (counted, for identical items), then the others in page order.
        const unseen = new Map<string, number>();
        for (const f of offset.seen) unseen.set(f, (unseen.get(f) ?? 0) + 1);
        const seen: string[] = [];
        const fresh: Array<{ item: unknown; index: number; print: string }> = [];
        items.forEach((item, index) => {
          const print = fingerprint(item);
          const left = unseen.get(print) ?? 0;
          if (left > 0 || index < legacySkip) {
            unseen.set(print, left - 1);
            seen.push(print);
          } else fresh.push({ item, index, print });
        });
        legacySkip = 0;
        const take = fresh.slice(0, limit - taken.length);
        for (const { item, index, print } of take) {
          seen.push(print);
          if (item !== null && typeof item === 'object' && !Array.isArray(item)) {
            const record = objectRecord(item as Row, numberTypes.get(item));
            records.add(record);
            taken.push(record);
          } else {
            const origin = { url: this.config.url.toString(), cursor: offset.cursor, index, item: stringifyJson(item) };
            taken.push(undecodableRow(origin, new Error(`http source: item ${index} of the page at cursor ${offset.cursor ?? '(first)'} is not a JSON object`)));
          }
        }
        // The batch is full, or the API has no page after this one yet: stay on this page.
        if (take.length < fresh.length || next === null || next === offset.cursor) {
          offset = { cursor: offset.cursor, seen };
          break;
        }
        offset = { cursor: next, seen: [] };
      }
    } catch (err) {
      throw connectorFailure(this.ctx, refusalIn(err) ?? err, { transient: !refusalIn(err) });
    }
    if (taken.length === 0) return { columns: [], rows: [], position };
    const columns = selectColumns(recordColumns([...records], this.config.columnTypes), this.ctx.endpoint.columns);
    const rows = taken.map((t) => (records.has(t as DecodedRecord) ? recordRow(t as DecodedRecord, columns) : (t as Row)));
    return { columns, rows, position: { kind: 'stream', value: offset } };
  }

  async close(): Promise<void> {}
}
