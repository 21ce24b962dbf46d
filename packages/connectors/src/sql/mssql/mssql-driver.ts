import * as tedious from 'tedious';
import { Pool as TarnPool } from 'tarn';
import type { CompiledQuery } from 'kysely';
import type { Column, Connection, LogicalType, Row } from '@idra/core';
import type { SqlPool, SqlResult, SqlSession } from '../dialect.ts';
import { statementTimeoutMs } from '../statement-timeout.ts';

const TYPE_NAMES: Record<string, LogicalType> = {
  Bit: 'boolean',
  BitN: 'boolean',
  TinyInt: 'int32',
  SmallInt: 'int32',
  Int: 'int32',
  IntN: 'int32',
  BigInt: 'int64',
  Decimal: 'decimal',
  DecimalN: 'decimal',
  Numeric: 'decimal',
  NumericN: 'decimal',
  Money: 'decimal',
  MoneyN: 'decimal',
  SmallMoney: 'decimal',
  Real: 'float',
  Float: 'float',
  FloatN: 'float',
  UniqueIdentifier: 'uuid',
  Date: 'date',
  Time: 'time',
  DateTime: 'timestamp',
  DateTimeN: 'timestamp',
  DateTime2: 'timestamp',
  SmallDateTime: 'timestamp',
  DateTimeOffset: 'timestamptz',
  VarBinary: 'bytes',
  Binary: 'bytes',
  Image: 'bytes',
};

/** The logical type of a tedious column (IntN widens to int64 when its length is 8). */
export function logicalTypeOf(meta: { type: { name: string }; dataLength?: number }): LogicalType {
  if (meta.type.name === 'IntN' && meta.dataLength === 8) return 'int64';
  return TYPE_NAMES[meta.type.name] ?? 'text';
}

const pad = (n: number, w = 2) => String(n).padStart(w, '0');

/** A tedious Date (UTC) with its sub-millisecond remainder → `YYYY-MM-DD HH:MM:SS.fffffff` text. */
export function formatDateTime(d: Date & { nanosecondsDelta?: number }, type: LogicalType): string {
  const date = `${d.getUTCFullYear()}-${pad(d.getUTCMonth() + 1)}-${pad(d.getUTCDate())}`;
  if (type === 'date') return date;
  const ticks = d.getUTCMilliseconds() * 10_000 + Math.round((d.nanosecondsDelta ?? 0) * 10_000_000);
  const time = `${pad(d.getUTCHours())}:${pad(d.getUTCMinutes())}:${pad(d.getUTCSeconds())}.${pad(ticks, 7)}`.replace(/\.?0+$/, '');
  return type === 'time' ? time : `${date} ${time}`;
}

/** The tedious parameter type for a bound value. */
function parameterType(value: unknown): (typeof tedious.TYPES)[keyof typeof tedious.TYPES] {
  const T = tedious.TYPES;
  if (typeof value === 'boolean') return T.Bit;
  if (typeof value === 'bigint') return T.BigInt;
  if (typeof value === 'number') return Number.isInteger(value) && Math.abs(value) < 2 ** 31 ? T.Int : T.Float;
  if (Buffer.isBuffer(value)) return T.VarBinary;
  return T.NVarChar;
}

function configFrom(c: Connection, options: Record<string, unknown> | undefined): tedious.ConnectionConfiguration {
  const url = c.url ? new URL(c.url) : undefined;
  return {
    server: c.host ?? url?.hostname ?? 'localhost',
    authentication: {
      type: 'default',
      options: { userName: c.user ?? decodeURIComponent(url?.username ?? ''), password: c.password ?? decodeURIComponent(url?.password ?? '') },
    },
    options: {
      port: c.port ?? (url?.port ? Number(url.port) : 1433),
      database: c.database ?? (url?.pathname.replace(/^\//, '') || url?.searchParams.get('database') || undefined),
      encrypt: c.ssl ?? false,
      trustServerCertificate: Boolean(options?.trustServerCertificate ?? true),
      useUTC: true,
      connectTimeout: Number(options?.connectTimeoutMs ?? 10_000),
      // tedious cancels a request that takes longer, and closes the connection if the cancel is not answered either.
      requestTimeout: statementTimeoutMs(options),
    },
  };
}

function connect(config: tedious.ConnectionConfiguration): Promise<tedious.Connection> {
  return new Promise((resolve, reject) => {
    const conn = new tedious.Connection(config);
    conn.on('error', () => {});
    conn.connect((err) => (err ? reject(err) : resolve(conn)));
  });
}

function run(conn: tedious.Connection, query: CompiledQuery, signal?: AbortSignal): Promise<SqlResult> {
  signal?.throwIfAborted();
  return new Promise((resolve, reject) => {
    let columns: Column[] = [];
    const rows: Row[] = [];
    const cancel = () => conn.cancel();
    const request = new tedious.Request(query.sql, (err) => {
      signal?.removeEventListener('abort', cancel);
      if (err) reject(err);
      else resolve({ rows, columns });
    });
    (query.parameters as unknown[]).forEach((value, i) => request.addParameter(String(i + 1), parameterType(value), value ?? null));
    request.on('columnMetadata', (meta) => {
      const list = (Array.isArray(meta) ? meta : Object.values(meta)) as Array<{ colName: string; type: { name: string }; dataLength?: number }>;
      columns = list.map((m) => ({ name: m.colName, type: logicalTypeOf(m) }));
    });
    request.on('row', (cells: Array<{ value: unknown }>) => {
      const row: Row = {};
      cells.forEach((cell, i) => {
        const col = columns[i]!;
        const v = cell.value;
        row[col.name] = v instanceof Date ? formatDateTime(v, col.type) : typeof v === 'bigint' ? v.toString() : v;
      });
      rows.push(row);
    });
    signal?.addEventListener('abort', cancel, { once: true });
    conn.execSql(request);
  });
}

const txn = (conn: tedious.Connection, op: 'beginTransaction' | 'commitTransaction' | 'rollbackTransaction') =>
  new Promise<void>((resolve, reject) => (conn[op] as (cb: (err?: Error | null) => void) => void)((err) => (err ? reject(err) : resolve())));

/** Opens a pool of tedious connections (SQL Server). */
export async function connectMssql(c: Connection, options: Record<string, unknown> | undefined): Promise<SqlPool> {
  const config = configFrom(c, options);
  const pool = new TarnPool<tedious.Connection>({
    create: () => connect(config),
    destroy: (conn) => conn.close(),
    validate: (conn) => !(conn as unknown as { closed?: boolean }).closed,
    min: 0,
    max: Number(options?.poolSize ?? 4),
    acquireTimeoutMillis: Number(options?.connectTimeoutMs ?? 10_000) * 2,
  });
  const probe = await pool.acquire().promise;
  pool.release(probe);
  return {
    async execute(query, signal) {
      const conn = await pool.acquire().promise;
      try {
        return await run(conn, query, signal);
      } finally {
        pool.release(conn);
      }
    },
    async transaction(fn, signal) {
      const conn = await pool.acquire().promise;
      try {
        await txn(conn, 'beginTransaction');
        const session: SqlSession = { execute: (q, s) => run(conn, q, s ?? signal) };
        try {
          const result = await fn(session);
          signal?.throwIfAborted();
          await txn(conn, 'commitTransaction');
          return result;
        } catch (err) {
          await txn(conn, 'rollbackTransaction').catch(() => {});
          throw err;
        }
      } finally {
        pool.release(conn);
      }
    },
    close: async () => {
      await pool.destroy();
    },
  };
}
