import { createHash } from 'node:crypto';
import { sql } from 'kysely';
import { until } from '@idra/testkit';
import {
  FileOffsetStore,
  SyncRunner,
  normalizeSync,
  rangesUnderWay,
  sleep,
  validateSyncConfig,
  type Connection,
  type ConnectorRegistry,
  type Row,
  type Sync,
  type SyncStatus,
} from '@idra/core';
import { SQL_DIALECTS, SqlDestination, SqlSource, type SqlDialect, type SqlPool, type SqlSession } from '../sql/index.ts';
import { DDL } from './ddl.ts';

// Concurrent writers against a sync that runs, stops and restarts meanwhile; then a row-for-row
// comparison of source and destination. Used by torture.test.ts (small) and bench/torture.ts (larger).

export type TortureDialect = 'postgres' | 'mysql' | 'sqlite';

export interface TortureOptions {
  dialect: TortureDialect;
  /** Database the writers write `torture_src` into. */
  source: Connection;
  /** Database the sync copies into (`torture_dst`); SQLite needs another file than the source. */
  destination: Connection;
  mode: 'timestamp' | 'id';
  /** Concurrent writer connections. */
  writers: number;
  /** How long the writers write. */
  seconds: number;
  /** Stop/restart cycles of the sync while the writers write. */
  restarts: number;
  /** Directory for the sync's offset file. */
  stateDir: string;
  /** @default 7 — small, so that rows sharing a timestamp straddle batch boundaries */
  batchSize?: number;
  /** @default 50 */
  pollIntervalMs?: number;
  /** Share of transactions held open 50–800 ms after taking their ids and `now()`. @default 0.3 */
  heldShare?: number;
  /** Pause of each writer between transactions, ms range. @default [10, 40] */
  pauseMs?: [number, number];
  /** false: read without the watermark (keyset only), to show what it prevents. @default true */
  watermark?: boolean;
  /**
   * After the writers stop, one transaction certainly commits late: it stamps its row, a row stamped after it
   * commits, and it commits only once the sync has copied that later row. Without the watermark its row is then
   * behind the offset and lost, whatever the load; with it, the later row waits. Not SQLite (one writer at a time).
   * @default false
   */
  lateCommit?: boolean;
  /** Rows inserted before the sync starts, so that its first pass has rows to cut into key ranges. @default 0 */
  preloadRows?: number;
  /** The sync's `parallelism`: its first pass in key ranges, copied side by side. @default 1 */
  parallelism?: number;
  /** How long to wait, after the writers stop, for the destination to equal the source. @default 30000 */
  catchUpMs?: number;
  seed?: number;
}

export interface TortureResult {
  transactions: number;
  heldTransactions: number;
  /** Transactions rolled back by a deadlock or a busy database and run again. */
  retried: number;
  restarts: number;
  sourceRows: number;
  destinationRows: number;
  /** Ids in the source, not in the destination. */
  missing: string[];
  /** Ids more than once in the destination. */
  duplicates: string[];
  /** Ids whose destination row differs from the source row. */
  different: string[];
  /** The row of the transaction forced to commit late (`lateCommit`). */
  lateIds: string[];
  /** The most source rows sharing one timestamp. */
  largestTie: number;
  sourceChecksum: string;
  destinationChecksum: string;
  /** Writer commit → row committed in the destination, for every inserted row. */
  latencyMs: number[];
  /** Seconds from the writers' stop until the destination equalled the source (or gave up). */
  catchUpSeconds: number;
  finalStatus: SyncStatus;
  /** The most key ranges of a parallel copy under way at once (begun, not done), as the statuses showed. */
  rangesAtOnce: number;
}

/** The dialect blind to open transactions and the clock: keyset reads up to the newest row, as before issue 7. */
export function unguarded(dialect: SqlDialect): SqlDialect {
  return {
    ...dialect,
    async watermark(pool, request, signal) {
      const { at, maxCursor } = await dialect.watermark(pool, request, signal);
      return { at, maxCursor, timestampLimit: '9999-12-31 23:59:59.999999' };
    },
  };
}

/** A small deterministic PRNG (mulberry32), so a failing run can be replayed with its seed. */
function random(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Errors after which the writer's transaction is simply run again. */
function isRetryable(err: unknown): boolean {
  const e = err as { code?: unknown; errno?: unknown };
  return e.code === '40P01' || e.code === '40001' || e.errno === 1213 || e.errno === 1205 || (typeof e.code === 'string' && e.code.startsWith('SQLITE_BUSY'));
}

function quantile(sorted: number[], q: number): number {
  if (sorted.length === 0) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))]!;
}

/** p50/p99 of a list of latencies. */
export function percentiles(values: number[]): { p50: number; p99: number } {
  const sorted = [...values].sort((a, b) => a - b);
  return { p50: quantile(sorted, 0.5), p99: quantile(sorted, 0.99) };
}

interface Writer {
  pool: SqlPool;
  next: () => number;
}

/** Inserts `n` rows stamped with the database clock; returns their ids. */
async function insertRows(name: TortureDialect, s: SqlSession, n: number, note: string): Promise<string[]> {
  const db = SQL_DIALECTS[name].db;
  const rows = Array.from({ length: n }, () => ({ ts: sql.raw(DDL[name].now), v: 0, note }));
  const insert = db.insertInto('torture_src').values(rows);
  if (name === 'postgres') return (await s.execute(insert.returning('id').compile())).rows.map((r) => String(r.id));
  await s.execute(insert.compile());
  // MariaDB hands a multi-row insert consecutive ids from the first; SQLite's writer is alone.
  const fn = name === 'mysql' ? 'last_insert_id()' : 'last_insert_rowid()';
  const ref = BigInt(String((await s.execute(sql<{ id: unknown }>`select ${sql.raw(fn)} as id`.compile(db))).rows[0]!.id));
  const first = name === 'mysql' ? ref : ref - BigInt(n - 1);
  return Array.from({ length: n }, (_, i) => String(first + BigInt(i)));
}

async function update(name: TortureDialect, s: SqlSession, ids: string[], stamp: boolean, note: string): Promise<void> {
  if (ids.length === 0) return;
  const db = SQL_DIALECTS[name].db;
  const set = stamp ? { ts: sql.raw(DDL[name].now), v: sql`v + 1`, note } : { v: sql`v + 1`, note };
  await s.execute(db.updateTable('torture_src').set(set).where('id', 'in', ids).compile());
}

/** Runs the scenario and compares source and destination row for row. */
export async function runTorture(opts: TortureOptions): Promise<TortureResult> {
  const name = opts.dialect;
  const dialect = SQL_DIALECTS[name];
  const heldShare = opts.heldShare ?? 0.3;
  const [pauseMin, pauseMax] = opts.pauseMs ?? [10, 40];
  const D = DDL[name];
  const setup = await dialect.connect(opts.source, { role: 'destination' });
  const check = await dialect.connect(opts.destination, { role: 'destination' });
  const writers: Writer[] = [];
  let runner: SyncRunner | undefined;
  try {
    await setup.execute(
      sql.raw(`create table torture_src (id ${D.identity}, ts ${D.ts} not null, v ${D.bigint} not null, note ${D.text})`).compile(dialect.db),
    );
    await setup.execute(sql.raw('create index torture_src_ts on torture_src (ts, id)').compile(dialect.db));

    const sync: Sync = normalizeSync(
      validateSyncConfig({
        id: `torture-${name}-${opts.mode}`,
        source: { connector: name, connection: opts.source, table: 'torture_src' },
        destination: { connector: name, connection: opts.destination, table: 'torture_dst' },
        ...(opts.mode === 'timestamp'
          ? { mode: 'timestamp', cursorColumn: 'ts', tiebreakerColumn: 'id', keyColumns: ['id'], writeMode: 'upsert' }
          : // No key: a row read twice would show as a duplicate.
            { mode: 'id', cursorColumn: 'id', writeMode: 'insert' }),
        batchSize: opts.batchSize ?? 7,
        pollIntervalMs: opts.pollIntervalMs ?? 50,
        parallelism: opts.parallelism ?? 1,
      }),
    );
    if (opts.preloadRows) {
      // Rows of a table in use for a while: stamped a minute ago, below any watermark once committed.
      const rows = Array.from({ length: opts.preloadRows }, () => ({ ts: sql.raw(`${D.now} - interval '1' minute`), v: 0, note: 'preloaded' }));
      await setup.execute(dialect.db.insertInto('torture_src').values(rows).compile());
    }
    let rangesAtOnce = 0;

    // When each inserted row's transaction committed, and when the row first reached the destination.
    const committedAt = new Map<string, number>();
    const copiedAt = new Map<string, number>();
    const sourceDialect = opts.watermark === false ? unguarded(dialect) : dialect;
    const connectors: ConnectorRegistry = {
      openSource: (ctx) => SqlSource.open(sourceDialect, ctx),
      async openDestination(ctx) {
        const destination = await SqlDestination.open(dialect, ctx);
        return {
          async write(batch, signal) {
            const result = await destination.write(batch, signal);
            const now = performance.now();
            for (const row of batch.rows) if (!copiedAt.has(String(row.id))) copiedAt.set(String(row.id), now);
            return result;
          },
          parallelWrites: destination.parallelWrites,
          close: () => destination.close(),
        };
      },
    };
    const offsets = new FileOffsetStore(opts.stateDir);
    const start = () => {
      const r = new SyncRunner({
        sync,
        connectors,
        offsets,
        deadLetters: { record: async () => {} },
        agentId: 'torture',
        backoff: { initialMs: 20, maxMs: 200 },
        onStatus: ({ position }) => {
          const ranges = position && position.kind !== 'stream' ? position.ranges : undefined;
          rangesAtOnce = Math.max(rangesAtOnce, rangesUnderWay(ranges ?? []));
        },
      });
      void r.start();
      return r;
    };
    runner = start();

    const seed = opts.seed ?? 7;
    for (let w = 0; w < opts.writers; w++) {
      writers.push({ pool: await dialect.connect(opts.source, { poolSize: 1, busyTimeoutMs: 0 }), next: random(seed * 1000 + w) });
    }
    let transactions = 0;
    let heldTransactions = 0;
    let retried = 0;
    let knownMax = 0n;
    const lateIds: string[] = [];
    const writeUntil = performance.now() + opts.seconds * 1000;

    const writeLoop = async (w: number) => {
      const { pool, next } = writers[w]!;
      const pick = (lo: number, hi: number) => lo + Math.floor(next() * (hi - lo + 1));
      // One writer's first transaction inserts many rows at one timestamp (far more than a batch holds,
      // enough that the later random updates leave a tie larger than a batch), so that ties certainly
      // straddle batch boundaries whatever the random draws.
      let first = w === 0;
      while (performance.now() < writeUntil) {
        const held = next() < heldShare;
        const note = `w${w} t${transactions}`;
        const inserts = first ? 40 : pick(1, 9);
        first = false;
        const others =
          opts.mode === 'timestamp' && knownMax > 0n
            ? Array.from({ length: pick(0, 3) }, () => String(1n + BigInt(Math.floor(next() * Number(knownMax)))))
            : [];
        const holdMs = pick(50, 800);
        try {
          const ids = await pool.transaction(async (s) => {
            const ids = await insertRows(name, s, inserts, note);
            if (held) await sleep(holdMs);
            // Timestamp mode: other rows change too, stamped by this transaction; id mode: only its own rows.
            if (opts.mode === 'timestamp')
              await update(
                name,
                s,
                [...new Set(others)].sort((a, b) => Number(a) - Number(b)),
                true,
                note,
              );
            else await update(name, s, ids.slice(0, pick(0, ids.length)), false, `${note} updated`);
            return ids;
          });
          const now = performance.now();
          for (const id of ids) committedAt.set(id, now);
          const top = BigInt(ids[ids.length - 1]!);
          if (top > knownMax) knownMax = top;
          transactions++;
          if (held) heldTransactions++;
        } catch (err) {
          if (!isRetryable(err)) throw err;
          retried++;
        }
        await sleep(pick(pauseMin, pauseMax));
      }
    };
    const restartLoop = async () => {
      for (let i = 1; i <= opts.restarts; i++) {
        await sleep(writeUntil - performance.now() - ((opts.restarts + 1 - i) * opts.seconds * 1000) / (opts.restarts + 1));
        await runner!.stop();
        runner = start();
      }
    };
    await Promise.all([...writers.map((_, w) => writeLoop(w)), restartLoop()]);
    if (opts.lateCommit) {
      const [late, after] = writers as [Writer, Writer];
      await late.pool.transaction(async (s) => {
        const [id] = await insertRows(name, s, 1, 'late');
        const [later] = await after.pool.transaction((t) => insertRows(name, t, 1, 'after the late one'));
        // Guarded, the later row waits for this transaction: the sync holding back for it is the other way out.
        await until('the row committed after the late one to be copied (or held back)', () => copiedAt.has(later!) || runner!.snapshot.blockedBy, 60_000);
        lateIds.push(id!);
      });
      transactions += 2;
    }
    const stoppedAt = performance.now();

    // Catch up: until the destination equals the source; without the watermark, until it stops changing.
    const rowsOf = async (pool: SqlPool, table: string): Promise<Row[]> =>
      (await pool.execute(dialect.db.selectFrom(table).select(['id', 'ts', 'v', 'note']).orderBy('id').compile())).rows;
    const lines = (rows: Row[]) => rows.map((r) => `${r.id}|${r.ts}|${r.v}|${r.note}`);
    const deadline = stoppedAt + (opts.catchUpMs ?? 30_000);
    let source = lines(await rowsOf(setup, 'torture_src'));
    let destination: string[] = [];
    let unchangedSince = performance.now();
    for (;;) {
      const now = (await check.execute(sql`select count(*) as n from ${sql.table('torture_dst')}`.compile(dialect.db)).catch(() => ({ rows: [{ n: 0 }] })))
        .rows[0]!.n;
      if (Number(now) !== destination.length) unchangedSince = performance.now();
      destination = Number(now) === 0 ? [] : lines(await rowsOf(check, 'torture_dst'));
      if (destination.join('\n') === source.join('\n')) break;
      const idle = runner.snapshot.state === 'idle';
      if (opts.watermark === false && idle && performance.now() - unchangedSince > 3000) break;
      if (performance.now() > deadline) break;
      await sleep(200);
    }
    const catchUpSeconds = (performance.now() - stoppedAt) / 1000;
    await runner.stop();
    const finalStatus = runner.snapshot;
    source = lines(await rowsOf(setup, 'torture_src'));

    const sourceById = new Map(source.map((l) => [l.slice(0, l.indexOf('|')), l]));
    const seen = new Map<string, number>();
    const different: string[] = [];
    for (const l of destination) {
      const id = l.slice(0, l.indexOf('|'));
      seen.set(id, (seen.get(id) ?? 0) + 1);
      if (sourceById.get(id) !== l) different.push(id);
    }
    const ties = new Map<string, number>();
    for (const l of source) {
      const ts = l.split('|')[1]!;
      ties.set(ts, (ties.get(ts) ?? 0) + 1);
    }
    const checksum = (ls: string[]) => createHash('sha256').update(ls.join('\n')).digest('hex').slice(0, 16);
    const latencyMs: number[] = [];
    for (const [id, at] of committedAt) {
      const copied = copiedAt.get(id);
      if (copied !== undefined) latencyMs.push(Math.max(0, copied - at));
    }
    return {
      transactions,
      heldTransactions,
      retried,
      restarts: opts.restarts,
      sourceRows: source.length,
      destinationRows: destination.length,
      missing: [...sourceById.keys()].filter((id) => !seen.has(id)),
      duplicates: [...seen].filter(([, n]) => n > 1).map(([id]) => id),
      different: [...new Set(different)],
      lateIds,
      largestTie: Math.max(0, ...ties.values()),
      sourceChecksum: checksum(source),
      destinationChecksum: checksum(destination),
      latencyMs,
      catchUpSeconds,
      finalStatus,
      rangesAtOnce,
    };
  } finally {
    await runner?.stop();
    await Promise.all([...writers.map((w) => w.pool.close()), setup.close(), check.close()]);
  }
}
