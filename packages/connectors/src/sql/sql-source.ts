import { sql, type Expression, type ExpressionBuilder, type RawBuilder, type SqlBool } from 'kysely';
import {
  modeInfo,
  orderColumns,
  readEndpoint,
  sleep,
  type Batch,
  type Column,
  type CopyRange,
  type EndpointContext,
  type KeyLister,
  type Lag,
  type LogicalType,
  type Position,
  type Row,
  type RowEncoding,
  type Source,
  type Sync,
  type ResolvedEndpoint,
} from '@idra/core';
import type { DecodedColumn, SqlDialect, SqlPool } from './dialect.ts';
import { sqlSpec } from './sql-spec.ts';
import { selectFromEndpoint } from './table-ref.ts';
import { cursorText } from './values.ts';
import { wrapSqlError } from './sql-errors.ts';
import { Watermark, refuseBlindReads, type ReadLimit } from './watermark.ts';
import { keysetAfter, sqlKeyLister } from './sql-keys.ts';
import { keyRanges } from './change-log.ts';

/** Which kind of watermark bounds the reads of a mode (none for full passes and streams). */
function watermarkKind(sync: Sync): 'id' | 'timestamp' | undefined {
  const mode = modeInfo(sync.mode);
  return mode.cursor ? (mode.timestamp ? 'timestamp' : 'id') : undefined;
}

function positionValues(position: Position): unknown[] | undefined {
  switch (position.kind) {
    case 'id':
      return position.value === null ? undefined : [position.value];
    case 'timestamp':
      return position.value === null ? undefined : [position.value, position.tiebreaker];
    case 'full':
      return position.value.after ?? undefined;
    case 'stream':
      return undefined;
  }
}

function nextPosition(position: Position, order: string[], last: Row): Position {
  switch (position.kind) {
    case 'id':
      return { kind: 'id', value: cursorText(last[order[0]!]) };
    case 'timestamp':
      return { kind: 'timestamp', value: cursorText(last[order[0]!]), tiebreaker: cursorText(last[order[1]!]) };
    case 'full':
      return { kind: 'full', value: { run: position.value.run, after: order.map((c) => cursorText(last[c]) ?? '') } };
    case 'stream':
      return position;
  }
}

function sameColumns(a: readonly Column[], b: readonly Column[]): boolean {
  return (
    a.length === b.length && a.every((c, i) => c.name === b[i]!.name && c.type === b[i]!.type && c.precision === b[i]!.precision && c.scale === b[i]!.scale)
  );
}

/** Reads a table or query of any SQL dialect in keyset order after a position. */
export class SqlSource implements Source {
  private readonly dialect: SqlDialect;
  private readonly pool: SqlPool;
  private readonly sync: Sync;
  private readonly endpoint: ResolvedEndpoint;
  private readonly order: string[];
  private types: Map<string, LogicalType>;
  /** The columns read, as the last result described them: the same array while they stay the same, so that comparing them costs nothing. */
  private columns: Column[];
  private readonly watermark: Watermark | undefined;
  /** The last read returned fewer rows than asked for: it reached the watermark. */
  private caughtUp = true;
  /** The database's own type of each column, when the dialect reads rows encoded. */
  private readonly natives: Map<string, string> | undefined;
  /** Reads return rows in this encoding ({@link readEncoded}), bound with `bind`. */
  private encoding: RowEncoding | undefined;
  private bind: ((index: number, native: string) => unknown) | undefined;
  /** The columns an encoded read decodes: one list while the encoding holds, so that the dialect can keep what it derives from it. */
  private decoded: DecodedColumn[] | undefined;
  /** The watermark held every row back when a pass was to be cut: the read that follows reports it and reads nothing. */
  private heldForCut: ReadLimit | undefined;

  private constructor(dialect: SqlDialect, pool: SqlPool, ctx: EndpointContext, columns: Column[], natives: Map<string, string> | undefined) {
    this.dialect = dialect;
    this.pool = pool;
    this.sync = ctx.sync;
    this.endpoint = ctx.endpoint;
    this.order = orderColumns(ctx.sync);
    this.columns = columns;
    this.types = new Map(columns.map((c) => [c.name, c.type]));
    const kind = watermarkKind(ctx.sync);
    this.watermark = kind && new Watermark(kind, ctx.sync.delayMs);
    this.natives = natives;
  }

  /** Connects and checks that the table/query and the cursor columns exist. */
  static async open(dialect: SqlDialect, ctx: EndpointContext): Promise<SqlSource> {
    const syncId = ctx.sync.id;
    const options = readEndpoint(sqlSpec(dialect), ctx);
    let pool: SqlPool | undefined;
    try {
      pool = await dialect.connect(ctx.endpoint.connection, { ...options, role: 'source', syncId });
      let probe = selectFromEndpoint(dialect.db, ctx.endpoint).selectAll();
      probe = dialect.limitStyle === 'top' ? probe.top(0) : probe.limit(0);
      const { columns, native } = await pool.execute(probe.compile());
      const known = new Set(columns.map((c) => c.name));
      const missing = [...orderColumns(ctx.sync), ...(ctx.endpoint.columns ?? [])].filter((c) => !known.has(c));
      if (missing.length > 0) throw new Error(`column(s) ${missing.join(', ')} not found in the source (it has ${[...known].join(', ')})`);
      // A sync that would read blind fails here, before anything is written.
      if (watermarkKind(ctx.sync)) refuseBlindReads(await dialect.watermark(pool, { delayMs: ctx.sync.delayMs }), ctx.sync, dialect.name);
      const wanted = ctx.endpoint.columns ? new Set([...ctx.endpoint.columns, ...orderColumns(ctx.sync)]) : undefined;
      const natives = native && new Map(columns.map((c, i) => [c.name, native[i]!]));
      return new SqlSource(dialect, pool, ctx, wanted ? columns.filter((c) => wanted.has(c.name)) : columns, natives);
    } catch (err) {
      await pool?.close().catch(() => {});
      throw wrapSqlError(dialect, 'source', syncId, err);
    }
  }

  private param(column: string, value: unknown): unknown {
    return this.dialect.toParameter(value, this.types.get(column));
  }

  /**
   * Asks the database, in a statement run before the read, what may still commit behind the cursor.
   * Not in the read itself: its snapshot would be taken before the open transactions are listed, and
   * a transaction committing in between would be neither listed nor seen.
   */
  private async limit(signal: AbortSignal): Promise<ReadLimit | undefined> {
    if (!this.watermark) return undefined;
    const cursor = this.order[0]!;
    const maxCursor =
      watermarkKind(this.sync) === 'id' ? selectFromEndpoint(this.dialect.db, this.endpoint).select((eb) => eb.fn.max(cursor).as('m')) : undefined;
    const watermark = this.watermark;
    const observe = async (fresh: boolean) => {
      const view = await this.dialect.watermark(this.pool, { delayMs: this.sync.delayMs, maxCursor, fresh }, signal);
      // A privilege revoked while the sync runs stops it as it would have at the start.
      refuseBlindReads(view, this.sync, this.dialect.name);
      return watermark.next(view);
    };
    // A stale list keeps the previous limit: fine while rows below it remain, but once the reads have
    // reached it (or there is none yet) wait for a fresh list rather than read nothing.
    let limit = await observe(!watermark.limited || this.caughtUp);
    for (let attempt = 0; limit.staleRetryMs !== undefined && (limit.hold || this.caughtUp) && attempt < 3 && !signal.aborted; attempt++) {
      await sleep(limit.staleRetryMs, signal);
      limit = await observe(true);
    }
    return limit;
  }

  async read(position: Position, limit: number, signal: AbortSignal, upTo?: string[]): Promise<Batch> {
    const { dialect, order, sync } = this;
    let rows: Row[];
    let bound: ReadLimit | undefined;
    try {
      // A bounded range was cut below the watermark: its rows are final.
      bound = upTo ? undefined : (this.heldForCut ?? (await this.limit(signal)));
      this.heldForCut = undefined;
      const status = { heldBack: bound?.heldBack, blockedBy: bound?.blockedBy, watermark: bound?.value, warning: bound?.warning };
      if (bound?.hold) return { columns: this.columns, rows: [], position, ...status };
      if (this.encoding) {
        rows = await this.readEncodedRows(position, limit, bound?.value, upTo, signal);
        if (rows.length > 0 && !this.endpoint.columns && (await this.columnsChanged(signal))) {
          // Rows read encoded lack the new columns: read again decoded, and from now on (the next cycle offers encoding again).
          this.encoding = undefined;
          return await this.read(position, limit, signal, upTo);
        }
      } else {
        const result = await this.pool.execute(
          this.readQuery(position, limit, bound?.value, upTo, (column, value) => this.param(column, value)).compile(),
          signal,
        );
        rows = result.rows;
        if (!this.endpoint.columns) this.noticeColumns(result.columns);
      }
      if (!upTo) this.caughtUp = rows.length < limit;
    } catch (err) {
      throw wrapSqlError(dialect, 'source', sync.id, err);
    }
    const last = rows[rows.length - 1];
    return {
      columns: this.columns,
      rows,
      position: last ? nextPosition(position, order, last) : position,
      heldBack: bound?.heldBack,
      blockedBy: bound?.blockedBy,
      watermark: bound?.value,
      warning: bound?.warning,
      encoding: this.encoding,
    };
  }

  encodings(): RowEncoding | undefined {
    const { encoded } = this.dialect;
    const natives = this.natives;
    if (!encoded || !natives) return undefined;
    const names = this.columns.map((c) => c.name);
    const native = names.map((name) => natives.get(name)!);
    return { format: encoded.format, columns: this.columns, native, decode: (row) => encoded.decode(row, names, native) };
  }

  readEncoded(encoding: RowEncoding): void {
    this.encoding = encoding;
    this.bind = undefined;
    this.decoded = undefined;
  }

  /** A read of rows still encoded: only the columns the reads page by, the sync's keys and its soft-delete mark are decoded. */
  private async readEncodedRows(
    position: Position,
    limit: number,
    watermark: string | undefined,
    upTo: string[] | undefined,
    signal: AbortSignal,
  ): Promise<Row[]> {
    const encoded = this.dialect.encoded!;
    const natives = this.natives!;
    const { keyColumns, softDeleteColumn } = this.sync;
    this.decoded ??= [...new Set([...this.order, ...keyColumns, ...(softDeleteColumn ? [softDeleteColumn] : [])])]
      .filter((c) => natives.has(c))
      .map((name) => ({ name, native: natives.get(name)!, field: this.columns.findIndex((c) => c.name === name) }));
    this.bind ??= await encoded.binder(
      this.pool,
      this.order.map((c) => natives.get(c)!),
      signal,
    );
    const bind = this.bind;
    const values: unknown[] = [];
    // The limit is a literal too: the read takes no parameters.
    const query = this.readQuery(position, sql.lit(limit), watermark, upTo, (column, value) => {
      values.push(this.param(column, value));
      return bind(values.length - 1, natives.get(column)!);
    });
    return encoded.read(this.pool, query, values, this.decoded, signal);
  }

  /** Takes the columns a read described when they differ from the last ones (a column added, dropped or retyped at the source). */
  private noticeColumns(described: Column[]): void {
    if (sameColumns(described, this.columns)) return;
    this.columns = described;
    this.types = new Map(described.map((c) => [c.name, c.type]));
  }

  /**
   * Whether the table's columns differ from those read encoded, asked after the read (an encoded read
   * names its columns, so it cannot see a new one): a change committed before the read shows here.
   */
  private async columnsChanged(signal: AbortSignal): Promise<boolean> {
    const probe = selectFromEndpoint(this.dialect.db, this.endpoint).selectAll();
    const { columns } = await this.pool.execute((this.dialect.limitStyle === 'top' ? probe.top(0) : probe.limit(0)).compile(), signal);
    return !sameColumns(columns, this.columns);
  }

  /** Rows after the position in keyset order, below the watermark when there is one; `bind` makes each value an operand. */
  private readQuery(
    position: Position,
    limit: number | RawBuilder<number>,
    watermark: string | undefined,
    upTo: string[] | undefined,
    bind: (column: string, value: unknown) => unknown,
  ) {
    const { dialect, order } = this;
    const values = positionValues(position);
    // Every column unless some are listed (or rows pass encoded, in the column order agreed): a column added at the source shows in the next read.
    const from = selectFromEndpoint(dialect.db, this.endpoint);
    let q = this.endpoint.columns || this.encoding ? from.select(this.columns.map((c) => c.name)) : from.selectAll();
    // Rows whose cursor is NULL can never be resumed after; they are not read.
    for (const col of order) q = q.where(col, 'is not', null);
    if (values) {
      const bound = values.map((v, i) => bind(order[i]!, v));
      q = q.where((eb) => keysetAfter(eb, order, bound));
    }
    if (watermark !== undefined) {
      // Ids up to the watermark are final; timestamps equal to it may still be written.
      q = q.where(order[0]!, position.kind === 'id' ? '<=' : '<', bind(order[0]!, watermark));
    }
    if (upTo) {
      const bound = upTo.map((v, i) => bind(order[i]!, v));
      // The leading column's bound lets the database stop its index range there (a NOT of the keyset alone does not).
      q = q.where(order[0]!, '<=', bound[0]).where((eb) => eb.not(keysetAfter(eb, order, bound)));
    }
    for (const col of order) q = q.orderBy(col, 'asc');
    return dialect.limitStyle === 'top' && typeof limit === 'number' ? q.top(limit) : q.limit(limit);
  }

  /**
   * Key ranges of about equal size over the rows a pass from the start reads: cut at rows found by
   * their rank in key order, the last one ending at the last row, all below the watermark in a cursor
   * mode (rows up to a cut are final then).
   * None on SQL Server (its paging differs), for too few rows, or while the watermark holds the reads.
   */
  async copyRanges(position: Position, count: number, signal: AbortSignal): Promise<CopyRange[] | undefined> {
    const { dialect, order } = this;
    if (dialect.limitStyle === 'top' || order.length === 0 || count < 2) return undefined;
    try {
      const bound = await this.limit(signal);
      if (bound?.hold) {
        // The next read waits with it, instead of reading the pass's first rows as one range should the watermark move in between.
        this.heldForCut = bound;
        return undefined;
      }
      let base = selectFromEndpoint(dialect.db, this.endpoint);
      for (const col of order) base = base.where(col, 'is not', null);
      if (bound?.value !== undefined) base = base.where(order[0]!, position.kind === 'id' ? '<=' : '<', this.param(order[0]!, bound.value));
      const counted = await this.pool.execute(base.select((eb) => eb.fn.countAll().as('n')).compile(), signal);
      const total = Number(counted.rows[0]?.n ?? 0);
      if (total < count * 2) return undefined;
      const ranked = order.reduce((q, col) => q.orderBy(col, 'asc'), base.select(order));
      const ranges = await keyRanges(total, count, async (rows) => {
        const found = await this.pool.execute(ranked.offset(rows).limit(1).compile(), signal);
        const row = found.rows[0];
        return row ? order.map((c) => row[c]) : undefined;
      });
      // The last range ends at the last row counted too: every range holds final rows only, read
      // without a watermark (whose hold would end a range early); later rows come by the usual reads.
      const lastRow = (
        await this.pool.execute(
          order
            .reduce((q, col) => q.orderBy(col, 'desc'), base.select(order))
            .limit(1)
            .compile(),
          signal,
        )
      ).rows[0];
      if (!lastRow) return undefined;
      ranges[ranges.length - 1]!.to = order.map((c) => cursorText(lastRow[c]) ?? '');
      return ranges;
    } catch (err) {
      throw wrapSqlError(dialect, 'source', this.sync.id, err);
    }
  }

  keyLister(): KeyLister {
    return sqlKeyLister(this.dialect, this.pool, this.endpoint, 'source', this.sync, async () => this.sync.keyColumns.map((k) => this.types.get(k)));
  }

  async lag(position: Position): Promise<Lag | undefined> {
    if (position.kind !== 'id' && position.kind !== 'timestamp') return undefined;
    const cursor = this.order[0]!;
    const q = selectFromEndpoint(this.dialect.db, this.endpoint).select((eb) => eb.fn.max(cursor).as('head'));
    const head = cursorText((await this.pool.execute(q.compile())).rows[0]?.head);
    if (head === null) return { rows: 0, head: undefined };
    if (position.kind === 'id') {
      const rows = /^-?\d+$/.test(head) && position.value && /^-?\d+$/.test(position.value) ? Number(BigInt(head) - BigInt(position.value)) : undefined;
      return { head, rows: position.value === null ? undefined : Math.max(rows ?? 0, 0) };
    }
    const toMs = (t: string) => Date.parse(t.replace(' ', 'T') + (/[zZ]|[+-]\d\d(:?\d\d)?$/.test(t) ? '' : 'Z'));
    const seconds = position.value === null ? undefined : Math.max(0, (toMs(head) - toMs(position.value)) / 1000);
    return { head, seconds: Number.isFinite(seconds) ? seconds : undefined };
  }

  async close(): Promise<void> {
    await this.pool.close();
  }
}
