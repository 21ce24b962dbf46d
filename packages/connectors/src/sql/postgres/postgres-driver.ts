import type { Socket } from 'node:net';
import pg from 'pg';
import type { CompiledQuery } from 'kysely';
import type { Column, Connection, LogicalType, Row } from '@idra/core';
import type { DecodedColumn, SqlPool, SqlResult, SqlSession } from '../dialect.ts';
import { stripUtcOffset } from '../values.ts';
import { JsonText, parseJsonColumn } from '../../records/exact-json.ts';
import { untilAborted } from '../../records/abortable.ts';
import { closeWhenSilent, statementTimeoutMs } from '../statement-timeout.ts';
import { DatabaseSocket } from '../../records/address-guard.ts';
import { FIELD_PARSERS } from './postgres-binary.ts';
import type { EncodedLayout, StoredField } from './postgres-copy.ts';

const OID_TYPES: Record<number, LogicalType> = {
  16: 'boolean',
  20: 'int64',
  21: 'int32',
  23: 'int32',
  26: 'int64',
  700: 'float',
  701: 'float',
  1700: 'decimal',
  25: 'text',
  1042: 'text',
  1043: 'text',
  19: 'text',
  2950: 'uuid',
  1082: 'date',
  1083: 'time',
  1266: 'time',
  1114: 'timestamp',
  1184: 'timestamptz',
  114: 'json',
  3802: 'json',
  17: 'bytes',
};

const asText = (v: string) => v;
/** Parsers that keep full precision: timestamps and times as text, 64-bit and numeric as strings, every JSON number exact. */
const PRECISE_PARSERS: Record<number, (v: string) => unknown> = {
  20: asText,
  // json keeps its text as written (JsonText); jsonb is stored parsed, so its value is all there is.
  114: (v) => new JsonText(v),
  3802: (v) => parseJsonColumn(v),
  1700: asText,
  1082: asText,
  1083: asText,
  1266: asText,
  1114: asText,
  1184: stripUtcOffset,
};

/**
 * A type Idra carries as text (arrays, intervals, ranges, geometric and network types) stays
 * PostgreSQL's own text, which every PostgreSQL column of that type takes back exactly: pg's parsers
 * would turn numeric[] into floats, timestamp[] into Dates without microseconds and intervals into
 * objects, written back as JSON that an array or interval column refuses.
 */
const types = {
  getTypeParser: ((oid: number, format?: 'text' | 'binary') =>
    PRECISE_PARSERS[oid] ??
    ((format ?? 'text') === 'text' && OID_TYPES[oid] === undefined ? asText : pg.types.getTypeParser(oid, format ?? 'text'))) as typeof pg.types.getTypeParser,
};

/** A session inside a transaction, with its client for COPY. */
export interface PgSession extends SqlSession {
  client: pg.PoolClient;
}

/** PostgreSQL's logical type for a type OID (unknown types are carried as text). */
export function logicalTypeOf(oid: number): LogicalType {
  return OID_TYPES[oid] ?? 'text';
}

/** The pg settings of a connection: UTC sessions, precise values, the endpoint's timeouts. */
export function poolConfig(c: Connection, options: Record<string, unknown> | undefined): pg.PoolConfig {
  const config: pg.PoolConfig = {
    max: Number(options?.poolSize ?? 4),
    connectionTimeoutMillis: Number(options?.connectTimeoutMs ?? 10_000),
    idleTimeoutMillis: 30_000,
    // The sync in each session's name, so that a DBA (and the concurrency tests) can tell whose it is;
    // PostgreSQL keeps 63 bytes of it.
    application_name: typeof options?.syncId === 'string' ? `idra:${options.syncId}`.slice(0, 63) : 'idra',
    // A frozen or partitioned agent must not hold row locks forever: the server ends its transaction,
    // so the agent that took the sync over is not blocked behind it.
    options: `-c TimeZone=UTC -c DateStyle=ISO -c idle_in_transaction_session_timeout=${Number(options?.idleInTransactionTimeoutMs ?? 15_000)}`,
    types,
    // Refuses link-local targets (cloud metadata), by address and after DNS resolution.
    stream: () => new DatabaseSocket(),
  };
  if (c.url) config.connectionString = c.url;
  if (c.host) config.host = c.host;
  if (c.port) config.port = c.port;
  if (c.database) config.database = c.database;
  if (c.user) config.user = c.user;
  if (c.password !== undefined) config.password = c.password;
  if (c.ssl) config.ssl = (c.options?.ssl as pg.PoolConfig['ssl']) ?? true;
  return config;
}

/** A column of a type OID and modifier, as a result or a relation message describes it. */
export function columnOf(name: string, typeOid: number, typeMod: number): Column {
  const column: Column = { name, type: logicalTypeOf(typeOid) };
  // numeric(p, s) is encoded in the type modifier as ((p << 16) | s) + 4.
  if (column.type === 'decimal' && typeMod >= 4) {
    column.precision = (typeMod - 4) >> 16;
    column.scale = (typeMod - 4) & 0xffff;
  }
  return column;
}

/** Rows and columns of a pg result (numeric precision and scale from the type modifier). */
export function toResult(res: pg.QueryResult): SqlResult {
  const columns = (res.fields ?? []).map((f) => columnOf(f.name, f.dataTypeID, f.dataTypeModifier));
  return { rows: res.rows as Row[], columns, native: (res.fields ?? []).map((f) => String(f.dataTypeID)) };
}

/** How a value of type `oid` in text form is read, as every read of this driver does. */
export function textParser(oid: number): (text: string) => unknown {
  return types.getTypeParser(oid, 'text') as (text: string) => unknown;
}

/**
 * How a read of `stored` encoded fields decodes the columns of `decoded` ({@link copyOutRows}): from
 * their binary field when it is among the stored ones and its type has a parser, else from an extra
 * field in text form, selected after the stored ones in the order of `extra`.
 */
export function encodedLayout(stored: number, decoded: readonly DecodedColumn[]): EncodedLayout {
  // A source reads with the same list each time: its layout is made once, and its rows' class with it (binaryRows).
  let layout = layouts.get(decoded);
  if (layout?.stored !== stored) layouts.set(decoded, (layout = makeLayout(stored, decoded)));
  return layout;
}

/** Layouts made by {@link encodedLayout}, by the list of columns they decode. */
const layouts = new WeakMap<readonly DecodedColumn[], EncodedLayout>();

function makeLayout(stored: number, decoded: readonly DecodedColumn[]): EncodedLayout {
  const fromStored = decoded
    .flatMap(({ name, native, field }) =>
      field !== undefined && field >= 0 && field < stored && FIELD_PARSERS[native] ? [{ name, field, parse: FIELD_PARSERS[native] }] : [],
    )
    .sort((a, b) => a.field - b.field);
  const extra = decoded.filter((d) => !fromStored.some((f) => f.name === d.name)).map((d) => ({ name: d.name, parse: textParser(Number(d.native)) }));
  return { stored, fromStored, extra };
}

/** The socket under a pg client (pg has no public accessor; `connection.stream` is what pg-pool itself destroys on a connect timeout). */
function socketOf(client: pg.PoolClient): Socket | undefined {
  return (client as unknown as { connection?: { stream?: Socket } }).connection?.stream;
}

/** Runs a query on a checked-out client (an abort is handled for the whole checkout: {@link onAbort}). */
async function run(client: pg.PoolClient, query: CompiledQuery, signal?: AbortSignal): Promise<SqlResult> {
  signal?.throwIfAborted();
  return toResult(await client.query({ text: query.sql, values: query.parameters as unknown[] }));
}

// How long an aborted statement gets to end by the server's cancel before its connection is closed.
const CANCEL_GRACE_MS = 500;

/**
 * When `signal` aborts while `client` is checked out: asks the server to cancel what runs (it stops
 * working at once), and closes the connection if the call has not ended soon after — a server that
 * stopped answering takes no cancel, and nothing else would end the call before the silence timeout.
 * Returns the function that stops watching.
 */
function onAbort(pool: pg.Pool, client: pg.PoolClient, signal: AbortSignal | undefined): () => void {
  if (!signal) return () => {};
  let timer: NodeJS.Timeout | undefined;
  const abort = () => {
    const pid = (client as unknown as { processID?: number }).processID;
    // On a connection of its own, outside the pool, so that closing the pool never waits for it.
    const canceller = new pg.Client({ ...pool.options, connectionTimeoutMillis: CANCEL_GRACE_MS * 4 });
    canceller.on('error', () => {});
    if (pid !== undefined) {
      void canceller
        .connect()
        .then(() => canceller.query('SELECT pg_cancel_backend($1)', [pid]))
        .catch(() => {})
        .finally(() => void canceller.end().catch(() => {}));
    }
    timer = setTimeout(() => socketOf(client)?.destroy(new Error('aborted, and the server did not end the statement')), CANCEL_GRACE_MS);
  };
  signal.addEventListener('abort', abort, { once: true });
  return () => {
    clearTimeout(timer);
    signal.removeEventListener('abort', abort);
  };
}

/** Opens a pg pool whose sessions are in UTC and whose values keep full precision. */
export async function connectPostgres(c: Connection, options: Record<string, unknown> | undefined): Promise<SqlPool> {
  const pool = new pg.Pool(poolConfig(c, options));
  // pg emits 'error' on a client whose connection breaks (server restart, pg_terminate_backend,
  // network reset), on top of failing its queries, and pg-pool listens only while a client is idle.
  // Unheard, the event ends the process — and it can come at any time: a restarting server sends
  // its 57P01 right behind the ReadyForQuery of a new connection, before connect() has even handed
  // the client out. So every client is listened to for its whole life. Nothing is hidden: the query
  // in flight fails with the error, later ones fail too, and pg-pool drops the client on release.
  pool.on('connect', (client) => client.on('error', () => {}));
  // pg-pool re-emits the error of an idle client after dropping it; the next checkout connects anew.
  pool.on('error', () => {});
  const probe = await pool.connect();
  probe.release();
  const silenceMs = statementTimeoutMs(options);

  /**
   * Runs `fn` on a checked-out client. A connection silent for longer than the statement timeout (a
   * blackholed network, where TCP would wait many minutes) is closed, which fails the call.
   */
  async function withClient<T>(fn: (client: pg.PoolClient) => Promise<T>, signal: AbortSignal | undefined): Promise<T> {
    const connecting = pool.connect();
    // A connection that comes after an abort goes back to the pool.
    const client = await untilAborted(
      connecting,
      signal,
      () =>
        void connecting.then(
          (c) => c.release(),
          () => {},
        ),
    );
    let broken: Error | undefined;
    const unwatch = closeWhenSilent(socketOf(client), silenceMs);
    const unwatchAbort = onAbort(pool, client, signal);
    try {
      signal?.throwIfAborted();
      return await fn(client);
    } catch (err) {
      // The server refusing a statement leaves the connection usable; any other failure (network,
      // protocol, timeout, abort) leaves it in an unknown state.
      if (!(err instanceof pg.DatabaseError) || signal?.aborted) broken ??= err as Error;
      throw err;
    } finally {
      unwatchAbort();
      unwatch();
      client.release(broken);
    }
  }

  return {
    execute: (query, signal) => withClient((client) => run(client, query, signal), signal),
    transaction: (fn, signal) =>
      withClient(async (client) => {
        await client.query('BEGIN');
        const session: PgSession = { execute: (q, s) => run(client, q, s ?? signal), client };
        try {
          const result = await fn(session);
          signal?.throwIfAborted();
          await client.query('COMMIT');
          return result;
        } catch (err) {
          if (!signal?.aborted) await client.query('ROLLBACK').catch(() => {});
          throw err;
        }
      }, signal),
    close: () => pool.end(),
  };
}
