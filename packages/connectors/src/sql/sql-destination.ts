import { sql, type CompiledQuery, type Kysely } from 'kysely';
import {
  ConnectorError,
  modeInfo,
  orderColumns,
  readEndpoint,
  startPosition,
  type DestinationMode,
  type Batch,
  type Column,
  type Destination,
  type EndpointContext,
  type LogicalType,
  type Position,
  type ResolvedEndpoint,
  type Row,
  type RowEncoding,
  type Sync,
  type WriteResult,
} from '@idra/core';
import type { KeyedWrite, SqlDialect, SqlPool } from './dialect.ts';
import { sqlSpec } from './sql-spec.ts';
import { selectFromEndpoint } from './table-ref.ts';
import { cursorText } from './values.ts';
import { wrapSqlError } from './sql-errors.ts';
import { byPresentColumns, onePerKey } from '../records/rows-by-key.ts';

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
export function createTableStatement(dialect: SqlDialect, target: { schema?: string | undefined; table: string }, columns: Column[], keys: string[]): CompiledQuery {
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
  private tableTypes: Map<string, LogicalType> | undefined;
  /** The database's own type of each column of the table, when the dialect writes rows encoded. */
  private tableNatives: Map<string, string> | undefined;

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
      const pool = await dialect.connect(ctx.endpoint.connection, { ...options, role: 'destination' });
      return new SqlDestination(dialect, pool, ctx);
    } catch (err) {
      throw wrapSqlError(dialect, 'destination', ctx.sync.id, err);
    }
  }

  private fail(message: string, opts: { transient: boolean; code?: string }): ConnectorError {
    return new ConnectorError({ connector: this.dialect.name, role: 'destination', syncId: this.sync.id, message, ...opts });
  }

  /** Creates the table when missing (if allowed) and learns its column types. */
  private async prepare(columns: Column[]): Promise<Map<string, LogicalType>> {
    if (this.tableTypes) return this.tableTypes;
    const { dialect, pool, target } = this;
    if (!(await dialect.tableExists(pool, target.schema, target.table))) {
      // Retried: someone may be creating the table.
      if (!this.sync.createTable) throw this.fail(`table ${target.table} does not exist and createTable is false`, { transient: true });
      await pool.execute(createTableStatement(dialect, target, columns, this.sync.keyColumns));
    }
    let probe = selectFromEndpoint(dialect.db, this.endpoint).selectAll();
    probe = dialect.limitStyle === 'top' ? probe.top(0) : probe.limit(0);
    const described = await pool.execute(probe.compile());
    this.tableTypes = new Map(described.columns.map((c) => [c.name, c.type]));
    this.tableNatives = described.native && new Map(described.columns.map((c, i) => [c.name, described.native![i]!]));
    return this.tableTypes;
  }

  async accepts(encoding: RowEncoding, signal: AbortSignal): Promise<boolean> {
    const { encoded } = this.dialect;
    if (!encoded || encoded.format !== encoding.format || !this.dialect.bulkWrite) return false;
    try {
      signal.throwIfAborted();
      // Learnt again: the table may have changed since the last cycle.
      this.tableTypes = undefined;
      await this.prepare(encoding.columns);
    } catch (err) {
      throw wrapSqlError(this.dialect, 'destination', this.sync.id, err);
    }
    const natives = this.tableNatives;
    return natives !== undefined && encoding.columns.every((c, i) => natives.has(c.name) && encoded.sameStorage(encoding.native[i]!, natives.get(c.name)!));
  }

  async write(batch: Batch, signal: AbortSignal): Promise<WriteResult> {
    const { dialect } = this;
    try {
      const types = await this.prepare(batch.columns);
      const missing = batch.columns.filter((c) => !types.has(c.name)).map((c) => c.name);
      if (missing.length > 0) {
        // Not retried: no later attempt can write these rows; the names are quoted so that stray characters (a BOM) show.
        const names = missing.map((n) => JSON.stringify(n)).join(', ');
        throw this.fail(`table ${this.target.table} has no column ${names}: add ${missing.length > 1 ? 'them' : 'it'} to the table, or list the columns to copy in source.columns`, {
          transient: false,
          code: 'IDRA_ERR_CONNECTOR_COLUMN_MISSING',
        });
      }
      const { writeMode, keyColumns } = this.sync;
      const { encoding } = batch;
      const rows = keyColumns.length > 0 && !uniqueByCursor(this.sync) ? onePerKey(batch.rows, keyColumns, writeMode) : batch.rows;
      // Rows from schemaless sources may lack fields: each group is written with the columns it has, so a missing field keeps the stored value.
      // Encoded rows come from a table: they have every column.
      const groups = encoding ? [{ columns: encoding.columns.map((c) => c.name), rows }] : byPresentColumns(rows, batch.columns.map((c) => c.name));
      await this.pool.transaction(async (tx) => {
        for (const { columns: names, rows: group } of groups) {
          const colTypes = names.map((n) => types.get(n));
          const write = { target: this.target, columns: names, types: colTypes, rows: group, writeMode, keys: keyColumns, encoding };
          if (dialect.bulkWrite && (await dialect.bulkWrite(tx, write, signal))) continue;
          if (encoding) throw new Error(`rows encoded as ${encoding.format} can only be written in bulk`);
          const perStatement = rowsPerStatement(dialect, names.length);
          for (let start = 0; start < group.length; start += perStatement) {
            const chunk = group.slice(start, start + perStatement);
            const values = chunk.map((row) => names.map((n, i) => dialect.toParameter(row[n], colTypes[i])));
            await tx.execute(writeStatement(dialect, this.target, names, values, writeMode, keyColumns), signal);
          }
        }
      }, signal);
      return { written: batch.rows.length };
    } catch (err) {
      if (batch.encoding && !(err instanceof ConnectorError) && dialect.classify(err) === 'rejected' && !(await this.accepts(batch.encoding, signal).catch(() => false))) {
        // Not the rows' fault: the table's types changed since the rows were accepted encoded. The next cycle reads them decoded.
        throw this.fail(`the column types of table ${this.target.table} changed while rows were passed on encoded; they are read again`, { transient: true });
      }
      throw wrapSqlError(dialect, 'destination', this.sync.id, err, batch.rows);
    }
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
