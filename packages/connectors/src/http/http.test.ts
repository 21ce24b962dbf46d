import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { freePort, tempDir, until } from '@idra/testkit';
import { FileOffsetStore, parseConfigFile, type Endpoint, type Sync } from '@idra/core';
import { CONNECTOR_SPECS } from '../catalogue.ts';
import { describeConnectorContract } from '../testing/connector-contract.ts';
import { createTestDb, insertRows, runOnce, TestRun, type TestDb } from '../testing/fixtures.ts';
import { deletesThrough, numberedRows, syncBetween, tableEndpoint } from '../testing/endpoints.ts';
import { retryAfterMs } from './http-client.ts';
import { httpConnector } from './index.ts';
import { parseJsonExact } from '../records/exact-json.ts';

/** A JSON API in the test: a paged item feed and an ingest endpoint, with failures on demand. */
class TestApi {
  items: unknown[] = [];
  pageSize = 4;
  token = 'secret-token';
  /** Answers to give before serving normally, e.g. 503 or 429 with a Retry-After. */
  failures: Array<{ status: number; retryAfter?: string }> = [];
  /** Answer 500 to every request while set. */
  broken = false;
  readonly requests: Array<{ method: string; url: string; at: number }> = [];
  /** Posted bodies by idempotency key: a key seen again is not stored twice. */
  readonly ingested = new Map<string, Array<Record<string, unknown>>>();
  readonly keys: string[] = [];
  readonly places = new Map<string, { keys: Set<string>; rows: unknown[] }>();
  /** Every request's headers, for what went where. */
  readonly headers: IncomingMessage['headers'][] = [];
  /** The origin of the next links of /v2/linked (another server's, to test that they are refused). */
  linkBase: string | undefined;
  /** The OAuth2 client this API knows, the tokens it issued (by value: when each expires), their lifetime, the token requests. */
  readonly client = { id: 'client-1', secret: 'client-secret-9f8e7d' };
  readonly issued = new Map<string, number>();
  tokenLifetimeS = 3600;
  readonly tokenRequests: Array<{ authorization: string | undefined; form: URLSearchParams; headers: IncomingMessage['headers'] }> = [];
  /** Requests refused because their token was unknown, revoked or expired. */
  refusedTokens = 0;
  private server: Server | undefined;
  port = 0;

  async start(port?: number): Promise<void> {
    this.port = port ?? (await freePort());
    this.server = createServer((req, res) => void this.handle(req, res));
    await new Promise<void>((resolve) => this.server!.listen(this.port, '127.0.0.1', resolve));
  }

  async stop(): Promise<void> {
    this.server?.closeAllConnections();
    await new Promise<void>((resolve) => (this.server ? this.server.close(() => resolve()) : resolve()));
    this.server = undefined;
  }

  get base(): string {
    return `http://127.0.0.1:${this.port}`;
  }

  /** Requests wait unanswered while paused (a hung API), until {@link resume}. */
  private paused: Array<() => void> | undefined;

  pause(): void {
    this.paused ??= [];
  }

  resume(): void {
    for (const answer of this.paused ?? []) answer();
    this.paused = undefined;
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    if (this.paused) await new Promise<void>((r) => this.paused!.push(r));
    const url = new URL(req.url!, this.base);
    this.requests.push({ method: req.method!, url: url.pathname + url.search, at: Date.now() });
    this.headers.push(req.headers);
    let body = '';
    for await (const chunk of req) body += chunk;
    const reply = (status: number, value: unknown, headers: Record<string, string> = {}) => {
      res.writeHead(status, { 'content-type': 'application/json', ...headers });
      res.end(JSON.stringify(value));
    };
    if (this.broken) return reply(500, { error: 'boom' });
    const failure = this.failures.shift();
    if (failure) return reply(failure.status, { error: 'try later' }, failure.retryAfter ? { 'retry-after': failure.retryAfter } : {});
    if (req.method === 'POST' && url.pathname === '/oauth/token') {
      const form = new URLSearchParams(body);
      this.tokenRequests.push({ authorization: req.headers.authorization, form, headers: req.headers });
      const basic = `Basic ${Buffer.from(`${this.client.id}:${this.client.secret}`).toString('base64')}`;
      if (req.headers.authorization !== basic || form.get('grant_type') !== 'client_credentials') return reply(401, { error: 'invalid_client' });
      const token = `tok-${this.tokenRequests.length}`;
      this.issued.set(token, Date.now() + this.tokenLifetimeS * 1000);
      return reply(200, { access_token: token, token_type: 'Bearer', expires_in: this.tokenLifetimeS });
    }
    const bearer = /^Bearer (.*)$/.exec(req.headers.authorization ?? '')?.[1];
    const oauth = bearer !== undefined && (this.issued.get(bearer) ?? 0) > Date.now();
    if (bearer !== this.token && !oauth) {
      if (bearer?.startsWith('tok-')) this.refusedTokens++;
      return reply(401, { error: 'bad token' });
    }
    const items = this.items as Array<Record<string, unknown>>;
    if (req.method === 'GET' && url.pathname === '/v2/pages') {
      // Page numbers from 1, pages of a size the API decides.
      const page = Number(url.searchParams.get('page') ?? '1');
      return reply(200, { items: items.slice((page - 1) * this.pageSize, page * this.pageSize) });
    }
    if (req.method === 'GET' && url.pathname === '/v2/offset') {
      const start = Number(url.searchParams.get('offset') ?? '0');
      return reply(200, { items: items.slice(start, start + Math.min(this.pageSize, Number(url.searchParams.get('limit') ?? this.pageSize))) });
    }
    if (req.method === 'GET' && url.pathname === '/v2/linked') {
      // GitHub style: a bare array, the next page in the Link header with its own parameters.
      const start = Number(url.searchParams.get('after') ?? '0');
      const end = Math.min(start + this.pageSize, items.length);
      const link = `<${this.linkBase ?? this.base}/v2/linked?after=${end}&per_page=${this.pageSize}>; rel="next", <${this.base}/v2/linked>; rel="first"`;
      return reply(200, items.slice(start, end), end < items.length ? { link } : {});
    }
    if (req.method === 'GET' && url.pathname === '/v2/changes') {
      // Items changed at or after updated_since (inclusive, as most APIs filter), oldest change first, paged by position.
      const since = url.searchParams.get('updated_since');
      const changed = items
        .filter((i) => since === null || String(i['updated_at']) >= since)
        .sort((a, b) => String(a['updated_at']).localeCompare(String(b['updated_at'])));
      const start = Number(url.searchParams.get('after') ?? '0');
      const end = start + this.pageSize;
      return reply(200, { items: changed.slice(start, end), next_cursor: end < changed.length ? String(end) : null });
    }
    if (req.method === 'GET' && url.pathname === '/v1/items') {
      const start = Number(url.searchParams.get('after') ?? '0');
      const page = this.items.slice(start, start + this.pageSize);
      const end = start + page.length;
      return reply(200, { data: { items: page }, paging: { next: end < this.items.length ? String(end) : null } });
    }
    if (req.method === 'GET' && url.pathname === '/v1/after') {
      // Paged by "after this id", the body a bare array: the API shape Go Idra's REST source asked for.
      const after = Number(url.searchParams.get('id') ?? '0');
      return reply(200, (this.items as Array<{ id: string }>).filter((i) => Number(i.id) > after).slice(0, this.pageSize));
    }
    if (req.method === 'POST' && url.pathname === '/v1/ingest') {
      const rows = (parseJsonExact(body) as { rows: Array<Record<string, unknown>> }).rows;
      if (rows.some((r) => r['name'] === 'refused')) return reply(422, { error: 'a row has name "refused"' });
      const key = String(req.headers['idempotency-key']);
      this.keys.push(key);
      if (!this.ingested.has(key)) this.ingested.set(key, rows);
      return reply(201, { accepted: rows.length });
    }
    const place = /^\/places\/([\w-]+)\/(items|ingest)$/.exec(url.pathname);
    if (place) {
      // A feed of what was posted to it (once per idempotency key): the contract's round trips.
      const log = this.places.get(place[1]!) ?? { keys: new Set<string>(), rows: [] };
      this.places.set(place[1]!, log);
      if (req.method === 'POST' && place[2] === 'ingest') {
        const key = String(req.headers['idempotency-key']);
        // Parsed exactly, as a real API would have to, so that what the source reads back is what was posted.
        if (!log.keys.has(key)) log.rows.push(...(parseJsonExact(body) as { rows: unknown[] }).rows);
        log.keys.add(key);
        return reply(201, {});
      }
      const start = Number(url.searchParams.get('after') ?? '0');
      const page = log.rows.slice(start, start + this.pageSize);
      const end = start + page.length;
      return reply(200, { data: { items: page }, paging: { next: end < log.rows.length ? String(end) : null } });
    }
    return reply(404, { error: 'no such route' });
  }

  /** Every ingested row, once per idempotency key. */
  get rows(): Array<Record<string, unknown>> {
    return [...this.ingested.values()].flat();
  }
}

let api: TestApi;
let pg: TestDb;

function feed(options: Record<string, unknown> = {}): Endpoint {
  return {
    connector: 'http',
    connection: { url: `${api.base}/`, password: api.token },
    url: '/v1/items',
    options: { cursorParam: 'after', itemsPath: 'data.items', nextCursorPath: 'paging.next', retryBackoff: 20, ...options },
  };
}

function ingest(options: Record<string, unknown> = {}): Endpoint {
  return { connector: 'http', connection: { url: api.base, password: api.token }, url: '/v1/ingest', options: { retryBackoff: 20, ...options } };
}

// The test API listens on loopback, which HTTP connectors refuse unless the admin allows it.
process.env.IDRA_HTTP_ALLOW = '127.0.0.1';

beforeAll(async () => {
  pg = await createTestDb('postgres');
});

afterAll(async () => {
  await api?.stop();
  await pg?.drop();
});

beforeEach(async () => {
  await api?.stop();
  api = new TestApi();
  await api.start();
});

describe('http connector', () => {
  it('HTTP → PG: pages by cursor (configured paths, bearer token); batches smaller than pages lose nothing; a restart resumes', async () => {
    api.items = numberedRows(1, 23);
    const state = await tempDir('idra-state-');
    // No key columns: an item copied twice would be a duplicate row.
    const sync = syncBetween(feed(), tableEndpoint(pg, 'feed'), { batchSize: 3 });
    const first = await runOnce(sync, state);
    expect(first.status.rowsCopied).toBe(23);
    // The last page (items 21–23), with the fingerprints of its three items.
    expect(first.status.position).toEqual({ kind: 'stream', value: { cursor: '20', seen: [expect.any(String), expect.any(String), expect.any(String)] } });
    api.items.push(...numberedRows(24, 6));
    const second = await runOnce(sync, state);
    expect(second.status.rowsCopied).toBe(6);
    expect((await pg.rows('feed', ['id'])).map((r) => Number(r.id)).sort((a, b) => a - b)).toEqual(Array.from({ length: 29 }, (_, i) => i + 1));
    expect(api.requests.every((r) => r.url.startsWith('/v1/items'))).toBe(true);
  });

  it('an API whose last page has no next cursor: an item that changes and moves to the end is copied, nothing is skipped (running and across a restart)', async () => {
    // Items ordered by last change, as such APIs do: a changed item leaves its place and goes last.
    const change = (id: string, name: string) => {
      api.items = [
        ...api.items.filter((i) => (i as { id: string }).id !== id),
        { ...(api.items.find((i) => (i as { id: string }).id === id) as object), name },
      ];
    };
    api.items = numberedRows(1, 6);
    const state = await tempDir('idra-state-');
    const sync = syncBetween(feed(), tableEndpoint(pg, 'moving'), { keyColumns: ['id'], writeMode: 'upsert', batchSize: 3 });
    const run = new TestRun(sync, state);
    try {
      await run.waitFor((s) => s.state === 'idle' && s.rowsCopied === 6);
      change('5', 'changed while running');
      await run.waitFor((s) => s.state === 'idle' && s.rowsCopied === 7);
    } finally {
      await run.runner.stop();
    }
    change('6', 'changed while stopped');
    api.items.push(...numberedRows(7, 1));
    change('5', 'changed again');
    expect((await runOnce(sync, state)).status.rowsCopied).toBe(3);
    expect((await pg.rows('moving', ['id'])).map((r) => [r.id, r.name])).toEqual([
      ['1', 'row 1'],
      ['2', 'row 2'],
      ['3', 'row 3'],
      ['4', 'row 4'],
      ['5', 'changed again'],
      ['6', 'changed while stopped'],
      ['7', 'row 7'],
    ]);
    // Unchanged items of the last page are not copied again at every poll.
    expect((await runOnce(sync, state)).status.rowsCopied).toBe(0);
    // An offset of an earlier version (a count of items copied from the page) is still understood.
    await new FileOffsetStore(state).set(sync.id, { kind: 'stream', value: { cursor: '4', skip: 2 } }, { by: 'test', reason: 'older offset' });
    expect((await runOnce(sync, state)).status.rowsCopied).toBe(1);
  });

  it("HTTP → PG: pages by the last item's field (cursorField) through bare-array responses; a restart resumes after the last id", async () => {
    api.items = numberedRows(1, 10);
    const state = await tempDir('idra-state-');
    const source: Endpoint = {
      connector: 'http',
      connection: { url: `${api.base}/v1/after`, password: api.token },
      options: { itemsPath: '', cursorParam: 'id', cursorField: 'id', retryBackoff: 20 },
    };
    const sync = syncBetween(source, tableEndpoint(pg, 'by_id'), { batchSize: 3 });
    expect((await runOnce(sync, state)).status.rowsCopied).toBe(10);
    api.items.push(...numberedRows(11, 5));
    expect((await runOnce(sync, state)).status.rowsCopied).toBe(5);
    expect((await pg.rows('by_id', ['id'])).map((r) => Number(r.id)).sort((a, b) => a - b)).toEqual(Array.from({ length: 15 }, (_, i) => i + 1));
    expect(api.requests.some((r) => r.url === '/v1/after?id=10')).toBe(true);
  });

  it('retries 429 (after its Retry-After) and 5xx within a read; when retries run out the status says retrying with the cause, then recovers', async () => {
    api.items = numberedRows(1, 5);
    api.failures = [{ status: 503 }, { status: 429, retryAfter: '1' }, { status: 502 }];
    const state = await tempDir('idra-state-');
    const sync = syncBetween(feed(), tableEndpoint(pg, 'flaky'), { keyColumns: ['id'] });
    const started = Date.now();
    expect((await runOnce(sync, state)).status.rowsCopied).toBe(5);
    const times = api.requests.map((r) => r.at - started);
    expect(times[2]! - times[1]!).toBeGreaterThanOrEqual(950); // the 429's Retry-After: 1 s
    expect(retryAfterMs('Wed, 21 Oct 2015 07:28:00 GMT', Date.parse('Wed, 21 Oct 2015 07:27:58 GMT'))).toBe(2000);

    api.broken = true;
    api.items.push(...numberedRows(6, 2));
    const run = new TestRun(syncBetween(feed({ retries: 1 }), tableEndpoint(pg, 'flaky'), { keyColumns: ['id'] }), state);
    try {
      const retrying = await run.waitFor((s) => s.state === 'retrying');
      // The status and its reason, never the body: what a server answers is not for every reader of a status.
      expect(retrying.lastError?.message).toMatch(new RegExp(`^http source: GET ${api.base}/v1/items → HTTP 500 Internal Server Error \\(after 2 attempts\\)`));
      expect(retrying.lastError?.message).not.toContain('boom');
      api.broken = false;
      await run.waitFor((s) => s.state === 'idle' && s.rowsCopied === 2);
    } finally {
      await run.runner.stop();
    }
  });

  it('a wrong token and an unreachable server are shown as retrying with the cause; the sync goes on once they are fixed', async () => {
    api.items = numberedRows(1, 3);
    const state = await tempDir('idra-state-');
    const sync = syncBetween(feed(), tableEndpoint(pg, 'down'), { keyColumns: ['id'] });
    api.token = 'rotated'; // the server no longer accepts the sync's token
    const run = new TestRun(sync, state);
    try {
      const unauthorized = await run.waitFor((s) => s.state === 'retrying');
      expect(unauthorized.lastError?.message).toMatch(/http source: GET .* → HTTP 401/);
      expect(unauthorized.lastError?.message).not.toContain('secret-token');
      api.token = 'secret-token';
      await run.waitFor((s) => s.state === 'idle' && s.rowsCopied === 3);
      const port = api.port;
      await api.stop();
      api.items.push(...numberedRows(4, 2));
      const refused = await run.waitFor((s) => s.state === 'retrying' && /ECONNREFUSED/.test(s.lastError?.message ?? ''), 30_000);
      expect(refused.lastError?.message).toMatch(/^http source: GET http:\/\/127\.0\.0\.1:\d+\/v1\/items: ECONNREFUSED/);
      await api.start(port);
      await run.waitFor((s) => s.state === 'idle' && s.rowsCopied === 5, 30_000);
    } finally {
      await run.runner.stop();
    }
    expect(await pg.count('down')).toBe(5);
  });

  it('items that are not JSON objects follow the error policy (skip → dead letters with their place)', async () => {
    api.items = [{ id: '1', name: 'ok' }, 'a string', { id: '3', name: 'ok' }, [4], null, { id: '6', name: 'ok' }];
    const { status, run } = await runOnce(
      syncBetween(feed(), tableEndpoint(pg, 'odd'), { keyColumns: ['id'], onError: 'skip', batchSize: 10 }),
      await tempDir('idra-state-'),
    );
    expect([status.rowsCopied, status.rowsSkipped]).toEqual([3, 3]);
    expect(run.deadLetters.map((d) => [d.row.cursor, d.row.index, d.row.item])).toEqual([
      [null, 1, '"a string"'],
      [null, 3, '[4]'],
      ['4', 0, 'null'],
    ]);
    expect(run.deadLetters[0]!.error).toMatch(/http source: item 1 of the page at cursor \(first\) is not a JSON object/);
  });

  it('PG → HTTP: POSTs of options.batchSize rows with idempotency keys; a replayed batch repeats its keys; refused rows go to the dead letters', async () => {
    await pg.exec('create table outbox (id bigint primary key, name text, amount numeric(10,2))');
    await insertRows(
      pg,
      'outbox',
      numberedRows(1, 10).map((r, i) => ({ ...r, name: i === 6 ? 'refused' : r.name })),
    );
    const state = await tempDir('idra-state-');
    const sync = syncBetween(tableEndpoint(pg, 'outbox'), ingest({ batchSize: 2 }), { mode: 'id', cursorColumn: 'id', batchSize: 5, onError: 'skip' });
    const { status, run } = await runOnce(sync, state);
    expect([status.rowsCopied, status.rowsSkipped]).toEqual([9, 1]);
    expect(run.deadLetters[0]?.row).toMatchObject({ id: '7', name: 'refused' });
    expect(run.deadLetters[0]?.error).toMatch(/POST .*\/v1\/ingest → HTTP 422/);
    expect(api.rows.map((r) => r['id'])).toEqual(['1', '2', '3', '4', '5', '6', '8', '9', '10']);
    expect(api.rows[0]).toEqual({ id: '1', name: 'row 1', amount: '1.25' });
    const firstKeys = new Set(api.keys);

    await new FileOffsetStore(state).set(sync.id, null, { by: 'test', reason: 'replay' });
    await runOnce(sync, state);
    // The first batch (rows 1–5) was sent again in the same requests, with the same keys: nothing new stored.
    expect(api.keys.slice(firstKeys.size).filter((k) => !firstKeys.has(k))).toEqual([]);
    expect(api.rows).toHaveLength(9);
  });
});

describe('deletes through HTTP', () => {
  it('a delete is posted as the key and _deleted: true, in its place; an HTTP source reads it back as a delete (PG → HTTP → PG)', async () => {
    const to = { ...ingest(), url: '/places/deletes/ingest' };
    const { copy, kept } = await deletesThrough(pg, 'deleting', { to, from: { ...feed(), url: '/places/deletes/items' } });
    expect(kept.map((r) => r['id'])).toEqual(['1', '3']);
    expect(copy).toEqual(kept);
    expect(api.places.get('deletes')!.rows.slice(5)).toEqual([
      { id: '3', name: 'renamed', updated_at: '2026-01-02 00:00:00', deleted_at: null },
      { id: '2', _deleted: true },
      { id: '4', _deleted: true },
      { id: '5', _deleted: true },
    ]);
  });
});

/** The items of an API that filters by last change: ids, names and when each last changed. */
function changing(n: number): Array<Record<string, unknown>> {
  return numberedRows(1, n).map((r, i) => ({ ...r, updated_at: `2026-01-01T00:00:0${i}Z` }));
}

/** The first error a sync shows (its status names the field or the cause). */
async function firstError(sync: Sync): Promise<string | undefined> {
  const run = new TestRun(sync, await tempDir('idra-state-'));
  try {
    return (await run.waitFor((s) => s.lastError !== undefined)).lastError?.message;
  } finally {
    await run.runner.stop();
  }
}

const ids = async (table: string) => (await pg.rows(table, ['id'])).map((r) => Number(r.id)).sort((a, b) => a - b);
const range = (from: number, to: number) => Array.from({ length: to - from + 1 }, (_, i) => from + i);

describe('http source pagination and incremental reads', () => {
  const v2 = (path: string, options: Record<string, unknown>): Endpoint => ({
    connector: 'http',
    connection: { url: `${api.base}/`, password: api.token },
    url: path,
    options: { retryBackoff: 20, ...options },
  });

  it('pages by page number: a last page that fills up is followed to the next one; nothing twice, nothing skipped', async () => {
    api.items = numberedRows(1, 10);
    const state = await tempDir('idra-state-');
    // No key columns: an item copied twice would be a second row.
    const sync = syncBetween(v2('/v2/pages', { pagination: 'page', pageSize: 4 }), tableEndpoint(pg, 'paged'), { batchSize: 3 });
    expect((await runOnce(sync, state)).status.rowsCopied).toBe(10);
    api.items.push(...numberedRows(11, 3)); // page 3 fills up (9–12), page 4 starts (13)
    expect((await runOnce(sync, state)).status.rowsCopied).toBe(3);
    expect(await ids('paged')).toEqual(range(1, 13));
    expect(api.requests.map((r) => new URL(r.url, api.base).searchParams.get('page'))).toContain('4');
  });

  it('pages by item offset with a limit parameter', async () => {
    api.items = numberedRows(1, 9);
    const state = await tempDir('idra-state-');
    const sync = syncBetween(v2('/v2/offset', { pagination: 'offset', pageSize: 4, limitParam: 'limit' }), tableEndpoint(pg, 'offsets'), { batchSize: 5 });
    expect((await runOnce(sync, state)).status.rowsCopied).toBe(9);
    api.items.push(...numberedRows(10, 4));
    expect((await runOnce(sync, state)).status.rowsCopied).toBe(4);
    expect(await ids('offsets')).toEqual(range(1, 13));
    expect(api.requests.map((r) => r.url)).toContain('/v2/offset?limit=4&offset=8');
  });

  it('follows the Link header\'s rel="next" (RFC 8288) and resumes from the stored next URL after a restart', async () => {
    api.items = numberedRows(1, 10);
    const state = await tempDir('idra-state-');
    const sync = syncBetween(v2('/v2/linked', { pagination: 'link', itemsPath: '' }), tableEndpoint(pg, 'linked'), { batchSize: 6 });
    const first = await runOnce(sync, state);
    expect(first.status.rowsCopied).toBe(10);
    expect(first.status.position).toMatchObject({ value: { cursor: `${api.base}/v2/linked?after=8&per_page=4` } });
    api.items.push(...numberedRows(11, 5));
    expect((await runOnce(sync, state)).status.rowsCopied).toBe(5);
    expect(await ids('linked')).toEqual(range(1, 15));
  });

  it('incremental: each pass asks for what changed since the largest updated_at copied; the boundary items an inclusive filter sends again are not copied twice', async () => {
    api.items = changing(6);
    const state = await tempDir('idra-state-');
    const source = v2('/v2/changes', {
      cursorParam: 'after',
      nextCursorPath: 'next_cursor',
      params: { updated_since: '{{offset}}', tenant: 'acme' },
      incrementalField: 'updated_at',
    });
    const sync = syncBetween(source, tableEndpoint(pg, 'changes'), { keyColumns: ['id'], writeMode: 'upsert', batchSize: 4 });
    const first = await runOnce(sync, state);
    expect(first.status.rowsCopied).toBe(6);
    // Without incrementalStart the first pass asks for everything: the parameter is left out.
    expect(api.requests[0]!.url).toBe('/v2/changes?tenant=acme');
    // Read to the end: nothing left, the head is the largest value copied.
    expect(first.status.lag).toEqual({ rows: 0, head: '2026-01-01T00:00:05Z' });

    // Item 2 changes (and moves to the end), item 7 arrives, item 5 changes within the boundary's second.
    const byId = (id: string) => (api.items as Array<Record<string, unknown>>).find((i) => i['id'] === id)!;
    Object.assign(byId('2'), { name: 'changed', updated_at: '2026-01-01T00:00:07Z' });
    api.items.push({ ...numberedRows(7, 1)[0], updated_at: '2026-01-01T00:00:08Z' });
    api.requests.length = 0;
    const second = await runOnce(sync, state);
    expect(second.status.rowsCopied).toBe(2);
    expect(api.requests[0]!.url).toBe(`/v2/changes?updated_since=${encodeURIComponent('2026-01-01T00:00:05Z')}&tenant=acme`);
    Object.assign(byId('7'), { name: 'changed within the same second' });
    const third = await runOnce(sync, state);
    expect(third.status.rowsCopied).toBe(1);
    expect((await runOnce(sync, state)).status.rowsCopied).toBe(0);
    expect((await pg.rows('changes', ['id'])).length).toBe(7);
    expect(
      (await pg.rows('changes', ['id', 'name']))
        .filter((r) => String(r.name).startsWith('changed'))
        .map((r) => r.id)
        .sort(),
    ).toEqual(['2', '7']);
  });

  it('incrementalField is refused without a {{offset}} parameter, naming the option', async () => {
    expect(await firstError(syncBetween(v2('/v2/changes', { incrementalField: 'updated_at' }), tableEndpoint(pg, 'never')))).toMatch(
      /source\.options\.incrementalField: needs a parameter holding \{\{offset\}\} in params/,
    );
  });
});

describe("http credentials go only to the connection's origin", () => {
  let other: TestApi;
  beforeEach(async () => {
    await other?.stop();
    other = new TestApi();
    await other.start();
  });
  afterAll(async () => other?.stop());

  const noCredentialsSentTo = (server: TestApi) => {
    expect(server.headers.filter((h) => h.authorization !== undefined || h['x-api-key'] !== undefined)).toEqual([]);
  };

  it("a source or destination URL on another origin than its connection (a data source's credentials) is refused, naming the field; nothing is sent there", async () => {
    api.items = numberedRows(1, 3);
    other.items = numberedRows(1, 3);
    const source = { ...feed(), url: `${other.base}/v1/items` };
    expect(await firstError(syncBetween(source, tableEndpoint(pg, 'elsewhere'), { keyColumns: ['id'] }))).toContain(
      `source.url: is on ${other.base}, not on the connection's origin ${api.base}`,
    );
    await pg.exec('create table if not exists outbox_o (id bigint primary key, name text)');
    await insertRows(
      pg,
      'outbox_o',
      numberedRows(1, 2).map(({ id, name }) => ({ id, name })),
    );
    const destination = { ...ingest({ auth: 'header' }), url: `${other.base}/v1/ingest` };
    expect(await firstError(syncBetween(tableEndpoint(pg, 'outbox_o'), destination, { mode: 'id', cursorColumn: 'id' }))).toContain(
      `destination.url: is on ${other.base}, not on the connection's origin ${api.base}`,
    );
    expect(other.requests).toEqual([]);
    noCredentialsSentTo(other);
  });

  it("a syncs file (single mode) whose HTTP endpoint leaves its data source's origin is refused on load, naming the field", () => {
    const file = {
      dataSources: [{ id: 'api', connector: 'http', connection: { url: `${api.base}/`, password: api.token } }],
      syncs: [
        {
          id: 'pull',
          mode: 'stream',
          source: { connector: 'http', dataSourceId: 'api', url: `${other.base}/v1/items` },
          destination: tableEndpoint(pg, 'never'),
        },
      ],
    };
    expect(() => parseConfigFile(file, CONNECTOR_SPECS)).toThrow(`syncs[0].source.url: is on ${other.base}, not on the connection's origin ${api.base}`);
  });

  it('a next-page link to another origin is not followed: the sync fails with the cause, the other server gets nothing', async () => {
    api.items = numberedRows(1, 10);
    api.linkBase = other.base;
    const source: Endpoint = {
      connector: 'http',
      connection: { url: `${api.base}/`, password: api.token },
      url: '/v2/linked',
      options: { pagination: 'link', itemsPath: '', retryBackoff: 20 },
    };
    // Batches of one page: the first is committed before the link away is met.
    const run = new TestRun(syncBetween(source, tableEndpoint(pg, 'link_away'), { keyColumns: ['id'], batchSize: 4 }), await tempDir('idra-state-'));
    try {
      const failed = await run.waitFor((s) => s.state === 'failed');
      expect(failed.lastError?.message).toMatch(new RegExp(`GET ${other.base}/v2/linked: not the connection's origin ${api.base}`));
      expect(failed.rowsCopied).toBe(4); // the first page, from the API itself
    } finally {
      await run.runner.stop();
    }
    expect(other.requests).toEqual([]);
  });
});

describe('http OAuth2 client credentials', () => {
  const oauthFeed = (options: Record<string, unknown> = {}): Endpoint => ({
    connector: 'http',
    connection: { url: `${api.base}/`, user: api.client.id, password: api.client.secret, options: { tokenUrl: '/oauth/token', scope: 'items:read' } },
    url: '/v1/items',
    options: { cursorParam: 'after', itemsPath: 'data.items', nextCursorPath: 'paging.next', retryBackoff: 20, headers: { 'X-Tenant': 'acme' }, ...options },
  });

  it('gets a token with the client id and secret (scope asked), reuses it, renews it before it expires and when the API refuses it', async () => {
    api.items = numberedRows(1, 5);
    // Renewed after half its life (less than the usual 30 s margin would leave); 2 s, renewed 1 s before it
    // lapsed, lapsed once at load average 30 (a refused token where none may be).
    api.tokenLifetimeS = 4;
    const run = new TestRun(syncBetween(oauthFeed(), tableEndpoint(pg, 'oauth'), { keyColumns: ['id'], pollIntervalMs: 100 }), await tempDir('idra-state-'));
    try {
      await run.waitFor((s) => s.state === 'idle' && s.rowsCopied === 5);
      expect(api.tokenRequests).toHaveLength(1);
      const [grant] = api.tokenRequests;
      expect(Object.fromEntries(grant!.form)).toEqual({ grant_type: 'client_credentials', scope: 'items:read' });
      // The endpoint's own headers are for the API, not for the token endpoint.
      expect(grant!.headers['x-tenant']).toBeUndefined();
      // Polls go on past the token's life: it is renewed before it lapses, never refused.
      const renewed = Date.now() + 30_000;
      while (api.tokenRequests.length < 3 && Date.now() < renewed) await new Promise((r) => setTimeout(r, 50));
      expect(api.tokenRequests.length).toBeGreaterThanOrEqual(3);
      expect(api.refusedTokens).toBe(0);

      // Revoked by the API: refused once, a new token fetched, the read goes on without an error.
      const asked = api.tokenRequests.length;
      api.tokenLifetimeS = 3600;
      await until('the short token in use renewed with a long one', () => api.tokenRequests.length > asked, 30_000);
      const before = api.tokenRequests.length;
      api.issued.clear();
      api.items.push(...numberedRows(6, 2));
      await run.waitFor((s) => s.state === 'idle' && s.rowsCopied === 7);
      expect(api.refusedTokens).toBe(1);
      expect(api.tokenRequests.length).toBe(before + 1);
      expect(run.statuses.some((s) => s.lastError !== undefined)).toBe(false);
    } finally {
      await run.runner.stop();
    }
    expect(await pg.count('oauth')).toBe(7);
  });

  it('PG → HTTP with OAuth2: the destination POSTs with a token of the grant', async () => {
    await pg.exec('create table outbox_oauth (id bigint primary key, name text)');
    await insertRows(
      pg,
      'outbox_oauth',
      numberedRows(1, 3).map(({ id, name }) => ({ id, name })),
    );
    const destination: Endpoint = { ...oauthFeed(), url: '/v1/ingest', options: { retryBackoff: 20 } };
    const { status } = await runOnce(
      syncBetween(tableEndpoint(pg, 'outbox_oauth'), destination, { mode: 'id', cursorColumn: 'id' }),
      await tempDir('idra-state-'),
    );
    expect(status.rowsCopied).toBe(3);
    expect(api.rows.map((r) => r['id'])).toEqual(['1', '2', '3']);
    expect(api.tokenRequests).toHaveLength(1);
    expect(api.headers.filter((h) => h['idempotency-key'] !== undefined).map((h) => h.authorization)).toEqual(['Bearer tok-1']);
  });

  it('a refused client secret shows as an error naming the token endpoint, never the secret', async () => {
    api.items = numberedRows(1, 2);
    const source = oauthFeed();
    source.connection!.password = 'wrong-secret-1234';
    const message = await firstError(syncBetween(source, tableEndpoint(pg, 'oauth_wrong'), { keyColumns: ['id'] }));
    expect(message).toContain(`POST ${api.base}/oauth/token → HTTP 401`);
    expect(message).not.toContain('wrong-secret-1234');
  });

  it('a data source with a token endpoint is tested with a token of its grant', async () => {
    const probe = { timeoutMs: 5000, signal: AbortSignal.timeout(5000) };
    const connection = oauthFeed().connection!;
    await expect(httpConnector.check(connection, probe)).resolves.toBeUndefined();
    expect(api.headers.at(-1)?.authorization).toBe('Bearer tok-1');
    await expect(httpConnector.check({ ...connection, password: 'wrong-secret-1234' }, probe)).rejects.toThrow(`POST ${api.base}/oauth/token → HTTP 401`);
  });

  it('auth "oauth2" without connection.options.tokenUrl is refused, naming the field', async () => {
    const source = oauthFeed({ auth: 'oauth2' });
    delete source.connection!.options;
    expect(await firstError(syncBetween(source, tableEndpoint(pg, 'oauth_none')))).toMatch(
      /source\.connection\.options\.tokenUrl: is required with auth "oauth2"/,
    );
  });
});

describeConnectorContract(() => ({
  connector: 'http',
  pg: () => pg,
  place: async (name) => ({
    destination: { ...ingest(), url: `/places/${name}/ingest` },
    source: { ...feed(), url: `/places/${name}/items` },
    sourceSync: {},
  }),
  hangable: () => api,
  unreachable: async () => ({ connector: 'http', connection: { url: `http://127.0.0.1:${await freePort()}` }, url: '/nowhere', options: { retries: 0 } }),
  // A data source holds the API's address; discovery GETs it and shows the fields of the items it answers with.
  discovery: (place) => ({
    connection: { ...place.source.connection, url: new URL(place.source.url!, place.source.connection!.url).href },
    listed: { schema: undefined, name: place.source.url! },
  }),
}));
