import mysql from 'mysql2/promise';
import {
  ConfigError,
  ConnectorError,
  readEndpoint,
  resolveOptions,
  type Batch,
  type Change,
  type Column,
  type EndpointContext,
  type Lag,
  type Position,
  type ResolvedOptions,
  type Row,
  type Source,
  type Sync,
} from '@idra/core';
import { sqlSpec } from '../sql-spec.ts';
import { wrapSqlError } from '../sql-errors.ts';
import { cursorText } from '../values.ts';
import { copyLag, keyRanges, transactionSpan, waitForLog, type SnapshotPart } from '../change-log.ts';
import type { SqlDialect } from '../dialect.ts';
import { parseJsonColumn } from '../../records/exact-json.ts';
import { connectionOptions, resultOf, SESSION_SETUP } from './mysql-driver.ts';
import { CDC_OPTIONS, binlogServerId } from './mysql-cdc-options.ts';
import { changeLogProblems } from './mysql-cdc-check.ts';
import { BinlogConnection } from './mysql-replication.ts';
import { TYPE, type BinlogEvent, type RawValue, type RowsEvent, type TableMap } from './binlog-events.ts';

/** The offset of a cdc sync on MySQL / MariaDB (the value of its `stream` position). */
export interface MysqlCdcOffset {
  /** The binlog file and the position in it after the last source transaction applied. */
  file: string;
  pos: number;
  /**
   * MariaDB: the GTID position after that transaction (`domain-server-seq` per replication domain).
   * The stream resumes from it when present — it names the same transaction on every server of a
   * replication topology, so a failover to a replica keeps the place; file and position do not.
   */
  gtid?: string | undefined;
  /** The replica server id the sync reads the binlog as (for the status; `binlogServerId` decides it). */
  serverId?: number | undefined;
  /** While the initial copy runs: its key ranges, the rows copied and the rows the table was estimated to hold. */
  snapshot?: { parts: SnapshotPart[]; rows: number; total: number } | undefined;
}

/** A column of the table as the binlog stores it and as Idra hands it on. */
interface ColumnLayout {
  column: Column;
  /** Integers: the server stores unsigned values in the same bytes as signed ones. */
  unsigned: boolean;
  /** Strings: the encoding of their bytes; undefined for binary strings (kept as bytes). */
  encoding: BufferEncoding | undefined;
  /** BINARY(n): its length (the binlog leaves out trailing zero bytes). */
  binaryLength: number | undefined;
  /** ENUM and SET: their members, in order. */
  members: string[] | undefined;
  /** The column's type as information_schema names it (`int`, `varchar` …). */
  dataType: string;
}

/** The table's columns matching one TABLE_MAP, in its order; undefined where a column is not selected. */
interface Layout {
  columns: Column[];
  byIndex: Array<ColumnLayout | undefined>;
}

/** What the log brings, queued in order until a read takes it. Row images stay raw until read (their layout may need the catalog). */
type Item =
  | { kind: 'row'; map: TableMap; image: RawValue[]; update: boolean }
  | { kind: 'delete'; map: TableMap; image: RawValue[] }
  | { kind: 'truncate' }
  /** A statement changed the table's definition: its columns are read again. */
  | { kind: 'ddl' }
  /** The end of a source transaction (or of a run of transactions that changed nothing of ours). */
  | { kind: 'commit'; at: { file: string; pos: number; gtid: string | undefined }; timeMs: number; ours: boolean };

/** Above this many queued items the socket is paused until reads take them. */
const QUEUE_HIGH = 50_000;
/** The server cannot serve the dump: the position asked for is purged or not in its binlog (or another reader took over). */
const ER_MASTER_FATAL_READING_BINLOG = 1236;
/** What the server says of a position it no longer has (file+position, or a GTID position). */
const PURGED = /could not find|purged/i;
/** What MariaDB says of a GTID position it never wrote: the server is behind the sync (a restored backup, a replica that had not caught up). */
const AHEAD = /not in the master's binlog/i;

function offsetOf(position: Position): MysqlCdcOffset | undefined {
  if (position.kind !== 'stream' || position.value === null || position.value === undefined) return undefined;
  return position.value as MysqlCdcOffset;
}

const at = (offset: MysqlCdcOffset): Position => ({ kind: 'stream', value: offset });

const ident = (name: string) => `\`${name.replace(/`/g, '``')}\``;

/**
 * A MySQL / MariaDB table in mode `cdc`: the rows it holds, copied in a consistent snapshot (in key
 * ranges, in parallel, resumable), then every change after that snapshot read from the binlog —
 * whole transactions, in commit order. The binlog position after the snapshot is read under the
 * snapshot itself (MariaDB: `binlog_snapshot_file` / `_position`), so no change is missed or doubled.
 */
export class MysqlCdcSource implements Source {
  private readonly dialect: SqlDialect;
  private readonly sync: Sync;
  private readonly options: CdcOptions;
  private readonly endpointOptions: Record<string, unknown>;
  private readonly pool: mysql.Pool;
  private readonly table: { schema: string; name: string; sql: string };
  private readonly keys: string[];
  private readonly wanted: Set<string> | undefined;
  private readonly serverId: number;
  private readonly mariadb: boolean;
  private columns: Column[];
  /** The names of the table's columns in order, as last described (selected or not). */
  private columnNames: string[] = [];
  /** What the server's settings weaken, shown in the sync's status. */
  private warning: string | undefined;
  /** Layouts by TABLE_MAP signature; emptied when a DDL changes the table. */
  private layouts = new Map<string, Layout>();

  private binlog: BinlogConnection | undefined;
  private readers: mysql.Connection[] = [];
  private queue: Item[] = [];
  private pending: Item[] = [];
  private partial = false;
  private midTransaction = false;
  /** Where the stream is: the file being read, and the GTID of the last group begun in each domain. */
  private file = '';
  private gtids = new Map<number, string>();
  private inGroup = false;
  private standaloneGroup = false;
  private streamError: Error | undefined;
  private wake: (() => void) | undefined;
  private paused = false;
  private snapshotStartedAt: { at: number; rows: number } | undefined;
  private oldestQueuedMs: number | undefined;

  private constructor(
    dialect: SqlDialect,
    ctx: EndpointContext,
    endpointOptions: Record<string, unknown>,
    pool: mysql.Pool,
    table: MysqlCdcSource['table'],
    columns: Column[],
    mariadb: boolean,
  ) {
    this.dialect = dialect;
    this.sync = ctx.sync;
    this.options = resolveOptions(CDC_OPTIONS, ctx.endpoint.options);
    this.endpointOptions = endpointOptions;
    this.pool = pool;
    this.table = table;
    this.keys = ctx.sync.keyColumns;
    this.wanted = ctx.endpoint.columns ? new Set([...ctx.endpoint.columns, ...this.keys]) : undefined;
    this.serverId = binlogServerId(ctx.sync);
    this.mariadb = mariadb;
    this.columns = this.selected(columns);
  }

  /** Checks the server's binlog settings, the user's privileges and the table. */
  static async open(dialect: SqlDialect, ctx: EndpointContext): Promise<MysqlCdcSource> {
    const options = readEndpoint(sqlSpec(dialect), ctx);
    const { sync, endpoint } = ctx;
    if (endpoint.query !== undefined)
      throw new ConfigError(
        [{ path: 'source.query', message: "mode 'cdc' follows a table: give source.table, not a query" }],
        `invalid cdc source of sync '${sync.id}'`,
      );
    const pool = mysql.createPool({ ...connectionOptions(endpoint.connection, options), connectionLimit: 2 });
    pool.pool.on('connection', (conn) => conn.on('error', () => {}));
    try {
      const q = async <R>(text: string, values: unknown[] = []) => (await pool.query(text, values))[0] as R[];
      const problems = await changeLogProblems(q);
      if (problems.length > 0) throw fail(sync, `mode 'cdc' cannot read the binlog: ${problems.map((p) => p.message).join('; ')}`);
      const [server] = await q<{ id: number | string; version: string; db: string | null }>('select @@server_id as id, version() as version, database() as db');
      const serverId = binlogServerId(sync);
      if (Number(server!.id) === serverId)
        throw new ConfigError(
          [{ path: 'source.options.serverId', message: `${serverId} is the source server's own server_id: choose another` }],
          `invalid cdc source of sync '${sync.id}'`,
        );
      const schema = endpoint.schema ?? server!.db;
      if (!schema) throw new ConfigError([{ path: 'source.connection', message: 'name the database (in the URL or source.schema)' }]);
      const [found] = await q<{ engine: string | null; type: string }>(
        'select engine, table_type as type from information_schema.tables where table_schema = ? and table_name = ?',
        [schema, endpoint.table],
      );
      if (!found || found.type !== 'BASE TABLE') throw fail(sync, `table ${schema}.${endpoint.table} not found (mode 'cdc' reads a table, not a view)`, false);
      const table = { schema, name: endpoint.table!, sql: `${ident(schema)}.${ident(endpoint.table!)}` };
      const { columns } = resultOf(await pool.query(`select * from ${table.sql} limit 0`));
      const missing = sync.keyColumns.filter((k) => !columns.some((c) => c.name === k));
      if (missing.length > 0)
        throw new ConfigError([{ path: 'keyColumns', message: `column(s) ${missing.join(', ')} not found in ${schema}.${endpoint.table}` }]);
      const source = new MysqlCdcSource(dialect, ctx, options, pool, table, columns, /mariadb/i.test(server!.version));
      // The column order, for telling key changes in the row images the stream brings before any read describes the table.
      await source.describe();
      const metadata = await q<{ m: string }>('select @@global.binlog_row_metadata as m').catch(() => [{ m: 'NO_LOG' }]);
      if (metadata[0]?.m !== 'FULL') {
        source.warning =
          `binlog_row_metadata is ${metadata[0]?.m ?? 'NO_LOG'}: the binlog does not name its columns, so rows logged before a schema change the sync has not reached ` +
          'are matched to the table as it is now by their types (a sync behind two changes of the table stops); set binlog_row_metadata = FULL (MariaDB 10.5+, MySQL 8.0+)';
      }
      return source;
    } catch (err) {
      await pool.end().catch(() => {});
      throw wrap(dialect, sync, err);
    }
  }

  async read(position: Position, limit: number, signal: AbortSignal): Promise<Batch> {
    try {
      const offset = offsetOf(position);
      const batch = !offset ? await this.begin(limit) : offset.snapshot ? await this.copy(offset, limit) : await this.follow(position, offset, limit, signal);
      return this.warning === undefined ? batch : { ...batch, warning: this.warning };
    } catch (err) {
      throw wrap(this.dialect, this.sync, err);
    }
  }

  /** No offset yet: the binlog position of a new snapshot, and the first page of its copy (or nothing, with `snapshot: never`). */
  private async begin(limit: number): Promise<Batch> {
    if (this.options.snapshot === 'never') {
      const [status] = (await this.pool.query('show master status'))[0] as Array<{ File: string; Position: number | string }>;
      return { columns: this.columns, rows: [], position: at(await this.withGtid({ file: status!.File, pos: Number(status!.Position) })) };
    }
    const start = await this.openReaders();
    const [estimate] = (
      await this.readers[0]!.query('select table_rows as n from information_schema.tables where table_schema = ? and table_name = ?', [
        this.table.schema,
        this.table.name,
      ])
    )[0] as Array<{ n: number | string | null }>;
    const total = Number(estimate?.n ?? 0);
    const offset: MysqlCdcOffset = { ...start, snapshot: { parts: await this.split(total), rows: 0, total } };
    return this.copy(offset, limit);
  }

  /** The MariaDB GTID position of a binlog file and position (`binlog_gtid_pos`), when the server has GTIDs. */
  private async withGtid(place: { file: string; pos: number }): Promise<MysqlCdcOffset> {
    if (!this.mariadb) return { ...place, serverId: this.serverId };
    const [row] = (await this.pool.query('select binlog_gtid_pos(?, ?) as gtid', [place.file, place.pos]))[0] as Array<{ gtid: string | null }>;
    return { ...place, gtid: row?.gtid ?? '', serverId: this.serverId };
  }

  /**
   * Readers of the table, one per range, each in a transaction WITH CONSISTENT SNAPSHOT. Returns the
   * binlog position of the first one's snapshot: on MariaDB exactly (`binlog_snapshot_*`, read in the
   * snapshot); on MySQL the position read just before it, so that changes between the two are in both
   * the copy and the stream (applied twice, which converges) and none in neither. The other readers'
   * snapshots are newer: the stream replays every change since the first, so each row ends as the source has it.
   */
  private async openReaders(): Promise<{ file: string; pos: number; gtid?: string | undefined }> {
    const config = connectionOptions(this.sync.source.connection, this.endpointOptions) as mysql.ConnectionOptions;
    let start: { file: string; pos: number } | undefined;
    for (let i = 0; i < this.options.snapshotParallelism; i++) {
      const conn = await mysql.createConnection(config);
      conn.on('error', () => {});
      this.readers.push(conn);
      for (const stmt of SESSION_SETUP) await conn.query(stmt);
      await conn.query('set session transaction isolation level repeatable read');
      if (i === 0 && !this.mariadb) start = await masterStatus(conn);
      await conn.query('start transaction with consistent snapshot, read only');
      if (i === 0 && this.mariadb) {
        const status = (await conn.query("show status like 'binlog_snapshot_%'"))[0] as Array<{ Variable_name: string; Value: string }>;
        const value = (name: string) => status.find((s) => s.Variable_name.toLowerCase() === name)?.Value ?? '';
        start = { file: value('binlog_snapshot_file'), pos: Number(value('binlog_snapshot_position')) };
      }
    }
    this.snapshotStartedAt = undefined;
    return this.withGtid(start!);
  }

  /** Key ranges of about equal size, cut at keys of the snapshot. */
  private async split(total: number): Promise<SnapshotPart[]> {
    const keys = this.keys.map(ident).join(', ');
    return keyRanges(total, this.options.snapshotParallelism, async (rows) => {
      const [found] = await this.readers[0]!.query({ sql: `select ${keys} from ${this.table.sql} order by ${keys} limit 1 offset ${rows}`, rowsAsArray: true });
      return (found as unknown[][])[0];
    });
  }

  /** The next rows of each unfinished range, read in parallel; the stream follows once every range is done. */
  private async copy(offset: MysqlCdcOffset, limit: number): Promise<Batch> {
    const snapshot = offset.snapshot!;
    // A copy resumed after a restart: the ranges left are read from a new snapshot, and the stream
    // starts at the first snapshot's position, which the server must still hold.
    if (this.readers.length === 0) await this.openReaders();
    const open = snapshot.parts.map((part, i) => ({ part, i })).filter(({ part }) => !part.done);
    const page = Math.max(1, Math.ceil(limit / Math.max(1, open.length)));
    const keys = this.keys.map(ident).join(', ');
    const list = this.columns.map((c) => ident(c.name)).join(', ');
    const pages = await Promise.all(
      open.map(async ({ part, i }) => {
        const values: unknown[] = [];
        const where: string[] = [];
        const tuple = (bound: string[]) => `(${bound.map((v) => (values.push(v), '?')).join(', ')})`;
        if (part.after) where.push(`(${keys}) > ${tuple(part.after)}`);
        if (part.to) where.push(`(${keys}) <= ${tuple(part.to)}`);
        const text = `select ${list} from ${this.table.sql}${where.length ? ` where ${where.join(' and ')}` : ''} order by ${keys} limit ${page}`;
        const { rows } = resultOf(await this.readers[i % this.readers.length]!.query(text, values));
        return { i, rows };
      }),
    );
    const parts = snapshot.parts.map((p) => ({ ...p }));
    const rows: Row[] = [];
    for (const { i, rows: got } of pages) {
      const last = got[got.length - 1];
      if (last) parts[i]!.after = this.keys.map((k) => cursorText(last[k]) ?? '');
      if (got.length < page) parts[i]!.done = true;
      for (const row of got) rows.push(row);
    }
    const copied = snapshot.rows + rows.length;
    this.snapshotStartedAt ??= { at: performance.now(), rows: snapshot.rows };
    const { snapshot: _, ...place } = offset;
    if (parts.every((p) => p.done)) {
      await this.closeReaders();
      return { columns: this.columns, rows, position: at(place), keyOrdered: true };
    }
    // Each range is read in key order, and the ranges follow one another: the batch is in key order.
    return {
      columns: this.columns,
      rows,
      position: at({ ...place, snapshot: { parts, rows: copied, total: Math.max(snapshot.total, copied) } }),
      keyOrdered: true,
    };
  }

  /** Changes after the offset: whole transactions, as many as fit in `limit` rows, waiting up to pollIntervalMs for the first. */
  private async follow(position: Position, offset: MysqlCdcOffset, limit: number, signal: AbortSignal): Promise<Batch> {
    // A dump that ended stays ended: the runner closes the source and opens a new one (a former owner, ended by the new one's dump, stops there).
    if (!this.binlog && this.streamError === undefined) await this.startStream(offset);
    await waitForLog(
      () => this.ready(),
      this.sync.pollIntervalMs,
      signal,
      (wake) => (this.wake = wake),
    );
    if (this.streamError && this.queue.length === 0) throw this.streamError;
    return this.take(position, offset, limit);
  }

  /**
   * Something a read should return now: a transaction of ours, a piece of a large one, or a failure.
   * Transactions of other tables only move the position: they wait for the end of the poll interval,
   * so that a busy server costs one offset commit per interval, not one per transaction.
   */
  private ready(): boolean {
    if (this.streamError !== undefined || this.queue.some((item) => item.kind === 'commit' && item.ours)) return true;
    return (this.partial || this.midTransaction) && this.queue.length > 0;
  }

  /** Takes whole transactions off the queue (or a piece of one too large to wait for) as a batch; `position` itself when the log did not move. */
  private async take(position: Position, offset: MysqlCdcOffset, limit: number): Promise<Batch> {
    // The offset stays before a transaction split for its size until the piece that ends it.
    const { end, midTransaction } = transactionSpan(this.queue, limit, {
      partial: this.partial,
      midTransaction: this.midTransaction,
      maxTransactionRows: this.options.maxTransactionRows,
    });
    this.midTransaction = midTransaction;
    const items = this.queue.splice(0, end);
    const last = items.findLast((item): item is Extract<Item, { kind: 'commit' }> => item.kind === 'commit');
    if (this.paused && this.queue.length < QUEUE_HIGH / 2) {
      this.paused = false;
      this.binlog?.pause(false);
    }
    this.oldestQueuedMs = this.queue.find((item) => item.kind === 'commit')?.timeMs;
    const batch = await this.batchOf(items);
    const moved = last !== undefined && (last.at.file !== offset.file || last.at.pos !== offset.pos);
    return { ...batch, position: moved ? at({ ...last.at, serverId: this.serverId }) : position };
  }

  /** Queue items as rows and changes, in order; a batch that spans a schema change carries the columns of both sides. */
  private async batchOf(items: Item[]): Promise<Omit<Batch, 'position'>> {
    const rows: Row[] = [];
    const changes: Change[] = [];
    let updates = 0;
    let columns = this.columns;
    let changed = false;
    const seen = new Map(columns.map((c) => [c.name, c]));
    const follow = (next: Column[]) => {
      if (JSON.stringify(next) === JSON.stringify(columns)) return;
      columns = next;
      changed = true;
      for (const c of columns) seen.set(c.name, c);
    };
    for (const item of items) {
      if (item.kind === 'row') {
        const layout = await this.layoutOf(item.map);
        follow(layout.columns);
        rows.push(this.rowOf(item.map, layout, item.image));
        if (item.update) updates++;
      } else if (item.kind === 'delete') {
        changes.push({ kind: 'delete', at: rows.length, key: this.keyOf(item.map, await this.layoutOf(item.map), item.image) });
      } else if (item.kind === 'truncate') changes.push({ kind: 'truncate', at: rows.length });
      else if (item.kind === 'ddl') {
        this.layouts.clear();
        follow(this.selected((await this.describe()).map((c) => c.column)));
      }
    }
    this.columns = columns;
    return { columns: changed ? [...seen.values()] : columns, rows, changes, updates };
  }

  /** Starts the binlog dump after the offset: from its GTID position on MariaDB, else from its file and position. */
  private async startStream(offset: MysqlCdcOffset): Promise<void> {
    this.queue = [];
    this.pending = [];
    this.partial = false;
    this.midTransaction = false;
    this.inGroup = false;
    this.file = offset.file;
    this.gtids = new Map(
      (offset.gtid ?? '')
        .split(',')
        .filter((g) => g !== '')
        .map((g) => [Number(g.split('-')[0]), g]),
    );
    await this.stopStream();
    const binlog = await BinlogConnection.open(this.sync.source.connection, this.endpointOptions);
    this.binlog = binlog;
    const from = offset.gtid !== undefined ? { gtid: offset.gtid } : { file: offset.file, position: offset.pos };
    // Events and the end of a dump this source has since let go of are not its business.
    await binlog.start(from, this.serverId, {
      event: (event) => {
        if (this.binlog === binlog) this.receive(event);
      },
      end: (err) => {
        if (this.binlog !== binlog) return;
        this.binlog = undefined;
        this.streamError = this.failure(offset, err);
        this.wake?.();
      },
    });
  }

  /** Why the stream ended, in words that say what to do; a purged position fails the sync. */
  private failure(offset: MysqlCdcOffset, err: Error | undefined): Error {
    if (err && /same server_uuid\/server_id/i.test(err.message)) {
      return fail(
        this.sync,
        `another binlog reader with server id ${this.serverId} took the dump over (the sync's new owner, or a replica or sync with the same options.serverId)`,
        false,
      );
    }
    if ((err as { errno?: number } | undefined)?.errno === ER_MASTER_FATAL_READING_BINLOG) {
      const where = offset.gtid !== undefined ? `GTID position '${offset.gtid}' (${offset.file}:${offset.pos})` : `${offset.file}:${offset.pos}`;
      if (AHEAD.test(err!.message)) {
        return fail(
          this.sync,
          `the server's binlog does not reach the stored ${where} (${err!.message}): the server is behind the sync (restored from a backup, or a replica that had not caught up), ` +
            "and reading on would skip or repeat changes — reset the sync's offset to copy the table again",
        );
      }
      if (PURGED.test(err!.message)) {
        return fail(
          this.sync,
          `the binlog at ${where} is no longer on the server (${err!.message}): position purged, a new snapshot is needed — reset the sync's offset to copy the table again`,
        );
      }
    }
    return err ?? new Error('the server ended the binlog dump');
  }

  private receive(event: BinlogEvent): void {
    switch (event.kind) {
      case 'rotate':
        this.file = event.file;
        return;
      case 'gtid':
        this.gtids.set(event.domain, `${event.domain}-${event.server}-${event.seq}`);
        this.inGroup = true;
        this.standaloneGroup = event.standalone;
        return;
      case 'rows':
        if (event.map.schema === this.table.schema && event.map.table === this.table.name) this.rowsOf(event);
        break;
      case 'xid':
        this.commit(event);
        return;
      case 'query': {
        const sql = event.sql.trim();
        if (/^begin\b/i.test(sql)) {
          this.inGroup = true;
          return;
        }
        if (/^commit\b/i.test(sql)) {
          this.commit(event);
          return;
        }
        this.statement(event.schema, sql);
        // A statement outside a transaction (DDL) is a transaction of its own.
        if (this.standaloneGroup || !this.inGroup) this.commit(event);
        return;
      }
      default:
        return;
    }
    if (this.pending.length > this.options.maxTransactionRows) {
      for (const item of this.pending) this.queue.push(item);
      this.pending = [];
      this.partial = true;
      this.wake?.();
    }
    if (!this.paused && this.queue.length > QUEUE_HIGH) {
      this.paused = true;
      this.binlog?.pause(true);
    }
  }

  private rowsOf(event: RowsEvent): void {
    for (const { before, after } of event.rows) {
      if (event.change === 'insert') this.pending.push({ kind: 'row', map: event.map, image: after!, update: false });
      else if (event.change === 'delete') this.pending.push({ kind: 'delete', map: event.map, image: before! });
      else {
        // A changed key: the row under the old one is gone. Key columns are compared by their raw values.
        const keyIndexes = this.keyIndexes(event.map);
        if (keyIndexes.some((i) => !sameRaw(before![i]!, after![i]!))) this.pending.push({ kind: 'delete', map: event.map, image: before! });
        this.pending.push({ kind: 'row', map: event.map, image: after!, update: true });
      }
    }
  }

  /** The positions of the key columns in a TABLE_MAP: by the names it carries, else by the table's column order as known. */
  private keyIndexes(map: TableMap): number[] {
    const names = map.names ?? this.columnNames;
    // Unknown names (a table changed since): every column counts, so a key change is never missed (a delete too many is harmless).
    const indexes = this.keys.map((k) => names.indexOf(k));
    return indexes.every((i) => i >= 0) && names.length === map.types.length ? indexes : map.types.map((_, i) => i);
  }

  /** A statement of the log: a TRUNCATE or a DDL of our table. */
  private statement(schema: string, sql: string): void {
    const name = String.raw`(?:\x60((?:[^\x60]|\x60\x60)+)\x60|([\w$]+))`;
    const target = new RegExp(
      String.raw`^(truncate|alter|rename|drop|create)\s+(?:table\s+)?(?:if\s+(?:not\s+)?exists\s+)?(?:${name}\s*\.\s*)?${name}`,
      'i',
    ).exec(sql.replace(/^\/\*.*?\*\/\s*/s, ''));
    if (!target) return;
    const db = (target[2]?.replace(/``/g, '`') ?? target[3]) || schema;
    const table = target[4]?.replace(/``/g, '`') ?? target[5];
    if (db !== this.table.schema || table !== this.table.name) return;
    if (target[1]!.toLowerCase() === 'truncate') {
      if (this.options.truncate === 'apply') this.pending.push({ kind: 'truncate' });
    } else this.pending.push({ kind: 'ddl' });
  }

  private commit(event: BinlogEvent): void {
    const place = { file: this.file, pos: event.logPos, gtid: this.mariadb ? [...this.gtids.values()].join(',') : undefined };
    const last = this.queue[this.queue.length - 1];
    const ours = this.pending.length > 0 || this.partial;
    if (!ours && last?.kind === 'commit' && !last.ours) {
      // Nothing of ours after a run of the same: the position moves on without another queue entry.
      last.at = place;
    } else {
      for (const item of this.pending) this.queue.push(item);
      this.queue.push({ kind: 'commit', at: place, timeMs: event.timestamp * 1000, ours });
      if (ours) this.oldestQueuedMs ??= event.timestamp * 1000;
    }
    this.pending = [];
    this.partial = false;
    this.inGroup = false;
    this.standaloneGroup = false;
    if (ours) this.wake?.();
  }

  /** The layout of a TABLE_MAP, from the catalog the first time one like it is seen. */
  private async layoutOf(map: TableMap): Promise<Layout> {
    const signature = JSON.stringify([map.types, map.meta, map.names]);
    const known = this.layouts.get(signature);
    if (known) return known;
    const described = await this.describe();
    let chosen: typeof described;
    if (map.names) {
      // The log names its columns (binlog_row_metadata=FULL): exact, whatever the table is like now.
      chosen = map.names.map((name) => described.find((c) => c.column.name === name) ?? { ...unknownColumn(name) });
    } else if (described.length === map.types.length && described.every((c, i) => storedAs(c.dataType, map.types[i]!))) chosen = described;
    else {
      throw fail(
        this.sync,
        `the binlog has rows of ${this.table.schema}.${this.table.name} with ${map.types.length} columns (types ${map.types.join(', ')}), ` +
          `and the table has ${described.map((c) => `${c.column.name} ${c.dataType}`).join(', ')} now: ` +
          'its definition changed again since, and the binlog does not name its columns — set binlog_row_metadata = FULL on the server (MariaDB 10.5+, MySQL 8.0+), ' +
          'or reset the sync to copy the table again',
      );
    }
    const byIndex = chosen.map((c) => (this.wanted && !this.wanted.has(c.column.name) ? undefined : c));
    const layout = { columns: byIndex.filter((c): c is ColumnLayout => c !== undefined).map((c) => c.column), byIndex };
    this.layouts.set(signature, layout);
    return layout;
  }

  /** The table's columns now: their types as a query reads them, and what decoding binlog values needs. */
  private async describe(): Promise<ColumnLayout[]> {
    const { columns } = resultOf(await this.pool.query(`select * from ${this.table.sql} limit 0`));
    const info = (
      await this.pool.query(
        `select column_name as name, column_type as type, data_type as data, character_set_name as charset, character_octet_length as octets
         from information_schema.columns where table_schema = ? and table_name = ? order by ordinal_position`,
        [this.table.schema, this.table.name],
      )
    )[0] as Array<{ name: string; type: string; data: string; charset: string | null; octets: number | string | null }>;
    this.columnNames = info.map((c) => c.name);
    return info.map((c) => {
      const column = columns.find((x) => x.name === c.name) ?? { name: c.name, type: 'text' };
      const data = c.data.toLowerCase();
      return {
        column,
        unsigned: /unsigned/i.test(c.type),
        encoding: c.charset === null ? undefined : /^(latin1|ascii|binary)$/i.test(c.charset) ? 'latin1' : 'utf8',
        binaryLength: data === 'binary' ? Number(c.octets) : undefined,
        members: data === 'enum' || data === 'set' ? members(c.type) : undefined,
        dataType: data,
      };
    });
  }

  private selected(columns: Column[]): Column[] {
    return this.wanted ? columns.filter((c) => this.wanted!.has(c.name)) : columns;
  }

  private rowOf(map: TableMap, layout: Layout, image: RawValue[]): Row {
    const row: Row = {};
    image.forEach((raw, i) => {
      const c = layout.byIndex[i];
      if (c === undefined || raw === undefined) return;
      row[c.column.name] = valueOf(raw, c, map.types[i]!);
    });
    return row;
  }

  private keyOf(map: TableMap, layout: Layout, image: RawValue[]): Row {
    const row = this.rowOf(map, layout, image);
    return Object.fromEntries(this.keys.map((k) => [k, row[k]]));
  }

  /** Bytes of binlog after the position (across files), seconds since the oldest change not yet applied, the copy's progress. */
  async lag(position: Position): Promise<Lag | undefined> {
    const logs = (await this.pool.query('show binary logs'))[0] as Array<{ Log_name: string; File_size: number | string }>;
    const current = logs[logs.length - 1];
    if (!current) return undefined;
    const head = `${current.Log_name}:${current.File_size}`;
    const offset = offsetOf(position);
    if (!offset) return { head };
    // Bytes from the offset to the end of the log, across the files after it; unknown once its file is purged.
    const from = logs.findIndex((l) => l.Log_name === offset.file);
    const bytes = from < 0 ? undefined : logs.slice(from).reduce((sum, l) => sum + Number(l.File_size), 0) - offset.pos;
    if (offset.snapshot) return copyLag(head, bytes, offset.snapshot, this.snapshotStartedAt);
    const seconds = this.oldestQueuedMs === undefined ? 0 : Math.max(0, (Date.now() - this.oldestQueuedMs) / 1000);
    return { head, bytes: bytes === undefined ? undefined : Math.max(0, bytes), seconds };
  }

  private async closeReaders(): Promise<void> {
    const readers = this.readers;
    this.readers = [];
    await Promise.all(readers.map((r) => r.end().catch(() => r.destroy())));
  }

  private async stopStream(): Promise<void> {
    const binlog = this.binlog;
    this.binlog = undefined;
    await binlog?.close();
  }

  async close(): Promise<void> {
    await this.closeReaders();
    await this.stopStream();
    await this.pool.end().catch(() => {});
  }
}

type CdcOptions = ResolvedOptions<typeof CDC_OPTIONS>;

/** SHOW MASTER STATUS: where the server writes its binlog now. */
async function masterStatus(conn: mysql.Connection): Promise<{ file: string; pos: number }> {
  const [status] = (await conn.query('show master status'))[0] as Array<{ File: string; Position: number | string }>;
  return { file: status!.File, pos: Number(status!.Position) };
}

/** The members of `enum('a','b')` / `set(...)` as information_schema writes the column type. */
function members(type: string): string[] {
  return [...type.slice(type.indexOf('(') + 1, type.lastIndexOf(')')).matchAll(/'((?:[^']|'')*)'/g)].map((m) => m[1]!.replace(/''/g, "'"));
}

/** A column the log names and the table no longer has (dropped since): its values pass as text. */
function unknownColumn(name: string): ColumnLayout {
  return { column: { name, type: 'text' }, unsigned: false, encoding: 'utf8', binaryLength: undefined, members: undefined, dataType: 'unknown' };
}

/** The binlog type codes each information_schema data type is logged as (old and new temporal formats, MySQL's binary JSON). */
const LOGGED_AS: Record<string, readonly number[]> = {
  tinyint: [TYPE.TINY],
  smallint: [TYPE.SHORT],
  mediumint: [TYPE.INT24],
  int: [TYPE.LONG],
  bigint: [TYPE.LONGLONG],
  decimal: [TYPE.NEWDECIMAL, TYPE.DECIMAL],
  float: [TYPE.FLOAT],
  double: [TYPE.DOUBLE],
  date: [TYPE.DATE],
  datetime: [TYPE.DATETIME2, TYPE.DATETIME],
  timestamp: [TYPE.TIMESTAMP2, TYPE.TIMESTAMP],
  time: [TYPE.TIME2, TYPE.TIME],
  year: [TYPE.YEAR],
  char: [TYPE.STRING],
  binary: [TYPE.STRING],
  varchar: [TYPE.VARCHAR, TYPE.VAR_STRING],
  varbinary: [TYPE.VARCHAR, TYPE.VAR_STRING],
  enum: [TYPE.ENUM],
  set: [TYPE.SET],
  bit: [TYPE.BIT],
  json: [TYPE.BLOB, TYPE.JSON],
  ...Object.fromEntries(['tinytext', 'text', 'mediumtext', 'longtext', 'tinyblob', 'blob', 'mediumblob', 'longblob'].map((t) => [t, [TYPE.BLOB]])),
};

/**
 * Whether a column of `dataType` can be the one a TABLE_MAP logs as `code`: a log that does not name
 * its columns is matched to the table's columns now only where every type agrees. Types not listed
 * (spatial, MariaDB's UUID and INET) are taken as agreeing.
 */
function storedAs(dataType: string, code: number): boolean {
  const codes = LOGGED_AS[dataType];
  return codes === undefined || codes.includes(code);
}

function sameRaw(a: RawValue, b: RawValue): boolean {
  if (Buffer.isBuffer(a) && Buffer.isBuffer(b)) return a.equals(b);
  return a === b;
}

/** The shortest decimal text that reads back as the same 32-bit float (what the server prints for a FLOAT). */
function floatValue(value: number): number {
  for (let digits = 1; digits < 9; digits++) {
    const shorter = Number(value.toPrecision(digits));
    if (Math.fround(shorter) === value) return shorter;
  }
  return value;
}

/** A binlog value as the polling source reads the same column: exact numbers as text, dates as text, bytes as bytes. */
function valueOf(raw: RawValue, c: ColumnLayout, binlogType: number): unknown {
  if (raw === null) return null;
  const { type } = c.column;
  if (typeof raw === 'number') {
    if (c.members) return c.members[raw - 1] ?? '';
    if (type === 'boolean') return raw !== 0;
    if (type === 'float') return floatValue(raw);
    // A negative number read from an unsigned column is its upper half (e.g. INT UNSIGNED 4294967295 stored as -1).
    return c.unsigned && raw < 0 ? raw + (INTEGER_RANGE[binlogType] ?? 0) : raw;
  }
  if (typeof raw === 'bigint') {
    if (c.members) return c.members.filter((_, i) => (raw >> BigInt(i)) & 1n).join(',');
    return (c.unsigned && raw < 0n ? raw + 2n ** 64n : raw).toString();
  }
  if (typeof raw === 'string') return raw;
  if (type === 'boolean') return raw[raw.length - 1] === 1;
  if (c.encoding === undefined) {
    if (c.binaryLength !== undefined && raw.length < c.binaryLength) return Buffer.concat([raw, Buffer.alloc(c.binaryLength - raw.length)]);
    return raw;
  }
  const text = raw.toString(c.encoding);
  if (type === 'json') {
    try {
      return parseJsonColumn(text);
    } catch {
      return text;
    }
  }
  return text;
}

/** The values an integer type of the binlog holds, for reading its unsigned columns. */
const INTEGER_RANGE: Record<number, number> = { [TYPE.TINY]: 2 ** 8, [TYPE.SHORT]: 2 ** 16, [TYPE.INT24]: 2 ** 24, [TYPE.LONG]: 2 ** 32 };

function fail(sync: Sync, message: string, permanent = true): ConnectorError {
  return new ConnectorError({ connector: 'mysql', role: 'source', syncId: sync.id, transient: !permanent, message });
}

function wrap(dialect: SqlDialect, sync: Sync, err: unknown): Error {
  return err instanceof ConfigError ? err : wrapSqlError(dialect, 'source', sync.id, err);
}
