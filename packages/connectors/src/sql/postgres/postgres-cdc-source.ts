import pg from 'pg';
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
  type RowEncoding,
  type Source,
  type Sync,
} from '@idra/core';
import { sqlSpec } from '../sql-spec.ts';
import { wrapSqlError } from '../sql-errors.ts';
import { CDC_OPTIONS, cdcNames } from './postgres-cdc-options.ts';
import { cursorText } from '../values.ts';
import { copyLag, keyRanges, transactionSpan, waitForLog, type SnapshotPart } from '../change-log.ts';
import type { DecodedColumn, SqlDialect } from '../dialect.ts';
import { columnOf, encodedLayout, poolConfig, textParser, toResult } from './postgres-driver.ts';
import { decodePgoutput, formatLsn, parseLsn, UNCHANGED, type Lsn, type RelationColumn, type TupleValue } from './pgoutput.ts';
import { ReplicationConnection } from './postgres-replication.ts';
import { changeLogProblems } from './postgres-cdc-check.ts';
import { copyOutRows } from './postgres-copy.ts';

/** The offset of a cdc sync on PostgreSQL (the value of its `stream` position). */
export interface PgCdcOffset {
  slot: string;
  /** The end of the last source transaction applied: the stream resumes after it. */
  lsn: string;
  /** While the initial copy runs: its key ranges, the rows copied and the rows the table was estimated to hold. */
  snapshot?: { parts: SnapshotPart[]; rows: number; total: number } | undefined;
}

/** What the log brings, queued in order until a read takes it. */
type Item =
  | { kind: 'row'; row: Row; update: boolean }
  | { kind: 'delete'; key: Row }
  | { kind: 'truncate' }
  | { kind: 'columns'; columns: Column[] }
  /** The end of a source transaction (or of a run of transactions that changed nothing of ours). */
  | { kind: 'commit'; lsn: Lsn; timeMs: number };

/** Above this many queued items the socket is paused until reads take them. */
const QUEUE_HIGH = 50_000;
const SLOT_NAME = /^[a-z0-9_]{1,63}$/;

function offsetOf(position: Position): PgCdcOffset | undefined {
  if (position.kind !== 'stream' || position.value === null || position.value === undefined) return undefined;
  return position.value as PgCdcOffset;
}

const at = (offset: PgCdcOffset): Position => ({ kind: 'stream', value: offset });

/**
 * A PostgreSQL table in mode `cdc`: the rows it holds, copied from the snapshot exported when the
 * sync's replication slot is created (in key ranges, in parallel, resumable), then every change
 * after that snapshot read from the slot with `pgoutput` — whole transactions, in commit order. The
 * slot is told a position only once the runner has committed it in the destination and the offset.
 */
export class PostgresCdcSource implements Source {
  private readonly dialect: SqlDialect;
  private readonly sync: Sync;
  private readonly options: CdcOptions;
  /** Every option of the endpoint (pool size, timeouts), for the connections this source opens. */
  private readonly endpointOptions: Record<string, unknown>;
  private readonly names: { slot: string; publication: string };
  private readonly pool: pg.Pool;
  private readonly table: { schema: string; name: string; sql: string };
  private readonly keys: string[];
  private readonly wanted: Set<string> | undefined;
  private columns: Column[];
  /** The server's type (OID) of each column of the table, for rows copied encoded. */
  private readonly natives: Map<string, string>;
  /** The initial copy hands rows on still encoded (binary COPY) when the destination stores them the same way. */
  private encoding: RowEncoding | undefined;
  /** The size of the last page read encoded, for the buffer of the next. */
  private pageBytes = 65_536;
  /** The key columns a page read encoded decodes: one list for the copy, so that its layout is made once. */
  private decodedKeys: DecodedColumn[] | undefined;

  private replication: ReplicationConnection | undefined;
  private readers: pg.Client[] = [];
  private queue: Item[] = [];
  /** Items of the source transaction being received. */
  private pending: Item[] = [];
  /** Whether queue items at the end belong to a transaction still being received (split for its size). */
  private partial = false;
  /** A read took part of a split transaction: the next ones take the rest, a batch at a time. */
  private midTransaction = false;
  /** The server's position when it last said it had sent everything before it, between transactions. */
  private idleLsn: Lsn = 0n;
  private relations = new Map<number, { schema: string; name: string; columns: RelationColumn[] }>();
  private streamError: Error | undefined;
  private wake: (() => void) | undefined;
  private paused = false;
  private snapshotStartedAt: { at: number; rows: number } | undefined;
  private oldestQueuedMs: number | undefined;

  private constructor(
    dialect: SqlDialect,
    ctx: EndpointContext,
    endpointOptions: Record<string, unknown>,
    pool: pg.Pool,
    table: PostgresCdcSource['table'],
    columns: Column[],
    natives: string[],
  ) {
    this.dialect = dialect;
    this.sync = ctx.sync;
    this.options = resolveOptions(CDC_OPTIONS, ctx.endpoint.options);
    this.endpointOptions = endpointOptions;
    this.names = cdcNames(ctx.sync);
    this.pool = pool;
    this.table = table;
    this.keys = ctx.sync.keyColumns;
    this.wanted = ctx.endpoint.columns ? new Set([...ctx.endpoint.columns, ...this.keys]) : undefined;
    this.columns = this.selected(columns);
    this.natives = new Map(columns.map((c, i) => [c.name, natives[i]!]));
  }

  /** Checks the server, the table and its replica identity, and makes sure the publication holds the table. */
  static async open(dialect: SqlDialect, ctx: EndpointContext): Promise<PostgresCdcSource> {
    const options = readEndpoint(sqlSpec(dialect), ctx);
    const { sync, endpoint } = ctx;
    const names = cdcNames(sync);
    const issues = [];
    if (endpoint.query !== undefined) issues.push({ path: 'source.query', message: "mode 'cdc' follows a table: give source.table, not a query" });
    for (const [option, name] of Object.entries(names)) {
      if (!SLOT_NAME.test(name))
        issues.push({ path: `source.options.${option}`, message: `'${name}' is not a valid name: use 1 to 63 lower-case letters, digits and _` });
    }
    if (issues.length > 0) throw new ConfigError(issues, `invalid cdc source of sync '${sync.id}'`);
    const pool = new pg.Pool({ ...poolConfig(endpoint.connection, options), max: 2 });
    // A client whose connection breaks emits 'error' besides failing its query; unheard, it would end the process.
    pool.on('connect', (client) => client.on('error', () => {}));
    pool.on('error', () => {});
    try {
      const q = async <R extends pg.QueryResultRow>(text: string, values: unknown[] = []) => (await pool.query<R>(text, values)).rows;
      // A slot we already hold counts as one in use: only the settings matter once the sync has one.
      const problems = (await changeLogProblems(q)).filter((p) => p.need !== 'slots');
      if (problems.length > 0) throw fail(sync, `mode 'cdc' cannot read the change log: ${problems.map((p) => p.message).join('; ')}`);
      const schema = endpoint.schema ?? 'public';
      const [rel] = await q<{ oid: number; ident: string; key: string[] | null }>(
        `select c.oid::int as oid, c.relreplident as ident,
           (select to_jsonb(array_agg(a.attname::text order by a.attnum)) from pg_index i join pg_attribute a on a.attrelid = i.indrelid and a.attnum = any(i.indkey)
             where i.indrelid = c.oid and ((c.relreplident = 'd' and i.indisprimary) or (c.relreplident = 'i' and i.indisreplident))) as key
         from pg_class c join pg_namespace n on n.oid = c.relnamespace where n.nspname = $1 and c.relname = $2 and c.relkind in ('r', 'p')`,
        [schema, endpoint.table],
      );
      if (!rel) throw fail(sync, `table ${schema}.${endpoint.table} not found (mode 'cdc' reads a table, not a view)`, false);
      const identity = rel.ident === 'f' ? undefined : (rel.key ?? []);
      if (identity !== undefined && (identity.length === 0 || !sync.keyColumns.every((k) => identity.includes(k)))) {
        const table = `${pg.escapeIdentifier(schema)}.${pg.escapeIdentifier(endpoint.table!)}`;
        throw new ConfigError(
          [
            {
              path: 'keyColumns',
              message:
                identity.length === 0
                  ? `the table ${schema}.${endpoint.table} has no replica identity (no primary key): its deletes would not name their row; run ALTER TABLE ${table} REPLICA IDENTITY FULL or add a primary key`
                  : `(${sync.keyColumns.join(', ')}) are not all in the replica identity of ${schema}.${endpoint.table} (${identity.join(', ')}), which deletes name their row by: use those, or ALTER TABLE ${table} REPLICA IDENTITY FULL`,
            },
          ],
          `invalid cdc source of sync '${sync.id}'`,
        );
      }
      const table = { schema, name: endpoint.table!, sql: `${pg.escapeIdentifier(schema)}.${pg.escapeIdentifier(endpoint.table!)}` };
      await ensurePublication(pool, sync, names.publication, table, endpoint.options?.publication === undefined);
      const { columns, native } = toResult(await pool.query(`select * from ${table.sql} limit 0`));
      const missing = sync.keyColumns.filter((k) => !columns.some((c) => c.name === k));
      if (missing.length > 0)
        throw new ConfigError([{ path: 'keyColumns', message: `column(s) ${missing.join(', ')} not found in ${schema}.${endpoint.table}` }]);
      return new PostgresCdcSource(dialect, ctx, options, pool, table, columns, native ?? []);
    } catch (err) {
      await pool.end().catch(() => {});
      throw wrap(dialect, sync, err);
    }
  }

  async read(position: Position, limit: number, signal: AbortSignal): Promise<Batch> {
    try {
      const offset = offsetOf(position);
      if (!offset) return await this.begin(limit);
      if (offset.snapshot) return await this.copy(offset, limit);
      return await this.follow(position, offset, limit, signal);
    } catch (err) {
      throw wrap(this.dialect, this.sync, err);
    }
  }

  /** No offset yet: a new slot, and the first page of the copy of its snapshot (or nothing, with `snapshot: never`). */
  private async begin(limit: number): Promise<Batch> {
    await this.dropSlot();
    this.replication = await ReplicationConnection.open(this.sync.source.connection, this.endpointOptions);
    const { lsn, snapshot } = await this.replication.createSlot(this.names.slot);
    const offset: PgCdcOffset = { slot: this.names.slot, lsn: formatLsn(lsn) };
    if (this.options.snapshot === 'never') return { columns: this.columns, rows: [], position: at(offset) };
    await this.openReaders(snapshot);
    const [estimate] = (
      await this.readers[0]!.query<{ n: number }>('select greatest(reltuples, 0)::float8 as n from pg_class where oid = $1::regclass', [this.table.sql])
    ).rows;
    const total = Math.round(estimate?.n ?? 0);
    offset.snapshot = { parts: await this.split(total), rows: 0, total };
    return this.copy(offset, limit);
  }

  /**
   * Readers of the snapshot, one per range. The exported snapshot when the slot was just made; after
   * a restart it is gone, and the ranges left are read from a newer snapshot: the stream, which starts
   * at the slot's position, then replays every change since, so each row ends as the source has it.
   */
  private async openReaders(snapshot: string | undefined): Promise<void> {
    const count = this.options.snapshotParallelism;
    const config = poolConfig(this.sync.source.connection, this.endpointOptions);
    // The snapshot's transactions wait while batches are written: no idle timeout may end them.
    config.options = '-c TimeZone=UTC -c DateStyle=ISO -c idle_in_transaction_session_timeout=0';
    for (let i = 0; i < count; i++) {
      const client = new pg.Client(config);
      client.on('error', () => {});
      this.readers.push(client);
      await client.connect();
      await client.query('begin isolation level repeatable read read only');
      if (snapshot) await client.query(`set transaction snapshot ${pg.escapeLiteral(snapshot)}`);
    }
    this.snapshotStartedAt = undefined;
  }

  /** Key ranges of about equal size, cut at keys of the snapshot. */
  private async split(total: number): Promise<SnapshotPart[]> {
    const keys = this.keys.map((k) => pg.escapeIdentifier(k)).join(', ');
    return keyRanges(total, this.options.snapshotParallelism, async (rows) => {
      const res = await this.readers[0]!.query({
        text: `select ${keys} from ${this.table.sql} order by ${keys} offset $1 limit 1`,
        values: [rows],
        rowMode: 'array',
      });
      return res.rows[0] as unknown[] | undefined;
    });
  }

  /** The next rows of each unfinished range, read in parallel; the stream follows once every range is done. */
  private async copy(offset: PgCdcOffset, limit: number): Promise<Batch> {
    const snapshot = offset.snapshot!;
    if (this.readers.length === 0) {
      // A copy resumed after a restart: the stream that follows it needs the slot.
      await this.slotState(offset);
      await this.openReaders(undefined);
    }
    const open = snapshot.parts.map((part, i) => ({ part, i })).filter(({ part }) => !part.done);
    const page = Math.max(1, Math.ceil(limit / Math.max(1, open.length)));
    const pages = await Promise.all(open.map(async ({ part, i }) => ({ i, rows: await this.readPage(this.readers[i % this.readers.length]!, part, page) })));
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
    if (parts.every((p) => p.done)) {
      await this.closeReaders();
      return { columns: this.columns, rows, position: at({ slot: offset.slot, lsn: offset.lsn }), encoding: this.encoding, keyOrdered: true };
    }
    // Each range is read in key order, and the ranges follow one another: the batch is in key order.
    return {
      columns: this.columns,
      rows,
      position: at({ ...offset, snapshot: { parts, rows: copied, total: Math.max(snapshot.total, copied) } }),
      encoding: this.encoding,
      keyOrdered: true,
    };
  }

  /**
   * The next rows of a range in key order, as the sync's columns; still encoded (binary COPY, only the
   * keys decoded) when the destination stores them as they are. The bounds are literals: COPY takes
   * no parameters, and the comparison with the key columns gives them their types.
   */
  private async readPage(reader: pg.Client, part: SnapshotPart, page: number): Promise<Row[]> {
    const keys = this.keys.map((k) => pg.escapeIdentifier(k)).join(', ');
    const tuple = (bound: string[]) => `(${bound.map((v) => pg.escapeLiteral(v)).join(', ')})`;
    const where = [part.after && `(${keys}) > ${tuple(part.after)}`, part.to && `(${keys}) <= ${tuple(part.to)}`].filter(Boolean);
    const list = this.columns.map((c) => pg.escapeIdentifier(c.name));
    const from = `from ${this.table.sql}${where.length ? ` where ${where.join(' and ')}` : ''} order by ${keys} limit ${page}`;
    if (!this.encoding) return (await reader.query(`select ${list.join(', ')} ${from}`)).rows as Row[];
    const names = this.columns.map((c) => c.name);
    this.decodedKeys ??= this.keys.map((k) => ({ name: k, native: this.natives.get(k)!, field: names.indexOf(k) }));
    const layout = encodedLayout(list.length, this.decodedKeys);
    const keyText = layout.extra.map((d, i) => `${pg.escapeIdentifier(d.name)}::text as idra_decoded_${i}`);
    const copy = `copy (select ${[...list, ...keyText].join(', ')} ${from}) to stdout (format binary)`;
    const { rows, bytes } = await copyOutRows(reader, copy, this.pageBytes, layout);
    // The next page is about as large: its buffer is sized once.
    this.pageBytes = bytes + (bytes >> 3);
    return rows;
  }

  encodings(): RowEncoding | undefined {
    const { encoded } = this.dialect;
    const names = this.columns.map((c) => c.name);
    const native = names.map((name) => this.natives.get(name));
    if (!encoded || !native.every((n): n is string => n !== undefined)) return undefined;
    return { format: encoded.format, columns: this.columns, native, decode: (row) => encoded.decode(row, names, native) };
  }

  /** The initial copy reads in `encoding` from now on; the stream's changes arrive as text and stay decoded. */
  readEncoded(encoding: RowEncoding): void {
    this.encoding = encoding;
    this.decodedKeys = undefined;
  }

  /** Changes after the offset: whole transactions of the slot, as many as fit in `limit` rows, waiting up to pollIntervalMs for the first. */
  private async follow(position: Position, offset: PgCdcOffset, limit: number, signal: AbortSignal): Promise<Batch> {
    if (!this.replication?.streaming) await this.startStream(offset);
    await waitForLog(
      () => this.ready(offset),
      this.sync.pollIntervalMs,
      signal,
      (wake) => (this.wake = wake),
    );
    if (this.streamError && this.queue.length === 0) throw this.streamError;
    return this.take(position, offset, limit);
  }

  /** Something a read can return: a whole transaction, a piece of a large one, or a failure. */
  private ready(offset: PgCdcOffset): boolean {
    if (this.streamError !== undefined || this.queue.some((item) => item.kind === 'commit')) return true;
    if ((this.partial || this.midTransaction) && this.queue.length > 0) return true;
    return this.queue.length === 0 && this.pending.length === 0 && this.idleLsn > parseLsn(offset.lsn);
  }

  /** Takes whole transactions off the queue (or a piece of one too large to wait for) as a batch; `position` itself when the log did not move (nothing to commit). */
  private take(position: Position, offset: PgCdcOffset, limit: number): Batch {
    const rows: Row[] = [];
    const changes: Change[] = [];
    let updates = 0;
    // The runner finds schema changes by comparing a batch's columns with the last ones: a batch that
    // spans a change carries the columns of both sides (its earlier rows are typed too).
    let columns = this.columns;
    let changed = false;
    const seen = new Map(columns.map((c) => [c.name, c]));
    let lsn = parseLsn(offset.lsn);
    const apply = (item: Item) => {
      if (item.kind === 'row') {
        rows.push(item.row);
        if (item.update) updates++;
      } else if (item.kind === 'delete') changes.push({ kind: 'delete', at: rows.length, key: item.key });
      else if (item.kind === 'truncate') changes.push({ kind: 'truncate', at: rows.length });
      else if (item.kind === 'columns' && JSON.stringify(item.columns) !== JSON.stringify(columns)) {
        columns = item.columns;
        changed = true;
        for (const c of columns) seen.set(c.name, c);
      }
    };
    // The offset stays before a transaction split for its size until the piece that ends it.
    const { end, midTransaction } = transactionSpan(this.queue, limit, {
      partial: this.partial,
      midTransaction: this.midTransaction,
      maxTransactionRows: this.options.maxTransactionRows,
    });
    this.midTransaction = midTransaction;
    for (const item of this.queue.splice(0, end)) {
      if (item.kind === 'commit') lsn = item.lsn;
      else apply(item);
    }
    // Nothing of ours is on the way: the offset may move to where the server has read.
    if (this.queue.length === 0 && this.pending.length === 0 && !this.partial && !this.midTransaction && this.idleLsn > lsn) lsn = this.idleLsn;
    this.oldestQueuedMs = this.queue.find((item) => item.kind === 'commit')?.timeMs;
    if (this.paused && this.queue.length < QUEUE_HIGH / 2) {
      this.paused = false;
      this.replication?.pause(false);
    }
    if (columns !== this.columns) this.decodedKeys = undefined;
    this.columns = columns;
    const moved = lsn !== parseLsn(offset.lsn);
    const batchColumns = changed ? [...seen.values()] : columns;
    return { columns: batchColumns, rows, changes, updates, position: moved ? at({ slot: offset.slot, lsn: formatLsn(lsn) }) : position };
  }

  /** Starts the slot's stream after the offset, once the slot is found able to resume there. */
  private async startStream(offset: PgCdcOffset): Promise<void> {
    const slot = await this.slotState(offset);
    // Held by an agent that lost the sync (killed, frozen, cut off): we hold its lock now.
    if (slot.pid !== null) await this.pool.query('select pg_terminate_backend($1)', [slot.pid]);
    this.replication ??= await ReplicationConnection.open(this.sync.source.connection, this.endpointOptions);
    this.replication.start(offset.slot, this.names.publication, parseLsn(offset.lsn), {
      message: (payload) => this.receive(payload),
      keepalive: (walEnd) => {
        if (this.pending.length === 0 && !this.partial) {
          this.idleLsn = walEnd;
          this.wake?.();
        }
      },
      end: (err) => {
        this.streamError = err ?? new Error('the server ended the replication stream');
        this.wake?.();
      },
    });
  }

  /** The sync's slot, checked to be there and not ahead of the offset (which would skip changes). */
  private async slotState(offset: PgCdcOffset): Promise<{ pid: number | null }> {
    const [slot] = (
      await this.pool.query<{ confirmed: string | null; pid: number | null }>(
        'select confirmed_flush_lsn::text as confirmed, active_pid as pid from pg_replication_slots where slot_name = $1 and database = current_database()',
        [offset.slot],
      )
    ).rows;
    if (!slot) {
      throw fail(
        this.sync,
        `the replication slot ${offset.slot} is gone: the changes after ${offset.lsn} cannot be read; reset the offset to copy the table again`,
      );
    }
    if (slot.confirmed && parseLsn(slot.confirmed) > parseLsn(offset.lsn)) {
      // The server keeps no changes before the slot's position: resuming there would skip them.
      throw fail(
        this.sync,
        `the stored offset (${offset.lsn}) is behind the replication slot ${offset.slot} (${slot.confirmed}): the changes in between are gone; reset the offset to copy the table again`,
      );
    }
    return slot;
  }

  private receive(payload: Buffer): void {
    const m = decodePgoutput(payload);
    switch (m.tag) {
      case 'relation':
        this.relations.set(m.relationId, m);
        if (this.isOurs(m.relationId))
          this.pending.push({ kind: 'columns', columns: this.selected(m.columns.map((c) => columnOf(c.name, c.typeOid, c.typeMod))) });
        return;
      case 'insert':
        if (this.isOurs(m.relationId)) this.pending.push({ kind: 'row', row: this.rowOf(m.relationId, m.row), update: false });
        break;
      case 'update': {
        if (!this.isOurs(m.relationId)) return;
        const row = this.rowOf(m.relationId, m.row);
        if (m.old) {
          const oldKey = this.keyOf(m.relationId, m.old);
          // A changed key: the row under the old one is gone.
          if (this.keys.some((k) => cursorText(oldKey[k]) !== cursorText(row[k]))) this.pending.push({ kind: 'delete', key: oldKey });
        }
        this.pending.push({ kind: 'row', row, update: true });
        break;
      }
      case 'delete':
        if (this.isOurs(m.relationId)) this.pending.push({ kind: 'delete', key: this.keyOf(m.relationId, m.old) });
        break;
      case 'truncate':
        if (this.options.truncate === 'apply' && m.relationIds.some((id) => this.isOurs(id))) this.pending.push({ kind: 'truncate' });
        break;
      case 'commit': {
        const last = this.queue[this.queue.length - 1];
        if (this.pending.length === 0 && !this.partial && last?.kind === 'commit') {
          // Nothing of ours: the position moves on without another queue entry.
          last.lsn = m.endLsn;
        } else {
          for (const item of this.pending) this.queue.push(item);
          this.queue.push({ kind: 'commit', lsn: m.endLsn, timeMs: m.commitTimeMs });
          this.oldestQueuedMs ??= m.commitTimeMs;
        }
        this.pending = [];
        this.partial = false;
        this.wake?.();
        break;
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
      this.replication?.pause(true);
    }
  }

  private isOurs(relationId: number): boolean {
    const rel = this.relations.get(relationId);
    return rel !== undefined && rel.schema === this.table.schema && rel.name === this.table.name;
  }

  private selected(columns: Column[]): Column[] {
    return this.wanted ? columns.filter((c) => this.wanted!.has(c.name)) : columns;
  }

  /** A tuple as a row; a TOASTed value the update left unchanged is left out, so the destination keeps its own. */
  private rowOf(relationId: number, tuple: TupleValue[]): Row {
    const row: Row = {};
    const columns = this.relations.get(relationId)!.columns;
    for (let i = 0; i < columns.length; i++) {
      const c = columns[i]!;
      const v = tuple[i];
      if (v === UNCHANGED || v === undefined || (this.wanted && !this.wanted.has(c.name))) continue;
      row[c.name] = v === null ? null : textParser(c.typeOid)(v);
    }
    return row;
  }

  private keyOf(relationId: number, tuple: TupleValue[]): Row {
    const row = this.rowOf(relationId, tuple);
    return Object.fromEntries(this.keys.map((k) => [k, row[k]]));
  }

  /** The runner committed `position` in the destination and the offset: the slot may move there. */
  async committed(position: Position): Promise<void> {
    const offset = offsetOf(position);
    if (offset && !offset.snapshot && this.replication?.streaming) this.replication.confirm(parseLsn(offset.lsn));
  }

  async lag(position: Position): Promise<Lag | undefined> {
    const offset = offsetOf(position);
    const [now] = (await this.pool.query<{ lsn: string }>('select pg_current_wal_lsn()::text as lsn')).rows;
    const head = now!.lsn;
    if (!offset) return { head };
    const bytes = Math.max(0, Number(parseLsn(head) - parseLsn(offset.lsn)));
    if (offset.snapshot) return copyLag(head, bytes, offset.snapshot, this.snapshotStartedAt);
    const seconds = this.oldestQueuedMs === undefined ? 0 : Math.max(0, (Date.now() - this.oldestQueuedMs) / 1000);
    return { head, bytes, seconds };
  }

  /** Drops the sync's slot, ending the session that holds it (an agent that lost the sync). */
  private async dropSlot(): Promise<void> {
    await dropReplicationSlot(this.pool, this.names.slot);
  }

  private async closeReaders(): Promise<void> {
    const readers = this.readers;
    this.readers = [];
    await Promise.all(readers.map((r) => r.end().catch(() => {})));
  }

  async close(): Promise<void> {
    await this.closeReaders();
    await this.replication?.close();
    await this.pool.end().catch(() => {});
  }
}

type CdcOptions = ResolvedOptions<typeof CDC_OPTIONS>;

/** Drops a slot if it exists, ending the session that holds it first. */
export async function dropReplicationSlot(pool: pg.Pool | pg.Client, slot: string): Promise<boolean> {
  for (let attempt = 0; ; attempt++) {
    const [row] = (await pool.query<{ pid: number | null }>('select active_pid as pid from pg_replication_slots where slot_name = $1', [slot])).rows;
    if (!row) return false;
    if (row.pid !== null) await pool.query('select pg_terminate_backend($1)', [row.pid]);
    try {
      await pool.query('select pg_drop_replication_slot($1)', [slot]);
      return true;
    } catch (err) {
      // 55006: still active (its walsender is on its way out).
      if ((err as { code?: string }).code !== '55006' || attempt >= 50) throw err;
      await new Promise((r) => setTimeout(r, 100));
    }
  }
}

/** Creates the sync's own publication of the table, or checks that a named one holds it. */
async function ensurePublication(
  pool: pg.Pool,
  sync: Sync,
  publication: string,
  table: { schema: string; name: string; sql: string },
  ours: boolean,
): Promise<void> {
  const [found] = (
    await pool.query<{ holds: boolean }>(
      'select exists (select 1 from pg_publication_tables where pubname = $1 and schemaname = $2 and tablename = $3) as holds from pg_publication where pubname = $1',
      [publication, table.schema, table.name],
    )
  ).rows;
  if (found?.holds) return;
  if (!ours) {
    throw new ConfigError(
      [
        {
          path: 'source.options.publication',
          message: found ? `the publication ${publication} does not include ${table.schema}.${table.name}` : `the publication ${publication} does not exist`,
        },
      ],
      `invalid cdc source of sync '${sync.id}'`,
    );
  }
  const name = pg.escapeIdentifier(publication);
  try {
    await pool.query(found ? `alter publication ${name} add table ${table.sql}` : `create publication ${name} for table ${table.sql}`);
  } catch (err) {
    // Another agent made it meanwhile (a handover): fine when it holds the table now.
    if ((err as { code?: string }).code !== '42710') throw err;
  }
}

function fail(sync: Sync, message: string, permanent = true): ConnectorError {
  return new ConnectorError({ connector: 'postgres', role: 'source', syncId: sync.id, transient: !permanent, message });
}

function wrap(dialect: SqlDialect, sync: Sync, err: unknown): Error {
  return err instanceof ConfigError ? err : wrapSqlError(dialect, 'source', sync.id, err);
}

/** Drops a deleted cdc sync's replication slot, and its publication when Idra made it (no `publication` option). */
export async function releaseChangeLog(sync: Sync): Promise<string[]> {
  const client = new pg.Client(poolConfig(sync.source.connection, sync.source.options));
  client.on('error', () => {});
  await client.connect();
  try {
    const { slot, publication } = cdcNames(sync);
    const released: string[] = [];
    if (await dropReplicationSlot(client, slot)) released.push(`replication slot ${slot}`);
    if (sync.source.options?.publication === undefined) {
      const { rowCount } = await client.query('select 1 from pg_publication where pubname = $1', [publication]);
      if (rowCount) {
        await client.query(`drop publication ${pg.escapeIdentifier(publication)}`);
        released.push(`publication ${publication}`);
      }
    }
    return released;
  } finally {
    await client.end().catch(() => {});
  }
}
