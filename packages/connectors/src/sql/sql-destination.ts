import { sql, type CompiledQuery, type Kysely } from 'kysely';
import {
  ConnectorError,
  SchemaChangeError,
  batchSteps,
  columnTypeText,
  followsLog,
  typeChange,
  modeInfo,
  orderColumns,
  readEndpoint,
  startPosition,
  type DestinationMode,
  type Batch,
  type Column,
  type Destination,
  type KeyLister,
  type EndpointContext,
  type LogicalType,
  type Position,
  type ResolvedEndpoint,
  type Row,
  type RowEncoding,
  type SchemaChange,
  type Sync,
  type WriteResult,
} from '@idra/core';
import type { KeyedWrite, SqlDialect, SqlPool, SqlSession, TableName } from './dialect.ts';
import { sqlSpec } from './sql-spec.ts';
import { sqlKeyLister } from './sql-keys.ts';
import { selectFromEndpoint } from './table-ref.ts';
import { cursorText } from './values.ts';
import { wrapSqlError } from './sql-errors.ts';
import { byPresentColumns, coalesceSteps, onePerKey, onePerSortedKey } from '../records/rows-by-key.ts';

/** Rows per statement: within the dialect's parameter and row limits. */
export function rowsPerStatement(dialect: SqlDialect, columnCount: number): number {
  return Math.max(1, Math.min(dialect.maxRowsPerInsert, Math.floor(dialect.maxParameters / Math.max(1, columnCount))));
}

/** What a write of `columns` by `keys` does to a row whose key exists: overwritten in upsert mode, unless only keys are written. */
export function keyedWrite(target: KeyedWrite['target'], columns: string[], keys: string[], writeMode: 'insert' | 'upsert'): KeyedWrite {
  return { target, columns, keys, overwrite: writeMode === 'upsert' && columns.some((c) => !keys.includes(c)) };
}

/** The statement that writes `rows` (`insert`: existing keys are kept; `upsert`: they are overwritten). */
export function writeStatement(
  dialect: SqlDialect,
  target: { schema?: string | undefined; table: string },
  columns: string[],
  rows: unknown[][],
  writeMode: 'insert' | 'upsert',
  keys: string[],
): CompiledQuery {
  const keyed = keys.length > 0 && keys.every((k) => columns.includes(k));
  const w = keyedWrite(target, columns, keys, writeMode);
  const conflict = dialect.keyConflict;
  if (keyed && 'statement' in conflict) return conflict.statement(w, rows);
  const db: Kysely<any> = target.schema ? dialect.db.withSchema(target.schema) : dialect.db;
  const q = db
    .insertInto(target.table)
    .columns(columns)
    .values(rows.map((r) => Object.fromEntries(columns.map((c, i) => [c, r[i]]))));
  return (keyed && 'clause' in conflict ? conflict.clause(q, w) : q).compile();
}

const NUMERIC_TYPES: ReadonlySet<LogicalType> = new Set(['int32', 'int64', 'float', 'decimal']);

/** The type a created table gives a column: a number type guessed from one batch becomes a decimal without bounds, which later batches cannot outgrow. */
function createdType(column: Column): Column {
  return column.inferred && NUMERIC_TYPES.has(column.type) ? { name: column.name, type: 'decimal' } : column;
}

/** `create table` for the columns of a batch, with the sync's key columns as primary key. */
export function createTableStatement(
  dialect: SqlDialect,
  target: { schema?: string | undefined; table: string },
  columns: Column[],
  keys: string[],
): CompiledQuery {
  const db: Kysely<any> = target.schema ? dialect.db.withSchema(target.schema) : dialect.db;
  let q = db.schema.createTable(target.table);
  if (dialect.db.getExecutor().adapter.supportsCreateIfNotExists) q = q.ifNotExists();
  for (const col of columns) {
    const isKey = keys.includes(col.name);
    q = q.addColumn(col.name, sql.raw(dialect.columnType(createdType(col), isKey)), (c) => (isKey ? c.notNull() : c));
  }
  if (keys.length > 0 && keys.every((k) => columns.some((c) => c.name === k))) {
    q = q.addPrimaryKeyConstraint(`${target.table}_pkey`.slice(0, 60), keys as never);
  }
  if (dialect.createTableSuffix) q = q.modifyEnd(dialect.createTableSuffix);
  return q.compile();
}

/** `delete` of the rows whose keys are given (values of `keys`, in the canonical row form), bound as parameters. */
export function deleteStatement(
  dialect: SqlDialect,
  target: { schema?: string | undefined; table: string },
  keys: string[],
  keyRows: Row[],
  types: Array<LogicalType | undefined>,
): CompiledQuery {
  const db: Kysely<any> = target.schema ? dialect.db.withSchema(target.schema) : dialect.db;
  const param = (row: Row, i: number) => dialect.toParameter(row[keys[i]!], types[i]);
  return db
    .deleteFrom(target.table)
    .where((eb) =>
      keys.length === 1
        ? eb(
            keys[0]!,
            'in',
            keyRows.map((r) => param(r, 0)),
          )
        : eb.or(keyRows.map((r) => eb.and(keys.map((k, i) => eb(k, '=', param(r, i)))))),
    )
    .compile();
}

/** `alter table … add column` of a nullable column, as a new source column arrives. */
export function addColumnStatement(dialect: SqlDialect, target: { schema?: string | undefined; table: string }, column: Column): CompiledQuery {
  const db: Kysely<any> = target.schema ? dialect.db.withSchema(target.schema) : dialect.db;
  return db.schema
    .alterTable(target.table)
    .addColumn(column.name, sql.raw(dialect.columnType(createdType(column), false)))
    .compile();
}

/** The statement changing a column's type, the dialect's own or standard SQL's. */
function alterColumnTypeStatement(dialect: SqlDialect, target: TableName, column: string, type: string, notNull: boolean): CompiledQuery {
  if (dialect.alterColumnType) return dialect.alterColumnType(target, column, type, notNull);
  const db: Kysely<any> = target.schema ? dialect.db.withSchema(target.schema) : dialect.db;
  return db.schema
    .alterTable(target.table)
    .alterColumn(column, (c) => c.setDataType(sql.raw(type)))
    .compile();
}

function renameColumnStatement(dialect: SqlDialect, target: TableName, from: string, to: string): CompiledQuery {
  if (dialect.renameColumn) return dialect.renameColumn(target, from, to);
  const db: Kysely<any> = target.schema ? dialect.db.withSchema(target.schema) : dialect.db;
  return db.schema.alterTable(target.table).renameColumn(from, to).compile();
}

/** Keys per delete statement: within the dialect's parameter limit, and short enough to plan quickly. */
const MAX_KEYS_PER_DELETE = 1000;

/**
 * True when the rows of a batch are unique by key already: the key is the column the source pages
 * by (the id cursor, or the timestamp mode's tiebreaker), which keyset paging requires to be unique.
 */
function uniqueByCursor(sync: Sync): boolean {
  if (sync.keyColumns.length !== 1) return false;
  const key = sync.keyColumns[0];
  return (sync.mode === 'id' && key === sync.cursorColumn) || (sync.mode === 'timestamp' && key === sync.tiebreakerColumn);
}

/** Writes batches into a table of any SQL dialect, one transaction per batch, multi-row statements. */
export class SqlDestination implements Destination {
  private readonly dialect: SqlDialect;
  private readonly pool: SqlPool;
  private readonly sync: Sync;
  private readonly endpoint: ResolvedEndpoint;
  private readonly target: { schema: string | undefined; table: string };
  /** The table's columns, as last read from the database. */
  private table: Map<string, Column> | undefined;
  /** The column list of the batch the table was last brought in line with (source column lists are reused while unchanged). */
  private evolvedFor: Column[] | undefined;
  private written: { columns: Column[]; names: string[] } | undefined;
  /** Columns dropped at the source and kept here (schemaChanges 'evolve'): rows written since set them to NULL. */
  private readonly dropped = new Set<string>();
  /** The database's own type of each column of the table, when the dialect writes rows encoded. */
  private tableNatives: Map<string, string> | undefined;
  /** Why the dialect's bulk path cannot be used on this server ('' when it can), asked once. */
  private bulkProblem: string | undefined;
  /** How many times the table was learnt: a write passes it on (`BulkWrite.tableVersion`). */
  private tableVersion = 0;

  private constructor(dialect: SqlDialect, pool: SqlPool, ctx: EndpointContext) {
    this.dialect = dialect;
    this.pool = pool;
    this.sync = ctx.sync;
    this.endpoint = ctx.endpoint;
    this.target = { schema: ctx.endpoint.schema, table: ctx.endpoint.table! };
  }

  static async open(dialect: SqlDialect, ctx: EndpointContext): Promise<SqlDestination> {
    const options = readEndpoint(sqlSpec(dialect), ctx);
    try {
      const pool = await dialect.connect(ctx.endpoint.connection, { ...options, role: 'destination', syncId: ctx.sync.id });
      return new SqlDestination(dialect, pool, ctx);
    } catch (err) {
      throw wrapSqlError(dialect, 'destination', ctx.sync.id, err);
    }
  }

  private fail(message: string, opts: { transient: boolean; code?: string }): ConnectorError {
    return new ConnectorError({ connector: this.dialect.name, role: 'destination', syncId: this.sync.id, message, ...opts });
  }

  /** Creates the table when missing (if allowed) and learns its columns. */
  private async prepare(columns: Column[]): Promise<Map<string, Column>> {
    if (this.table) return this.table;
    const { dialect, pool, target } = this;
    if (!(await dialect.tableExists(pool, target.schema, target.table))) {
      // Retried: someone may be creating the table.
      if (!this.sync.createTable) throw this.fail(`table ${target.table} does not exist and createTable is false`, { transient: true });
      await pool.execute(createTableStatement(dialect, target, columns, this.sync.keyColumns));
    }
    return this.learn(pool);
  }

  /** Reads the table's columns (in `session`: inside a transaction that altered it, the altered ones). */
  private async learn(session: SqlSession, signal?: AbortSignal): Promise<Map<string, Column>> {
    const q = selectFromEndpoint(this.dialect.db, this.endpoint).selectAll();
    const { columns: described, native } = await session.execute((this.dialect.limitStyle === 'top' ? q.top(0) : q.limit(0)).compile(), signal);
    this.table = new Map(described.map((c) => [c.name, c]));
    this.tableNatives = native && new Map(described.map((c, i) => [c.name, native[i]!]));
    this.written = undefined;
    this.tableVersion++;
    return this.table;
  }

  /**
   * Brings the table to the columns of a batch, once per distinct column list: under `evolve` a new
   * column is added (nullable) and a widened one altered; under `ignore` they are left out of the
   * writes; under `fail` the sync stops. Columns a rename of this batch creates are left to it.
   */
  private async evolve(batch: Batch): Promise<void> {
    if (this.evolvedFor === batch.columns) return;
    const table = await this.prepare(batch.columns);
    const renamed = new Set((batch.changes ?? []).flatMap((c) => (c.kind === 'schema' && c.change.kind === 'rename' ? [c.change.to] : [])));
    const policy = this.sync.schemaChanges;
    let altered = false;
    for (const column of batch.columns) {
      const existing = table.get(column.name);
      if (existing ? typeChange(existing, column) !== 'wider' : renamed.has(column.name)) continue;
      if (policy === 'ignore') continue;
      const change: SchemaChange = existing ? { kind: 'widen', column, from: existing } : { kind: 'add', column };
      if (policy === 'fail') throw this.refuse(change);
      altered = (await this.alter(this.pool, change)) || altered;
    }
    if (altered) await this.learn(this.pool);
    this.evolvedFor = batch.columns;
  }

  private refuse(change: SchemaChange): SchemaChangeError {
    const column = change.kind === 'rename' ? change.from : change.kind === 'drop' ? change.column : change.column.name;
    const what =
      change.kind === 'add'
        ? `has no column ${JSON.stringify(column)} (${columnTypeText(change.column)}) that the source now has`
        : change.kind === 'widen'
          ? `column ${column} is ${columnTypeText(change.from)} but the source's is now ${columnTypeText(change.column)}`
          : change.kind === 'rename'
            ? `column ${column} was renamed to ${change.to} at the source`
            : `column ${column} was dropped at the source`;
    return new SchemaChangeError({
      column,
      message: `${this.dialect.name} destination: table ${this.target.table} ${what}, and schemaChanges is 'fail': change the destination table by hand and press Retry, or set schemaChanges to 'evolve' (or 'ignore' to copy only the columns it has)`,
    });
  }

  /** Applies one schema change to the table where it is still needed; true when the table changed. */
  private async alter(session: SqlSession, change: SchemaChange, signal?: AbortSignal): Promise<boolean> {
    const { dialect, target } = this;
    const table = this.table!;
    switch (change.kind) {
      case 'add':
        this.dropped.delete(change.column.name);
        if (table.has(change.column.name)) return false;
        await session.execute(addColumnStatement(dialect, target, change.column), signal);
        return true;
      case 'widen': {
        const existing = table.get(change.column.name);
        if (!existing || typeChange(existing, change.column) !== 'wider' || dialect.alterColumnType === null) return false;
        const isKey = this.sync.keyColumns.includes(change.column.name);
        await session.execute(
          alterColumnTypeStatement(dialect, target, change.column.name, dialect.columnType(createdType(change.column), isKey), isKey),
          signal,
        );
        return true;
      }
      case 'rename':
        this.dropped.delete(change.to);
        if (!table.has(change.from) || table.has(change.to)) return false;
        await session.execute(renameColumnStatement(dialect, target, change.from, change.to), signal);
        return true;
      case 'drop':
        // Kept: the rows copied so far keep their values; rows written from now on set it to NULL (see writeRows).
        if (table.has(change.column) && !this.sync.keyColumns.includes(change.column)) this.dropped.add(change.column);
        return false;
    }
  }

  /** The columns of `batch` this table takes (all of them, unless `ignore` left new ones out), cached per column list and table. */
  private writtenNames(columns: Column[]): string[] {
    if (this.written?.columns !== columns) {
      const table = this.table!;
      this.written = { columns, names: columns.filter((c) => table.has(c.name)).map((c) => c.name) };
    }
    return this.written.names;
  }

  async accepts(encoding: RowEncoding, signal: AbortSignal): Promise<boolean> {
    const { encoded } = this.dialect;
    if (!encoded || encoded.format !== encoding.format || !this.dialect.bulkWrite) return false;
    try {
      signal.throwIfAborted();
      // Learnt again: the table may have changed since the last cycle.
      this.table = undefined;
      await this.prepare(encoding.columns);
    } catch (err) {
      throw wrapSqlError(this.dialect, 'destination', this.sync.id, err);
    }
    const natives = this.tableNatives;
    return natives !== undefined && encoding.columns.every((c, i) => natives.has(c.name) && encoded.sameStorage(encoding.native[i]!, natives.get(c.name)!));
  }

  /** Writes while the previous offset is stored, unless waiting inside a transaction would stop the agent ({@link SqlDialect.blocksWhileLocked}). */
  get commitsAfter(): boolean {
    return this.dialect.blocksWhileLocked !== true;
  }

  /** Writers of other connections may fill other key ranges meanwhile, except where a write lock stops the agent ({@link SqlDialect.blocksWhileLocked}). */
  get parallelWrites(): boolean {
    return this.dialect.blocksWhileLocked !== true;
  }

  async write(batch: Batch, signal: AbortSignal, commitAfter?: Promise<void>): Promise<WriteResult> {
    const { dialect } = this;
    // The previous batch's offset failed to be stored (a fence): thrown as it is, after the rollback.
    let previousFailed: { err: unknown } | undefined;
    try {
      await this.evolve(batch);
      this.bulkProblem ??= (await dialect.bulkWriteProblem?.(this.pool, signal)) ?? '';
      const steps = this.coalesces && batch.changes?.length ? coalesceSteps(batchSteps(batch), this.sync.keyColumns) : batchSteps(batch);
      let schemaChanged = false;
      await this.pool.transaction(async (tx) => {
        for (const step of steps) {
          if (step.kind === 'rows') await this.writeRows(tx, step.rows, this.writtenNames(batch.columns), batch.encoding, signal, batch.keyOrdered === true);
          else if (step.kind === 'deletes') await this.deleteKeys(tx, step.keys, signal);
          // DELETE, not TRUNCATE: MySQL's TRUNCATE commits on its own, SQLite has none; this stays in the batch's transaction.
          else if (step.kind === 'truncate')
            await tx.execute((this.target.schema ? dialect.db.withSchema(this.target.schema) : dialect.db).deleteFrom(this.target.table).compile(), signal);
          else if (this.sync.schemaChanges === 'fail' && step.change.kind !== 'drop') throw this.refuse(step.change);
          else if (this.sync.schemaChanges === 'evolve' && (await this.alter(tx, step.change, signal))) {
            schemaChanged = true;
            // Later rows of the batch may name the column: the table is read again inside the transaction.
            await this.learn(tx, signal);
          }
        }
        // The batch is written; it commits once the previous batch's offset is stored.
        await commitAfter?.catch((err: unknown) => {
          previousFailed = { err };
          throw err;
        });
      }, signal);
      if (schemaChanged) this.evolvedFor = undefined;
      return { written: batch.rows.length, warning: this.bulkProblem || undefined };
    } catch (err) {
      if (previousFailed) throw previousFailed.err;
      if (
        batch.encoding &&
        !(err instanceof ConnectorError) &&
        dialect.classify(err) === 'rejected' &&
        !(await this.accepts(batch.encoding, signal).catch(() => false))
      ) {
        // Not the rows' fault: the table's types changed since the rows were accepted encoded. The next cycle reads them decoded.
        throw this.fail(`the column types of table ${this.target.table} changed while rows were passed on encoded; they are read again`, { transient: true });
      }
      // A rolled back ALTER leaves the table as it was: learn it again.
      this.table = undefined;
      this.evolvedFor = undefined;
      throw wrapSqlError(dialect, 'destination', this.sync.id, err, batch.rows);
    }
  }

  /** A change log's upserts and deletes by key: a batch's many small transactions are applied as a few statements ({@link coalesceSteps}); rows alone are one step already. */
  private get coalesces(): boolean {
    const { mode, writeMode, keyColumns } = this.sync;
    return followsLog(mode) && writeMode === 'upsert' && keyColumns.length > 0;
  }

  private async writeRows(
    tx: SqlSession,
    batchRows: Row[],
    columnNames: string[],
    encoding: RowEncoding | undefined,
    signal: AbortSignal,
    keyOrdered = false,
  ): Promise<void> {
    const { dialect } = this;
    const { writeMode, keyColumns } = this.sync;
    let rows =
      keyColumns.length === 0 || uniqueByCursor(this.sync)
        ? batchRows
        : keyOrdered
          ? onePerSortedKey(batchRows, keyColumns, writeMode)
          : onePerKey(batchRows, keyColumns, writeMode);
    const nulled = encoding ? [] : [...this.dropped].filter((c) => this.table!.has(c));
    if (nulled.length > 0) {
      // An upsert would otherwise leave the value the row had before its column was dropped at the source.
      columnNames = [...columnNames, ...nulled.filter((c) => !columnNames.includes(c))];
      rows = rows.map((row) => {
        const filled = { ...row };
        for (const c of nulled) filled[c] ??= null;
        return filled;
      });
    }
    // Rows from schemaless sources may lack fields: each group is written with the columns it has, so a missing field keeps the stored value.
    // Encoded rows come from a table: they have every column.
    const groups = encoding ? [{ columns: encoding.columns.map((c) => c.name), rows }] : byPresentColumns(rows, columnNames);
    const table = this.table!;
    for (const { columns: names, rows: group } of groups) {
      const colTypes = names.map((n) => table.get(n)?.type);
      const write = {
        target: this.target,
        columns: names,
        types: colTypes,
        rows: group,
        writeMode,
        keys: keyColumns,
        encoding,
        tableVersion: this.tableVersion,
      };
      if (dialect.bulkWrite && !this.bulkProblem && (await dialect.bulkWrite(tx, write, signal))) continue;
      if (encoding) throw new Error(`rows encoded as ${encoding.format} can only be written in bulk`);
      const perStatement = rowsPerStatement(dialect, names.length);
      for (let start = 0; start < group.length; start += perStatement) {
        const chunk = group.slice(start, start + perStatement);
        const values = chunk.map((row) => names.map((n, i) => dialect.toParameter(row[n], colTypes[i])));
        await tx.execute(writeStatement(dialect, this.target, names, values, writeMode, keyColumns), signal);
      }
    }
  }

  private async deleteKeys(tx: SqlSession, keyRows: Row[], signal: AbortSignal): Promise<void> {
    const { dialect, target } = this;
    const keys = this.sync.keyColumns;
    if (keys.length === 0)
      throw this.fail('a delete needs the key columns of the rows: set keyColumns', { transient: false, code: 'IDRA_ERR_CONNECTOR_KEY_MISSING' });
    const types = keys.map((k) => this.table!.get(k)?.type);
    const perStatement = Math.max(1, Math.min(MAX_KEYS_PER_DELETE, Math.floor(dialect.maxParameters / keys.length)));
    for (let start = 0; start < keyRows.length; start += perStatement) {
      await tx.execute(deleteStatement(dialect, target, keys, keyRows.slice(start, start + perStatement), types), signal);
    }
  }

  keyLister(): KeyLister {
    return sqlKeyLister(this.dialect, this.pool, this.endpoint, 'destination', this.sync, async () => {
      if (!this.table && !(await this.dialect.tableExists(this.pool, this.target.schema, this.target.table))) return undefined;
      const table = await this.prepare([]);
      return this.sync.keyColumns.map((k) => table.get(k)?.type);
    });
  }

  async resumePosition(mode: DestinationMode): Promise<Position> {
    const { dialect, target } = this;
    const order = orderColumns(this.sync);
    const empty = startPosition(modeInfo(mode).position);
    try {
      if (!(await dialect.tableExists(this.pool, target.schema, target.table))) return empty;
      let q = selectFromEndpoint(dialect.db, this.endpoint).select(order);
      for (const col of order) q = q.where(col, 'is not', null).orderBy(col, 'desc');
      q = dialect.limitStyle === 'top' ? q.top(1) : q.limit(1);
      const row: Row | undefined = (await this.pool.execute(q.compile())).rows[0];
      if (!row) return empty;
      return modeInfo(mode).timestamp
        ? { kind: 'timestamp', value: cursorText(row[order[0]!]), tiebreaker: cursorText(row[order[1]!]) }
        : { kind: 'id', value: cursorText(row[order[0]!]) };
    } catch (err) {
      throw wrapSqlError(dialect, 'destination', this.sync.id, err);
    }
  }

  async close(): Promise<void> {
    await this.pool.close();
  }
}
