import Database from 'better-sqlite3';
import type { CompiledQuery } from 'kysely';
import type { Column, Connection, LogicalType, Row } from '@idra/core';
import { confinedSqliteFile } from './sqlite-paths.ts';
import type { SqlPool, SqlResult, SqlSession } from '../dialect.ts';
import { parseJsonColumn } from '../../records/exact-json.ts';
import { keyDigestStep, SQLITE_KEY_DIGEST } from '../key-digest.ts';

/** A session with its database handle, for statements prepared once and run per row. */
export interface SqliteSession extends SqlSession {
  db: Database.Database;
}

/** The logical type of a declared SQLite column type (SQLite's own affinity rules, refined). */
export function logicalTypeOf(declared: string | null): LogicalType | undefined {
  if (!declared) return undefined;
  const t = declared.toUpperCase();
  if (t.includes('BOOL')) return 'boolean';
  if (t.startsWith('JSON')) return 'json';
  if (t.startsWith('DECIMAL') || t.startsWith('NUMERIC')) return 'decimal';
  if (t.startsWith('UUID')) return 'uuid';
  if (t.includes('INT')) return 'int64';
  if (t.startsWith('TIMESTAMPTZ')) return 'timestamptz';
  if (t.startsWith('TIMESTAMP') || t.startsWith('DATETIME')) return 'timestamp';
  if (t.startsWith('DATE')) return 'date';
  if (t.startsWith('TIME')) return 'time';
  if (t.includes('CHAR') || t.includes('CLOB') || t.includes('TEXT')) return 'text';
  if (t.includes('BLOB')) return 'bytes';
  if (t.includes('REAL') || t.includes('FLOA') || t.includes('DOUB')) return 'float';
  return 'text';
}

function inferType(value: unknown): LogicalType {
  if (typeof value === 'bigint') return 'int64';
  if (typeof value === 'number') return 'float';
  if (Buffer.isBuffer(value)) return 'bytes';
  return 'text';
}

/** SQLite values in the canonical row form: integers as decimal strings, booleans, parsed JSON. */
function normalize(value: unknown, type: LogicalType): unknown {
  if (value === null || value === undefined) return null;
  switch (type) {
    case 'boolean':
      return typeof value === 'bigint' || typeof value === 'number' ? Number(value) !== 0 : value === 'true' || value === '1';
    case 'json':
      if (typeof value !== 'string') return typeof value === 'bigint' ? Number(value) : value;
      try {
        // Numbers spelled as stored (1.10 stays 1.10); a JSON null stays a value, not SQL NULL, as from the other databases.
        return parseJsonColumn(value);
      } catch {
        return value;
      }
    case 'float':
      return typeof value === 'bigint' ? Number(value) : value;
    default:
      return typeof value === 'bigint' ? value.toString() : value;
  }
}

const nextTurn = () => new Promise<void>((resolve) => setImmediate(resolve));

/**
 * Opens a SQLite file. All work on it is serialized: better-sqlite3 is synchronous and one handle is one
 * connection.
 *
 * The handle is closed after `idleCloseMs` (2 s) with no work and opened again by the next statement; a
 * file that vanished meanwhile is then an error, not a new empty database. An open handle costs ~170 kB
 * of native memory (its page cache's first pages, lookaside, schema): 0.35 MB for a sync's source and
 * destination, most of an agent's memory per idle sync. Opening again takes well under a millisecond; a
 * sync that polls more often than every 2 s keeps its handles.
 */
export async function connectSqlite(c: Connection, options: Record<string, unknown> | undefined): Promise<SqlPool> {
  const file = await confinedSqliteFile(c.file ?? (c.url ?? '').replace(/^sqlite:(\/\/)?/, ''), c.file === undefined ? 'connection.url' : 'connection.file');
  const idleCloseMs = Number(options?.idleCloseMs ?? 2_000);
  const keepOpen = file === ':memory:' || file === '' || !(idleCloseMs > 0);
  const open = (mustExist: boolean): Database.Database => {
    const handle = new Database(file, { timeout: Number(options?.busyTimeoutMs ?? 10_000), fileMustExist: mustExist });
    try {
      handle.defaultSafeIntegers(true);
      // WAL lets the destination be read while it is written; a source file's journal mode is the owner's choice.
      if (options?.role === 'destination' && options?.wal !== false) handle.pragma('journal_mode = WAL');
      handle.pragma('synchronous = NORMAL');
      handle.aggregate(SQLITE_KEY_DIGEST, { varargs: true, deterministic: true, start: 0n, step: keyDigestStep, result: (sum: bigint) => sum.toString() });
      return handle;
    } catch (err) {
      handle.close();
      throw err;
    }
  };
  let current: Database.Database | undefined = open(options?.create === false);
  let pending = 0;
  let idleTimer: ReturnType<typeof setTimeout> | undefined;
  let closed = false;
  const dbNow = (): Database.Database => {
    if (closed) throw new TypeError('The database connection is not open');
    return (current ??= open(true));
  };
  const closeIdle = () => {
    idleTimer = undefined;
    if (pending === 0 && current && !current.inTransaction) {
      current.close();
      current = undefined;
    }
  };
  let queue: Promise<unknown> = Promise.resolve();
  const serialize = <T>(fn: () => Promise<T> | T): Promise<T> => {
    pending++;
    clearTimeout(idleTimer);
    idleTimer = undefined;
    // better-sqlite3 runs each statement synchronously: awaited one after another they would resolve as
    // microtasks, and hundreds of syncs starting at once would hold the event loop for seconds (no
    // lease keepalive, no I/O). Each statement waits for its turn of the loop first.
    const next = queue
      .then(nextTurn)
      .then(fn)
      .finally(() => {
        if (--pending === 0 && !keepOpen && current) (idleTimer = setTimeout(closeIdle, idleCloseMs)).unref();
      });
    queue = next.catch(() => {});
    return next;
  };

  const run = (query: CompiledQuery): SqlResult => {
    const stmt = dbNow().prepare(query.sql);
    const params = (query.parameters as unknown[]).map((p) => (typeof p === 'boolean' ? (p ? 1 : 0) : p));
    if (!stmt.reader) {
      stmt.run(...params);
      return { rows: [], columns: [] };
    }
    const raw = stmt.all(...params) as Row[];
    // Described after running: a statement prepared before another connection altered the table is
    // prepared again by SQLite as it runs, and only then describes the new columns.
    const described = stmt.columns();
    const columns: Column[] = described.map((col) => ({
      name: col.name,
      type: logicalTypeOf(col.type) ?? inferType(raw[0]?.[col.name]),
    }));
    for (const row of raw) for (const col of columns) row[col.name] = normalize(row[col.name], col.type);
    return { rows: raw, columns };
  };
  const session: SqliteSession = {
    execute: async (query, signal) => {
      signal?.throwIfAborted();
      return run(query);
    },
    get db() {
      return dbNow();
    },
  };

  return {
    execute: (query, signal) => serialize(() => session.execute(query, signal)),
    transaction: (fn, signal) =>
      serialize(async () => {
        const db = dbNow();
        db.exec('BEGIN IMMEDIATE');
        try {
          const result = await fn(session);
          signal?.throwIfAborted();
          db.exec('COMMIT');
          return result;
        } catch (err) {
          if (db.inTransaction) db.exec('ROLLBACK');
          throw err;
        }
      }),
    close: async () => {
      await queue;
      closed = true;
      clearTimeout(idleTimer);
      current?.close();
      current = undefined;
    },
  };
}
