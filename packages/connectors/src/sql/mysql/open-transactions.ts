import { randomUUID } from 'node:crypto';
import { CompiledQuery } from 'kysely';
import { sleep } from '@idra/core';
import type { SqlPool } from '../dialect.ts';

/**
 * InnoDB refreshes its information_schema.innodb_trx cache only when nobody has read it for 0.1 s
 * (every read, by any connection, restarts that wait). This long after the last read of a server's
 * list, ours is fresh unless another process read it meanwhile.
 */
export const TRX_CACHE_QUIET_MS = 120;
/**
 * A list found stale (another process read it just before) is read again this many times before the
 * askers are told, each time after a random wait that doubles: agents reading one server fall out
 * of step, as senders on a shared wire do, instead of keeping each other's lists stale.
 */
const STALE_RETRIES = 4;
const STALE_BACKOFF_MS = 100;
/** Access denied: innodb_trx needs the PROCESS privilege. */
const NO_PROCESS_PRIVILEGE = new Set([1227, 1142]);

/** The open InnoDB transactions of a server, as one statement saw them. Times are UTC text. */
export interface OpenTransactions {
  /** The server clock when the list was read (after every asker asked). */
  at: string;
  /** The list was refreshed for this statement; when false it may miss transactions (and limits nothing). */
  fresh: boolean;
  /** The transaction that started first, when one is open (trx_started has whole seconds). */
  oldest?: { start: string; thread: string; ageMs: number } | undefined;
  /** Set when the account cannot read the list (no PROCESS privilege): the account as `current_user()` names it. */
  blindAccount?: string | undefined;
}

interface Asker {
  pool: SqlPool;
  signal: AbortSignal | undefined;
  resolve(list: OpenTransactions): void;
  reject(err: unknown): void;
}

/**
 * The syncs of this process that read one server as one account share each read of its list: a
 * sync that asks joins the next round, which starts once the list has been quiet for
 * {@link TRX_CACHE_QUIET_MS} and answers every asker with one statement that starts after they asked.
 * Reading it each on its own, a few syncs polling one server kept the cache from ever refreshing,
 * and every read came back stale (no row moved).
 */
class ListRounds {
  private queue: Asker[] = [];
  private lastReadAt = Number.NEGATIVE_INFINITY;
  private running = false;

  /** Whether a read now would find the list quiet (no read by this process for {@link TRX_CACHE_QUIET_MS}, none under way). */
  quiet(): boolean {
    return !this.running && performance.now() - this.lastReadAt >= TRX_CACHE_QUIET_MS;
  }

  ask(pool: SqlPool, signal: AbortSignal | undefined): Promise<OpenTransactions> {
    signal?.throwIfAborted();
    return new Promise((resolve, reject) => {
      const asker: Asker = { pool, signal, resolve, reject };
      const onAbort = () => {
        const at = this.queue.indexOf(asker);
        if (at >= 0) this.queue.splice(at, 1);
        reject(signal!.reason);
      };
      signal?.addEventListener('abort', onAbort, { once: true });
      const done = () => signal?.removeEventListener('abort', onAbort);
      asker.resolve = (list) => {
        done();
        resolve(list);
      };
      asker.reject = (err) => {
        done();
        reject(err);
      };
      this.queue.push(asker);
      void this.run();
    });
  }

  private async run(): Promise<void> {
    if (this.running) return;
    this.running = true;
    try {
      while (this.queue.length > 0) {
        const members = this.queue.splice(0);
        const leader = members[0]!;
        try {
          let list = await this.read(leader.pool);
          for (let retry = 0; !list.fresh && retry < STALE_RETRIES; retry++) {
            await sleep(Math.random() * STALE_BACKOFF_MS * 2 ** retry);
            list = await this.read(leader.pool);
          }
          for (const m of members) m.resolve(list);
        } catch (err) {
          // The leader's sync stopped (its pool closed under the read): the others ask again in the next round.
          if (leader.signal?.aborted) {
            leader.reject(err);
            this.queue.unshift(...members.slice(1));
          } else for (const m of members) m.reject(err);
        }
      }
    } finally {
      this.running = false;
    }
  }

  /** One read of the list, after the quiet wait, in a transaction of its own that the list shows (which proves it fresh). */
  private async read(pool: SqlPool): Promise<OpenTransactions> {
    const quietFor = performance.now() - this.lastReadAt;
    if (quietFor < TRX_CACHE_QUIET_MS) await sleep(TRX_CACHE_QUIET_MS - quietFor);
    try {
      return await pool.transaction(async (session) => {
        // Inside the driver's transaction this implicitly commits its empty start and begins a new one, listed from now on.
        await session.execute(CompiledQuery.raw('start transaction with consistent snapshot'));
        try {
          const row = (await session.execute(listQuery(`idra-watermark-${randomUUID()}`))).rows[0]!;
          return {
            at: String(row.at),
            fresh: Number(row.fresh) > 0,
            oldest:
              row.oldest_start === null || row.oldest_start === undefined
                ? undefined
                : { start: String(row.oldest_start), thread: String(row.oldest_thread), ageMs: Number(row.oldest_age_ms ?? 0) },
          };
        } catch (err) {
          if (!NO_PROCESS_PRIVILEGE.has((err as { errno?: number }).errno ?? 0)) throw err;
          const row = (await session.execute(CompiledQuery.raw('select now(6) as at, current_user() as account'))).rows[0]!;
          return { at: String(row.at), fresh: true, blindAccount: String(row.account) };
        }
      });
    } finally {
      this.lastReadAt = performance.now();
    }
  }
}

/**
 * The list with a proof of freshness: the row of our own transaction showing this very statement (its
 * nonce) exists only if the cache was refreshed for it. trx_started is in the server's system time zone.
 */
function listQuery(nonce: string): CompiledQuery<Record<string, unknown>> {
  const others = 'information_schema.innodb_trx where trx_mysql_thread_id <> connection_id()';
  return CompiledQuery.raw(
    `select
  now(6) as at,
  (select count(*) from information_schema.innodb_trx where trx_mysql_thread_id = connection_id() and locate(?, trx_query) > 0) as fresh,
  o.start as oldest_start,
  o.thread as oldest_thread,
  timestampdiff(microsecond, o.start, now(6)) / 1000 as oldest_age_ms
from (select 1 as one) as clock
left join (select convert_tz(trx_started, 'SYSTEM', '+00:00') as start, trx_mysql_thread_id as thread from ${others} order by trx_started limit 1) as o on true`,
    [nonce],
  );
}

const rounds = new Map<string, ListRounds>();
const serverOf = new WeakMap<SqlPool, Promise<string>>();

/** The server and account a pool reaches, as the server names them (two URLs of one server share a key). */
function serverKey(pool: SqlPool, signal: AbortSignal | undefined): Promise<string> {
  let key = serverOf.get(pool);
  if (!key) {
    key = pool
      .execute(CompiledQuery.raw('select @@hostname as host, @@port as port, current_user() as account'), signal)
      .then(({ rows }) => JSON.stringify([rows[0]?.host, rows[0]?.port, rows[0]?.account]));
    // A failed lookup (the server was down) is tried again by the next caller.
    key.catch(() => serverOf.delete(pool));
    serverOf.set(pool, key);
  }
  return key;
}

/**
 * The server's open transactions, read by a statement that starts after this call (shared with the
 * other syncs asking now). Unless `wait`, undefined at once when the list was read too recently to be
 * fresh again: a read then would be stale, and would keep it stale for everyone a while longer.
 */
export async function openTransactions(pool: SqlPool, wait: boolean, signal: AbortSignal | undefined): Promise<OpenTransactions | undefined> {
  const key = await serverKey(pool, signal);
  let server = rounds.get(key);
  if (!server) rounds.set(key, (server = new ListRounds()));
  if (!wait && !server.quiet()) return undefined;
  return server.ask(pool, signal);
}
