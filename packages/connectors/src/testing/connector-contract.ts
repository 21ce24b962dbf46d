import { describe, expect, it } from 'vitest';
import { tempDir } from '@idra/testkit';
import {
  FileOffsetStore,
  type Connection,
  type ConnectorKind,
  type ConnectorRegistry,
  type DiscoveredObject,
  type Endpoint,
  type Row,
  type SyncConfig,
} from '@idra/core';
import { discover, testConnection } from '../probe.ts';
import { createConnectorRegistry } from '../registry.ts';
import { insertRows, runOnce, TestRun, type TestDb } from './fixtures.ts';
import { canonicalRow, numberedRows, syncBetween, tableEndpoint, TYPED_ROWS } from './endpoints.ts';

/** What the contract needs from one connector's test file (whose servers are up by the time a test runs). */
export interface ContractHarness {
  connector: ConnectorKind;
  /** PostgreSQL, the neutral side rows come from and go back to. */
  pg(): TestDb;
  /** A fresh, empty place (topic, collection, bucket prefix, API path) as a destination and as a source. */
  place(name: string): Promise<{ destination: Endpoint; source: Endpoint; sourceSync: Partial<SyncConfig> }>;
  /** The connector's endpoint on a port where nothing listens. */
  unreachable(): Promise<Endpoint>;
  /** The connection a data source of the place would hold, and the entry that lists the place in its discovery. */
  discovery(place: { destination: Endpoint; source: Endpoint }): { connection: Connection; listed: Pick<DiscoveredObject, 'schema' | 'name'> };
  /** The server behind `place` as a test can hang it (it stops answering, connections stay open); undefined when the file did not start it. */
  hangable(): Hangable | undefined;
}

/** A server a test can hang: it stops answering, its connections stay open. */
export interface Hangable {
  pause(): void;
  resume(): void;
}

/** The registry of the connectors, showing each destination write (in flight) to `onWrite`. */
function watchingWrites(onWrite: (write: Promise<unknown>) => void): ConnectorRegistry {
  const registry = createConnectorRegistry();
  return {
    openSource: (ctx) => registry.openSource(ctx),
    async openDestination(ctx) {
      const destination = await registry.openDestination(ctx);
      return {
        write: (batch, signal) => {
          const write = destination.write(batch, signal);
          onWrite(write);
          return write;
        },
        close: () => destination.close(),
      };
    },
  };
}

/** `promise`, or 'timed out' after `ms`. */
function within<T>(promise: Promise<T>, ms: number): Promise<T | 'timed out'> {
  return Promise.race([promise, new Promise<'timed out'>((r) => setTimeout(() => r('timed out'), ms).unref())]);
}

let tables = 0;

/**
 * PostgreSQL table `src` → `destination`: after a first batch, the destination's server hangs
 * (`hang.pause`) while a write is in flight; aborting the sync must end it within seconds, leave the
 * offset where it was, and the next run must copy the batch.
 */
export async function abortDuringHungWrite(pg: TestDb, src: string, destination: Endpoint, hang: Hangable): Promise<void> {
  await pg.exec(`create table ${src} (id bigint primary key, name text, amount text)`);
  await insertRows(pg, src, numberedRows(1, 10));
  const state = await tempDir('idra-state-');
  const out = syncBetween(tableEndpoint(pg, src), destination, { mode: 'id', cursorColumn: 'id', keyColumns: ['id'], batchSize: 50 });
  let hung = false;
  let writeHangs!: () => void;
  const stuck = new Promise<void>((r) => (writeHangs = r));
  // A write is stuck once it has gone unanswered for a while with the server hung.
  const run = new TestRun(
    out,
    state,
    watchingWrites((write) => hung && void within(write, 300).then((r) => r === 'timed out' && writeHangs())),
  );
  try {
    await run.waitFor((s) => s.state === 'idle' && s.rowsCopied === 10);
    hang.pause();
    hung = true;
    await insertRows(pg, src, numberedRows(11, 10));
    expect(await within(stuck, 20_000)).not.toBe('timed out');
    const started = performance.now();
    expect(await within(run.runner.abort(), 30_000)).not.toBe('timed out');
    // The issue saw 64 s; the margin is for two busy cores.
    expect(performance.now() - started).toBeLessThan(5_000);
  } finally {
    hang.resume();
    await run.runner.abort();
  }
  expect(run.status.position).toEqual({ kind: 'id', value: '10' });
  const again = await runOnce(out, state);
  expect([again.status.rowsCopied, again.status.position]).toEqual([10, { kind: 'id', value: '20' }]);
}

/**
 * The behaviour every non-SQL connector shares, run in each connector's test file against its
 * real server: PostgreSQL → connector (destination) → PostgreSQL (source).
 */
export function describeConnectorContract(harness: () => ContractHarness): void {
  describe('connector contract', () => {
    const table = (what: string) => `contract_${what}_${++tables}`;
    /** A PostgreSQL table of `count` numbered rows. */
    const numberedTable = async (pg: TestDb, what: string, count: number) => {
      const name = table(what);
      await pg.exec(`create table ${name} (id bigint primary key, name text, amount text)`);
      await insertRows(pg, name, numberedRows(1, count));
      return name;
    };

    it('rows written through the destination come back through the source with their values and types', async () => {
      const h = harness();
      const pg = h.pg();
      const src = table('typed');
      await pg.exec(`create table ${src} (id bigint primary key, name text, amount numeric(28,6), ts timestamp(6), flag boolean, doc jsonb)`);
      await insertRows(pg, src, TYPED_ROWS);
      const place = await h.place(src);
      const out = syncBetween(tableEndpoint(pg, src), place.destination, { mode: 'id', cursorColumn: 'id', keyColumns: ['id'], batchSize: 3 });
      expect((await runOnce(out, await tempDir('idra-state-'))).status.rowsCopied).toBe(TYPED_ROWS.length);
      // Only the table's columns: a store may add its own (MongoDB's _id).
      const source = { ...place.source, columns: ['id', 'name', 'amount', 'ts', 'flag', 'doc'] };
      const back = syncBetween(source, tableEndpoint(pg, `${src}_back`), { keyColumns: ['id'], writeMode: 'upsert', batchSize: 2, ...place.sourceSync });
      expect((await runOnce(back, await tempDir('idra-state-'))).status.rowsCopied).toBe(TYPED_ROWS.length);
      const copied = (await pg.rows(`${src}_back`, ['id'])).map(canonicalRow);
      expect(copied).toEqual((await pg.rows(src, ['id'])).map(canonicalRow));
    });

    it('a restart resumes after the stored offset: nothing is copied twice, nothing is missed', async () => {
      const h = harness();
      const pg = h.pg();
      const src = await numberedTable(pg, 'resume', 20);
      const place = await h.place(src);
      const outState = await tempDir('idra-state-');
      const out = syncBetween(tableEndpoint(pg, src), place.destination, { mode: 'id', cursorColumn: 'id', keyColumns: ['id'], batchSize: 6 });
      await runOnce(out, outState);
      const backState = await tempDir('idra-state-');
      // No key columns on the way back: a row read twice would be a second row.
      const back = syncBetween(place.source, tableEndpoint(pg, `${src}_back`), { batchSize: 4, ...place.sourceSync });
      expect((await runOnce(back, backState)).status.rowsCopied).toBe(20);
      await insertRows(pg, src, numberedRows(21, 7));
      await runOnce(out, outState);
      expect((await runOnce(back, backState)).status.rowsCopied).toBe(7);
      expect((await pg.rows(`${src}_back`, ['id'])).map((r) => Number(r.id)).sort((a, b) => a - b)).toEqual(Array.from({ length: 27 }, (_, i) => i + 1));
    });

    it('batches written again (a replay after a crash) leave one copy of each row by key', async () => {
      const h = harness();
      const pg = h.pg();
      const src = await numberedTable(pg, 'replay', 15);
      const place = await h.place(src);
      const state = await tempDir('idra-state-');
      const out = syncBetween(tableEndpoint(pg, src), place.destination, { mode: 'id', cursorColumn: 'id', keyColumns: ['id'], batchSize: 5 });
      await runOnce(out, state);
      await new FileOffsetStore(state).set(out.id, { kind: 'id', value: '5' }, { by: 'contract', reason: 'replay' });
      expect((await runOnce(out, state)).status.rowsCopied).toBe(10);
      const source = { ...place.source, columns: ['id', 'name', 'amount'] };
      const back = syncBetween(source, tableEndpoint(pg, `${src}_back`), { keyColumns: ['id'], batchSize: 50, ...place.sourceSync });
      await runOnce(back, await tempDir('idra-state-'));
      // Sorted here: the id may come back as text (JSON carries no column types).
      const byId = (rows: Row[]) => rows.map(canonicalRow).sort((a, b) => Number(a.id) - Number(b.id));
      expect(byId(await pg.rows(`${src}_back`, ['id']))).toEqual(byId(await pg.rows(src, ['id'])));
    });

    it('aborting a sync whose destination hangs mid-write ends at once; nothing of that batch is committed, the next run copies it', async (test) => {
      const h = harness();
      const server = h.hangable();
      if (!server) return test.skip('needs a server this file started');
      const src = table('hang');
      await abortDuringHungWrite(h.pg(), src, (await h.place(src)).destination, server);
    });

    it('an unknown option fails the sync at once, naming the field', async () => {
      const h = harness();
      const place = await h.place(table('options'));
      const bad = { ...place.source, options: { ...place.source.options, bogus: 1 } };
      const run = new TestRun(syncBetween(bad, tableEndpoint(h.pg(), table('never')), { ...place.sourceSync }), await tempDir('idra-state-'));
      const failed = await run.waitFor((s) => s.state === 'failed');
      expect(failed.lastError?.code).toBe('IDRA_ERR_CONFIG_INVALID');
      expect(failed.lastError?.message).toMatch(new RegExp(`source\\.options\\.bogus: unknown option \\(the ${h.connector} source knows: `));
    });

    it('tests a connection and lists what it holds (the place rows were written to among them)', async () => {
      const h = harness();
      const pg = h.pg();
      const src = await numberedTable(pg, 'discover', 3);
      const place = await h.place(src);
      await runOnce(
        syncBetween(tableEndpoint(pg, src), place.destination, { mode: 'id', cursorColumn: 'id', keyColumns: ['id'] }),
        await tempDir('idra-state-'),
      );
      const { connection, listed } = h.discovery(place);
      expect(await testConnection(h.connector, connection)).toMatchObject({ ok: true, connector: h.connector });
      const listing = await discover(h.connector, connection);
      expect(listing.error).toBeUndefined();
      const entry = listing.tables.find((t) => t.name === listed.name && t.schema === listed.schema);
      expect(entry, `${JSON.stringify(listed)} in ${JSON.stringify(listing.tables.map((t) => [t.schema, t.name]))}`).toBeDefined();
      // A listing that shows columns (from a sample) shows the rows' columns.
      if (entry!.columns.length > 0) expect(entry!.columns.map((c) => c.name)).toEqual(expect.arrayContaining(['id', 'name', 'amount']));
      const unreachable = await h.unreachable();
      const started = Date.now();
      const refused = await testConnection(h.connector, unreachable.connection!, { timeoutMs: 5000 });
      expect(refused).toMatchObject({ ok: false, connector: h.connector, error: expect.any(String) });
      expect(Date.now() - started).toBeLessThan(8000);
    });

    it('a server that cannot be reached is shown as retrying, naming the connector and its role', async () => {
      const h = harness();
      const pg = h.pg();
      const src = await numberedTable(pg, 'unreachable', 2);
      const run = new TestRun(
        syncBetween(tableEndpoint(pg, src), await h.unreachable(), { mode: 'id', cursorColumn: 'id', keyColumns: ['id'] }),
        await tempDir('idra-state-'),
      );
      try {
        const retrying = await run.waitFor((s) => s.state === 'retrying', 30_000);
        expect(retrying.lastError?.message).toMatch(new RegExp(`^${h.connector} destination: `));
        expect(retrying.lastError?.code).toBe('IDRA_ERR_CONNECTOR');
        expect(retrying.retryInMs).toBeGreaterThan(0);
      } finally {
        await run.runner.stop();
      }
    });
  });
}
