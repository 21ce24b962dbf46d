import { connect as netConnect, type Socket } from 'node:net';
import mysql from 'mysql2/promise';
import type { FieldPacket, PoolConnection } from 'mysql2/promise';
import type { CompiledQuery } from 'kysely';
import type { Column, Connection, LogicalType, Row } from '@idra/core';
import type { SqlPool, SqlResult } from '../dialect.ts';
import type { MysqlSession } from './mysql-load.ts';
import { parseJsonColumn } from '../../records/exact-json.ts';
import { untilAborted } from '../../records/abortable.ts';
import { closeWhenSilent, statementTimeoutMs } from '../statement-timeout.ts';
import { connectToDatabase } from '../../records/address-guard.ts';

/** mysql2 column type codes (protocol `MYSQL_TYPE_*`). */
const T = {
  DECIMAL: 0,
  TINY: 1,
  SHORT: 2,
  LONG: 3,
  FLOAT: 4,
  DOUBLE: 5,
  TIMESTAMP: 7,
  LONGLONG: 8,
  INT24: 9,
  DATE: 10,
  TIME: 11,
  DATETIME: 12,
  YEAR: 13,
  BIT: 16,
  JSON: 245,
  NEWDECIMAL: 246,
  TINY_BLOB: 249,
  MEDIUM_BLOB: 250,
  LONG_BLOB: 251,
  BLOB: 252,
  VAR_STRING: 253,
  STRING: 254,
} as const;
const BINARY_CHARSET = 63;

/** The logical type of a MySQL/MariaDB result column. */
export function logicalTypeOf(f: FieldPacket): LogicalType {
  const binary = f.characterSet === BINARY_CHARSET;
  switch (f.columnType) {
    case T.TINY:
      return f.columnLength === 1 ? 'boolean' : 'int32';
    case T.SHORT:
    case T.INT24:
    case T.LONG:
    case T.YEAR:
      return 'int32';
    case T.LONGLONG:
      return 'int64';
    case T.FLOAT:
    case T.DOUBLE:
      return 'float';
    case T.DECIMAL:
    case T.NEWDECIMAL:
      return 'decimal';
    case T.DATE:
      return 'date';
    case T.TIME:
      return 'time';
    case T.DATETIME:
      return 'timestamp';
    case T.TIMESTAMP:
      return 'timestamptz';
    case T.JSON:
      return 'json';
    case T.BIT:
      return f.columnLength === 1 ? 'boolean' : 'bytes';
    case T.TINY_BLOB:
    case T.MEDIUM_BLOB:
    case T.LONG_BLOB:
    case T.BLOB:
      if (f.extendedFormat === 'json') return 'json';
      return binary ? 'bytes' : 'text';
    case T.VAR_STRING:
    case T.STRING:
      if (f.extendedTypeName === 'uuid') return 'uuid';
      return binary ? 'bytes' : 'text';
    default:
      return 'text';
  }
}

/** A result column with its decimal precision and scale when it has them. */
function describeColumn(f: FieldPacket): Column {
  const column: Column = { name: f.name, type: logicalTypeOf(f) };
  if (column.type === 'decimal' && f.columnLength) {
    // The display length counts the sign and the decimal point.
    column.scale = f.decimals;
    column.precision = f.columnLength - 1 - (f.decimals > 0 ? 1 : 0);
  }
  return column;
}

function normalizeRows(rows: Row[], columns: Column[]): Row[] {
  const fix = columns.filter((c) => c.type === 'boolean' || c.type === 'json');
  if (fix.length === 0) return rows;
  for (const row of rows) {
    for (const c of fix) {
      const v = row[c.name];
      if (v === null || v === undefined) continue;
      if (c.type === 'boolean') row[c.name] = Buffer.isBuffer(v) ? v[0] === 1 : Number(v) === 1;
      else if (typeof v === 'string') {
        try {
          row[c.name] = parseJsonColumn(v);
        } catch {
          // not JSON after all: keep the text
        }
      }
    }
  }
  return rows;
}

/** A query's answer as Idra's rows: typed columns, booleans and JSON decoded. */
export function resultOf([rows, fields]: [unknown, FieldPacket[] | undefined]): SqlResult {
  const columns = (fields ?? []).map(describeColumn);
  return { rows: Array.isArray(rows) ? normalizeRows(rows as Row[], columns) : [], columns };
}

/**
 * The connection's socket, as mysql2 opens it (no delay, keep-alive) but refusing link-local targets
 * (cloud metadata), by address and after DNS resolution.
 */
function guardedStream({ config }: { config: { socketPath?: string; host?: string; port?: number; keepAliveInitialDelay?: number } }): Socket {
  if (config.socketPath) return netConnect(config.socketPath);
  const socket = connectToDatabase({ host: config.host ?? 'localhost', port: config.port ?? 3306 });
  socket.setNoDelay(true);
  socket.once('connect', () => socket.setKeepAlive(true, config.keepAliveInitialDelay ?? 0));
  return socket;
}

/** mysql2's options for an endpoint: values that keep their precision, and a socket that refuses link-local targets. */
export function connectionOptions(c: Connection, options: Record<string, unknown> | undefined): mysql.PoolOptions {
  const base: mysql.PoolOptions = {
    connectionLimit: Number(options?.poolSize ?? 4),
    connectTimeout: Number(options?.connectTimeoutMs ?? 10_000),
    supportBigNumbers: true,
    bigNumberStrings: true,
    decimalNumbers: false,
    dateStrings: true,
    // JSON comes as text and is parsed here, every number exact (mysql2's own parse rounds them).
    jsonStrings: true,
    multipleStatements: false,
    charset: 'utf8mb4',
  };
  if (c.url) base.uri = c.url;
  if (c.host) base.host = c.host;
  if (c.port) base.port = c.port;
  if (c.database) base.database = c.database;
  if (c.user) base.user = c.user;
  if (c.password !== undefined) base.password = c.password;
  if (c.ssl) base.ssl = (c.options?.ssl as mysql.PoolOptions['ssl']) ?? {};
  base.stream = guardedStream;
  return base;
}

/** The statements that set a session up as Idra reads and writes: UTC, strict. */
export const SESSION_SETUP = ["SET time_zone = '+00:00'", "SET SESSION sql_mode = 'STRICT_ALL_TABLES,NO_ENGINE_SUBSTITUTION,ERROR_FOR_DIVISION_BY_ZERO'"];

/** Opens a mysql2 pool (MySQL or MariaDB) with UTC, strict sessions and values that keep their precision. */
export async function connectMysql(c: Connection, options: Record<string, unknown> | undefined): Promise<SqlPool> {
  const pool = mysql.createPool(connectionOptions(c, options));
  // A connection whose server goes away emits 'error'; mysql2 listens once (to drop it from the pool),
  // and a dead connection written to emits again. Every connection is listened to for its whole life;
  // the calls on it fail with the error all the same.
  pool.pool.on('connection', (conn) => conn.on('error', () => {}));
  const silenceMs = statementTimeoutMs(options);
  // The promise wrapper is new at each checkout; the connection under it is the one that stays set up.
  const ready = new WeakSet<object>();

  async function acquire(): Promise<PoolConnection> {
    const conn = await pool.getConnection();
    if (!ready.has(conn.connection)) {
      try {
        for (const stmt of SESSION_SETUP) await conn.query(stmt);
      } catch (err) {
        conn.destroy();
        throw err;
      }
      ready.add(conn.connection);
    }
    return conn;
  }

  /**
   * Runs `fn` on a checked-out connection, then puts it back unless it was closed. A connection
   * silent for longer than the statement timeout (a blackholed network) is closed, which fails the call.
   */
  /** Runs `fn` on a connection of the pool; an abort closes it (the server rolls back whatever it was doing), whatever `fn` is waiting for. */
  async function withConnection<T>(fn: (conn: PoolConnection) => Promise<T>, signal: AbortSignal | undefined): Promise<T> {
    const acquiring = acquire();
    // A connection that comes after an abort goes back to the pool.
    const conn = await untilAborted(
      acquiring,
      signal,
      () =>
        void acquiring.then(
          (c) => c.release(),
          () => {},
        ),
    );
    let closed = false;
    const close = () => {
      closed = true;
      conn.destroy();
    };
    signal?.addEventListener('abort', close, { once: true });
    // mysql2's types do not declare the socket a connection runs on.
    const unwatch = closeWhenSilent((conn.connection as unknown as { stream?: Socket }).stream, silenceMs);
    try {
      signal?.throwIfAborted();
      return await untilAborted(fn(conn), signal);
    } finally {
      signal?.removeEventListener('abort', close);
      unwatch();
      // A connection that broke has left the pool by itself: releasing it does nothing.
      if (!closed) conn.release();
    }
  }

  async function run(conn: PoolConnection, query: CompiledQuery, signal?: AbortSignal): Promise<SqlResult> {
    signal?.throwIfAborted();
    return resultOf(await conn.query({ sql: query.sql, values: query.parameters as unknown[] }));
  }

  await withConnection(async () => {}, undefined);

  return {
    execute: (query, signal) => withConnection((conn) => run(conn, query, signal), signal),
    transaction: (fn, signal) =>
      withConnection(async (conn) => {
        await conn.query('START TRANSACTION');
        const session: MysqlSession = { execute: (q, s) => run(conn, q, s ?? signal), conn };
        try {
          const result = await fn(session);
          signal?.throwIfAborted();
          await conn.query('COMMIT');
          return result;
        } catch (err) {
          if (!signal?.aborted) await conn.query('ROLLBACK').catch(() => {});
          throw err;
        }
      }, signal),
    close: () => pool.end(),
  };
}
