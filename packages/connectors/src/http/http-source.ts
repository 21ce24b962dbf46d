import { createHash } from 'node:crypto';
import { ConnectorError, undecodableRow, type Batch, type EndpointContext, type Lag, type LogicalType, type Position, type Row, type Source } from '@idra/core';
import { connectorFailure } from '../records/connector-failure.ts';
import { recordsAsChanges } from '../records/delete-records.ts';
import { objectRecord, recordColumns, selectColumns, stringifyJson, type DecodedRecord } from '../records/json-records.ts';
import { isRawJsonNumber, parseJsonExact } from '../records/exact-json.ts';
import { requestSettings } from './http-auth.ts';
import { httpRequest, refusalIn, type HttpRetries } from './http-client.ts';
import { OFFSET_PLACEHOLDER, resolveHttpConfig, type HttpConfig } from './http-options.ts';

/**
 * The stored offset of an HTTP source. `cursor` names the page being read (a cursor, a page
 * number, an item offset or a next-page URL, by the pagination) and `seen` the fingerprints of its
 * items already copied. Fingerprints rather than a count: an API's last page changes while it is
 * read again (an item that changes moves to the end, new ones arrive), and only what is not yet
 * copied, wherever it now stands in the page, must be taken.
 *
 * With an incremental field, each pass over the API asks for the items changed since `since` (the
 * largest value copied by the pass before); `max` and `edge` are the largest value of this pass and
 * the fingerprints of its items holding it, `boundary` those of the pass before, which an API filtering
 * with ≥ sends again and which are not copied twice unless they changed. `ended`: this pass reached
 * its last page; the next read starts the next pass.
 */
export interface HttpOffset {
  cursor: string | null;
  seen: string[];
  since?: string | null;
  max?: string | null;
  edge?: string[];
  boundary?: string[];
  ended?: boolean;
}

type NumberTypes = WeakMap<object, Map<string, LogicalType>>;

// One read follows next pages while its batch is not full, at most this many pages.
const MAX_PAGES_PER_READ = 20;

/** The value at a dotted path (`data.items`); the whole value for ''. */
export function at(value: unknown, path: string): unknown {
  if (path === '') return value;
  return path.split('.').reduce<unknown>((v, key) => (v !== null && typeof v === 'object' ? (v as Record<string, unknown>)[key] : undefined), value);
}

const strings = (v: unknown): v is string[] => Array.isArray(v) && v.every((f) => typeof f === 'string');
const text = (v: unknown): v is string | null | undefined => v === undefined || v === null || typeof v === 'string';

/** The stored offset; one of an earlier version (`{cursor, skip}`: a count) comes with the count to skip once. */
function storedOffset(ctx: EndpointContext, position: Position): HttpOffset & { legacySkip: number } {
  if (position.kind !== 'stream' || position.value === null || position.value === undefined) return { cursor: null, seen: [], legacySkip: 0 };
  const v = position.value as Record<string, unknown>;
  const cursorOk = typeof v === 'object' && (v.cursor === null || typeof v.cursor === 'string');
  if (typeof v.skip === 'number' && cursorOk && Number.isInteger(v.skip) && v.skip >= 0)
    return { cursor: v.cursor as string | null, seen: [], legacySkip: v.skip };
  const valid =
    cursorOk &&
    strings(v.seen) &&
    text(v.since) &&
    text(v.max) &&
    (v.edge === undefined || strings(v.edge)) &&
    (v.boundary === undefined || strings(v.boundary)) &&
    (v.ended === undefined || typeof v.ended === 'boolean');
  if (!valid) {
    throw new ConnectorError({
      connector: 'http',
      role: 'source',
      syncId: ctx.sync.id,
      transient: false,
      message: `stored offset ${JSON.stringify(position.value)} is not {cursor, seen, …}`,
    });
  }
  return { ...(v as unknown as HttpOffset), legacySkip: 0 };
}

/** A short digest of an item as the API sent it (72 bits: collisions within one page are out of reach). */
function fingerprint(item: unknown): string {
  return createHash('sha256').update(stringifyJson(item)).digest('base64url').slice(0, 12);
}

/** Incremental values compared as numbers when both are numbers, else as text (ISO-8601 timestamps of one format sort right). */
function compareValues(a: string, b: string): number {
  const x = Number(a);
  const y = Number(b);
  if (a.trim() !== '' && b.trim() !== '' && Number.isFinite(x) && Number.isFinite(y)) return x - y;
  return a < b ? -1 : a > b ? 1 : 0;
}

/** The URL of the `rel="next"` link of a Link header (RFC 8288), resolved against the request's URL. */
export function nextLink(header: string | null, base: URL): URL | undefined {
  if (!header) return undefined;
  for (const part of header.split(/,(?=\s*<)/)) {
    const m = /^\s*<([^>]*)>(.*)$/.exec(part);
    if (m && /;\s*rel\s*=\s*"?([^";]*\s)?next(\s[^";]*)?"?\s*(;|$)/i.test(m[2]!)) return new URL(m[1]!, base);
  }
  return undefined;
}

/** One page of the API: its items, and the cursor of the page after it (null: none yet). */
interface Page {
  items: unknown[];
  next: string | null;
  numberTypes: NumberTypes;
}

/**
 * Pages a JSON API (`pagination`: a cursor from the response, a page number, an item offset, or the
 * Link header's next URL): each response holds the items (at `itemsPath`). The offset is the page
 * being read plus the fingerprints of its items already copied ({@link HttpOffset}), so a batch
 * smaller than a page loses nothing; when the API has no page after it yet, the source asks for the
 * same page again at the next poll and copies the items it has not seen, wherever they are in the
 * page: an item that changed is copied again, one that did not is not. With `incrementalField`, each
 * pass asks only for what changed since the last pass (`{{offset}}` in `params`). Items that are not
 * JSON objects follow the sync's error policy.
 */
export class HttpSource implements Source {
  private readonly ctx: EndpointContext;
  private readonly config: HttpConfig;
  private readonly requests: HttpRetries;
  /** The last read found nothing more: the API's last page was read to its end. */
  private caughtUp = false;

  private constructor(ctx: EndpointContext, config: HttpConfig) {
    this.ctx = ctx;
    this.config = config;
    this.requests = requestSettings(config);
  }

  static async open(ctx: EndpointContext): Promise<HttpSource> {
    return new HttpSource(ctx, resolveHttpConfig(ctx));
  }

  /** The URL of the page at `cursor` (null: the first) of a pass asking for changes since `since`. */
  private pageUrl(cursor: string | null, since: string | null | undefined, limit: number): URL {
    const { config } = this;
    // A next-page URL from a Link header is the API's own, its parameters included.
    if (config.pagination === 'link' && cursor !== null) return new URL(cursor);
    const url = new URL(config.url);
    const value = since ?? config.incrementalStart;
    for (const [k, v] of Object.entries(config.params)) {
      if (!v.includes(OFFSET_PLACEHOLDER)) url.searchParams.set(k, v);
      else if (value !== undefined && value !== null) url.searchParams.set(k, v.replaceAll(OFFSET_PLACEHOLDER, value));
    }
    const paged = config.pagination === 'page' || config.pagination === 'offset';
    if (config.limitParam) url.searchParams.set(config.limitParam, String(paged ? config.pageSize : limit));
    if (config.pagination === 'cursor' && cursor !== null) url.searchParams.set(config.cursorParam, cursor);
    if (config.pagination === 'page') url.searchParams.set(config.pageParam, cursor ?? String(config.firstPage));
    if (config.pagination === 'offset') url.searchParams.set(config.offsetParam, cursor ?? '0');
    return url;
  }

  private async page(cursor: string | null, since: string | null | undefined, limit: number, signal: AbortSignal): Promise<Page> {
    const { config } = this;
    const url = this.pageUrl(cursor, since, limit);
    const { text, headers } = await httpRequest(this.requests, { method: 'GET', url }, signal);
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
    return { items, next: this.nextCursor(cursor, url, items, body, headers), numberTypes };
  }

  /** The cursor of the page after the one at `cursor`, by the pagination; null when the API has none (yet). */
  private nextCursor(cursor: string | null, url: URL, items: unknown[], body: unknown, headers: Headers): string | null {
    const { config } = this;
    switch (config.pagination) {
      case 'page':
        return items.length >= config.pageSize ? String(Number(cursor ?? config.firstPage) + 1) : null;
      case 'offset':
        return items.length >= config.pageSize ? String(Number(cursor ?? 0) + items.length) : null;
      case 'link':
        // Another origin is refused when the page is asked for (httpRequest), not followed.
        return nextLink(headers.get('link'), url)?.toString() ?? null;
      case 'cursor': {
        const last: unknown = items[items.length - 1];
        const next = config.cursorField
          ? last !== null && typeof last === 'object'
            ? (last as Record<string, unknown>)[config.cursorField]
            : undefined
          : at(body, config.nextCursorPath);
        return next === null || next === undefined || next === '' ? null : isRawJsonNumber(next) ? next.rawJSON : String(next);
      }
    }
  }

  /** An item's incremental value as text (undefined without one). */
  private incrementalValue(item: unknown): string | undefined {
    const v = at(item, this.config.incrementalField);
    return v === null || v === undefined ? undefined : isRawJsonNumber(v) ? v.rawJSON : typeof v === 'object' ? stringifyJson(v) : String(v);
  }

  async read(position: Position, limit: number, signal: AbortSignal): Promise<Batch> {
    const stored = storedOffset(this.ctx, position);
    const incremental = this.config.incrementalField !== '';
    let legacySkip = stored.legacySkip;
    let offset: HttpOffset = { cursor: stored.cursor, seen: stored.seen };
    if (incremental) {
      offset = { ...offset, since: stored.since ?? null, max: stored.max ?? null, edge: stored.edge ?? [], boundary: stored.boundary ?? [], ended: false };
      // The last pass was read to its end: the next one asks for what changed since its largest value.
      if (stored.ended) {
        const moved = stored.max != null;
        offset = {
          cursor: null,
          seen: [],
          since: moved ? stored.max : (stored.since ?? null),
          max: null,
          edge: [],
          boundary: moved ? (stored.edge ?? []) : (stored.boundary ?? []),
          ended: false,
        };
      }
    }
    const taken: Array<DecodedRecord | Row> = [];
    const records = new Set<DecodedRecord>();
    let reachedEnd = false;
    try {
      for (let pages = 0; pages < MAX_PAGES_PER_READ && taken.length < limit && !signal.aborted; pages++) {
        const { items, next, numberTypes } = await this.page(offset.cursor, offset.since, limit, signal);
        // The page's items already copied (counted, for identical items), then the others in page order.
        const unseen = new Map<string, number>();
        for (const f of offset.seen) unseen.set(f, (unseen.get(f) ?? 0) + 1);
        const passedOver = new Set(offset.boundary ?? []);
        const seen: string[] = [];
        const fresh: Array<{ item: unknown; index: number; print: string }> = [];
        items.forEach((item, index) => {
          const print = fingerprint(item);
          const left = unseen.get(print) ?? 0;
          if (left > 0 || index < legacySkip || passedOver.has(print)) {
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
            if (incremental) offset = this.track(offset, item, print);
          } else {
            const origin = { url: this.config.url.toString(), cursor: offset.cursor, index, item: stringifyJson(item) };
            taken.push(
              undecodableRow(origin, new Error(`http source: item ${index} of the page at cursor ${offset.cursor ?? '(first)'} is not a JSON object`)),
            );
          }
        }
        if (take.length < fresh.length) {
          // The batch is full: go on in this page.
          offset = { ...offset, seen };
          break;
        }
        if (next === null || next === offset.cursor) {
          // The API has no page after this one yet: stay on it (or, incremental, end the pass).
          offset = { ...offset, seen, ...(incremental ? { ended: true } : {}) };
          reachedEnd = true;
          break;
        }
        offset = { ...offset, cursor: next, seen: [] };
      }
    } catch (err) {
      throw connectorFailure(this.ctx, refusalIn(err) ?? err, { transient: !refusalIn(err) });
    }
    this.caughtUp = reachedEnd && taken.length < limit;
    if (taken.length === 0) return { columns: [], rows: [], position };
    const { columns, rows, changes } = recordsAsChanges(taken, {
      recordOf: (t) => (records.has(t as DecodedRecord) ? (t as DecodedRecord) : undefined),
      placeholder: (t, error) =>
        error ? undecodableRow({ url: this.config.url.toString(), item: stringifyJson((t as DecodedRecord).row) }, error) : (t as Row),
      columnsOf: (read) => selectColumns(recordColumns(read, this.config.columnTypes), this.ctx.endpoint.columns),
      keyColumns: this.ctx.sync.keyColumns,
      marker: this.config.deleteField,
    });
    return { columns, rows, changes, position: { kind: 'stream', value: offset } };
  }

  /** The pass's largest incremental value and the items holding it, after `item` (fingerprint `print`) is copied. */
  private track(offset: HttpOffset, item: unknown, print: string): HttpOffset {
    const value = this.incrementalValue(item);
    if (value === undefined) return offset;
    const order = offset.max == null ? 1 : compareValues(value, offset.max);
    if (order > 0) return { ...offset, max: value, edge: [print] };
    if (order === 0) return { ...offset, edge: [...(offset.edge ?? []), print] };
    return offset;
  }

  /**
   * What the source can tell without asking the API more: none left once the last read found the
   * API's last page read to its end; the largest incremental value copied as the head.
   */
  async lag(position: Position): Promise<Lag | undefined> {
    const stored = storedOffset(this.ctx, position);
    const head = stored.max ?? stored.since ?? undefined;
    return this.caughtUp ? { rows: 0, head } : head === undefined ? undefined : { head };
  }

  async close(): Promise<void> {}
}
