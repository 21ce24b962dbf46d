import {
  Kysely,
  DummyDriver,
  type DialectAdapter,
  type QueryCompiler,
  type DatabaseIntrospector,
  type CompiledQuery,
  type InsertQueryBuilder,
  type RawBuilder,
  type SelectQueryBuilder,
} from 'kysely';
import type {
  ChangeLogSlot,
  Column,
  Connection,
  DiscoveredObject,
  EncodedRow,
  EndpointContext,
  LogicalType,
  OptionProps,
  Row,
  RowEncoding,
  Source,
  Sync,
} from '@idra/core';

export type SqlDialectName = 'postgres' | 'mysql' | 'sqlite' | 'mssql';

/** A table, in its schema when one is named. */
export interface TableName {
  schema?: string | undefined;
  table: string;
}

/** Rows of one statement and the columns the database described for them (also when no row came back). */
export interface SqlResult {
  rows: Row[];
  columns: Column[];
  /** The database's own type of each column, when the dialect reads rows encoded ({@link EncodedRows}). */
  native?: string[] | undefined;
}

/** Runs compiled statements on one connection (inside a transaction) or on the pool. */
export interface SqlSession {
  execute(query: CompiledQuery, signal?: AbortSignal): Promise<SqlResult>;
}

/** What a dialect's fast bulk path needs to write one batch inside the caller's transaction. */
export interface BulkWrite {
  target: { schema: string | undefined; table: string };
  columns: string[];
  types: Array<LogicalType | undefined>;
  rows: Row[];
  writeMode: 'insert' | 'upsert';
  keys: string[];
  /** The rows are encoded in this form (the dialect's {@link EncodedRows}); `columns` are its columns, in its order. */
  encoding?: RowEncoding | undefined;
  /**
   * Changes whenever the destination learnt the table anew (after it altered it): what a dialect
   * keeps per connection and derives from the table (PostgreSQL's staging table) is made again.
   */
  tableVersion: number;
}

/** A column an encoded read decodes ({@link EncodedRows.read}). */
export interface DecodedColumn {
  name: string;
  native: string;
  field?: number | undefined;
}

/**
 * Rows read and written still encoded, between two endpoints of one dialect ({@link RowEncoding}):
 * the values are never decoded, only the columns the source pages by and the sync's keys.
 */
export interface EncodedRows {
  readonly format: string;
  /** Whether a value stored in a column of native type `from` can be written as it is into a column of native type `to`. */
  sameStorage(from: string, to: string): boolean;
  /**
   * The way an encoded read binds values: `bind(i, native)` is the expression that stands for the
   * i-th value of {@link read}'s `values`, of native type `native` (the read cannot take parameters).
   */
  binder(pool: SqlPool, natives: string[], signal?: AbortSignal): Promise<(index: number, native: string) => RawBuilder<unknown>>;
  /**
   * Runs `query` (whose values are the expressions of {@link binder}) and returns its rows still
   * encoded, with the columns of `decoded` decoded as a plain read would.
   */
  read(
    pool: SqlPool,
    query: SelectQueryBuilder<any, any, any>,
    values: unknown[],
    /**
     * `field`: the column's position among the query's selections, when it is one of them. The same
     * list (the same array) for every read of a source while its encoding holds: a dialect may keep
     * what it derives from it.
     */
    decoded: readonly DecodedColumn[],
    signal?: AbortSignal,
  ): Promise<Row[]>;
  /** All the values of an encoded row of columns `names` of types `natives`, decoded for people to read. */
  decode(row: EncodedRow, names: string[], natives: string[]): Row;
}

/** A connection pool for one sync endpoint. */
export interface SqlPool extends SqlSession {
  /** Runs `fn` in one transaction: committed when it resolves, rolled back when it throws or `signal` aborts. */
  transaction<T>(fn: (session: SqlSession) => Promise<T>, signal?: AbortSignal): Promise<T>;
  close(): Promise<void>;
}

/**
 * What the database said, just before a cursor read, about writes that may still commit behind the
 * cursor. Observed by a statement that runs before the read: a transaction the observation does not
 * list as open has committed before the read's snapshot is taken, so the read sees its rows.
 * Times are UTC text `YYYY-MM-DD HH:MM:SS[.ffffff]` on the database clock.
 */
export interface TransactionView {
  /** The database clock, read after the snapshot that `maxCursor` comes from. */
  at: string;
  /** The largest cursor value committed in that snapshot (when asked for; null for an empty table). */
  maxCursor?: string | null | undefined;
  /** Timestamp cursors read only rows before this: min(clock − max(delayMs, clock guard), oldest open transaction's start). */
  timestampLimit: string;
  /** The oldest transaction open in another session, when one is. */
  oldest?: { start: string; ageMs: number; holder: string } | undefined;
  /** Transactions are open whose start cannot be known (e.g. prepared ones): reads must stay at their previous limit. */
  unknown?: string | undefined;
  /** The list of open transactions was older than the snapshot (a cache): this view limits nothing; a fresh one can be had after `retryInMs`. */
  stale?: { retryInMs: number } | undefined;
  /**
   * Why some or all other sessions' transactions cannot be seen now (a privilege, a standby, the
   * dialect): only delayMs can protect from those, and only a sync that accepted it may read.
   */
  blind?: string | undefined;
  /**
   * The statement that lets the source's user see every session's transactions, when it lacks that
   * privilege — also while nothing is hidden yet.
   */
  grant?: string | undefined;
}

/** What {@link SqlDialect.watermark} observes besides the clock and the open transactions. */
export interface WatermarkRequest {
  delayMs: number;
  /** `select max(cursor) as m from <endpoint>`: asked for by id cursors. */
  maxCursor?: SelectQueryBuilder<any, any, any> | undefined;
  /**
   * False when a stale view would do (the source has a limit and rows below it to read): a dialect
   * whose list of open transactions is a cache may then answer stale at once rather than wait for
   * a fresh list. Undefined or true: the view should be fresh.
   */
  fresh?: boolean | undefined;
}

/** A write of rows whose key may exist already in the target table. */
export interface KeyedWrite {
  target: { schema?: string | undefined; table: string };
  columns: string[];
  /** The key columns, all among `columns`. */
  keys: string[];
  /** Rows whose key exists are overwritten (upsert) rather than kept as they are (insert, so a replayed batch is harmless). */
  overwrite: boolean;
}

/**
 * How a database keeps or overwrites rows whose key exists: a clause added to an INSERT (of values
 * or of a SELECT: `ON CONFLICT`, `ON DUPLICATE KEY UPDATE`), or a statement of its own taking the
 * rows as values (SQL Server's `MERGE`).
 */
export type KeyConflict = ConflictClause | ConflictStatement;
export interface ConflictClause {
  clause(q: InsertQueryBuilder<any, any, any>, w: KeyedWrite): InsertQueryBuilder<any, any, any>;
}
export interface ConflictStatement {
  statement(w: KeyedWrite, rows: unknown[][]): CompiledQuery;
}

/**
 * How a database error affects a sync: `rejected` rows follow the error policy; `permanent` errors
 * (wrong password, missing table or column, no privilege) need someone to change something and are
 * retried slowly; `transient` ones (connection lost, server restarting) are retried soon.
 */
export type ErrorClass = 'transient' | 'rejected' | 'permanent';

/** Everything that differs between SQL databases; the shared source/destination use only this. */
export interface SqlDialect {
  readonly name: SqlDialectName;
  /** Name shown to people (`MySQL / MariaDB`). */
  readonly label: string;
  /** Endpoint options of this dialect's driver, besides those every SQL connector takes (`poolSize`, `connectTimeoutMs`). */
  readonly options: OptionProps;
  /** Compiles queries; never connects. */
  readonly db: Kysely<any>;
  /** Bound parameters per statement allowed by the database/driver. */
  readonly maxParameters: number;
  /** Rows per multi-row INSERT allowed by the database. */
  readonly maxRowsPerInsert: number;
  /** `LIMIT n` (most) or `TOP n` (SQL Server). Other capabilities come from Kysely's adapter (`db.getExecutor().adapter`). */
  readonly limitStyle: 'limit' | 'top';
  /** How rows whose key exists are kept or overwritten. */
  readonly keyConflict: KeyConflict;
  /** Appended to the CREATE TABLE of a table Idra creates (MySQL: a character set holding every Unicode character). */
  readonly createTableSuffix?: RawBuilder<unknown> | undefined;
  /**
   * A connection waits for another's write lock synchronously, stopping the agent's event loop (SQLite:
   * better-sqlite3's busy timeout): a transaction must then never wait for anything else, such as the
   * previous batch's offset commit, or every other sync of the file stops for the whole timeout.
   */
  readonly blocksWhileLocked?: boolean | undefined;
  connect(connection: Connection, options: Record<string, unknown> | undefined): Promise<SqlPool>;
  /** Column type used when Idra creates a destination table. */
  columnType(column: Column, isKey: boolean): string;
  /** A value of the canonical row form, converted for binding to a column of `type`. */
  toParameter(value: unknown, type: LogicalType | undefined): unknown;
  /**
   * Observes the database clock, the transactions open in other sessions and (when asked) the largest
   * committed cursor value, in a statement run before each cursor read.
   */
  watermark(pool: SqlPool, request: WatermarkRequest, signal?: AbortSignal): Promise<TransactionView>;
  /** Decides whether an error is a rejected row or worth retrying. */
  classify(err: unknown): ErrorClass;
  /**
   * A faster way than multi-row statements to write a batch in the session's transaction (PostgreSQL:
   * COPY, through a staging table when keys are involved; MySQL: LOAD DATA while keys are new). Resolves false when it cannot take this
   * batch (the caller then writes multi-row statements). Dialects without one leave it undefined.
   */
  bulkWrite?(session: SqlSession, write: BulkWrite, signal?: AbortSignal): Promise<boolean>;
  /** Why {@link bulkWrite} cannot be used on this server (a setting of the server's), asked once per destination; undefined when it can. */
  bulkWriteProblem?(pool: SqlPool, signal?: AbortSignal): Promise<string | undefined>;
  /** Rows moved still encoded between two endpoints of this dialect; its {@link bulkWrite} takes them. */
  readonly encoded?: EncodedRows | undefined;
  /**
   * Changes a column's declared type (a widening), keeping NOT NULL where asked. Absent: standard
   * `ALTER COLUMN … TYPE` (PostgreSQL); null: the database keeps any value in any declared type (SQLite).
   */
  alterColumnType?: ((target: TableName, column: string, type: string, notNull: boolean) => CompiledQuery) | null;
  /**
   * Aggregate digests of key columns that do not depend on row order (a sum of a hash of each key's text), fastest first,
   * for key reconciliation by chunk digests; `form` names the hash, and `portable` says that another dialect computes it
   * alike, so that digests are compared only between equal forms. Absent: keys are compared as lists (SQL Server).
   */
  readonly keyDigests?: ReadonlyArray<{ form: string; portable: boolean; of(columns: readonly string[]): RawBuilder<string> }> | undefined;
  /** Renames a column. Absent: `ALTER TABLE … RENAME COLUMN` (PostgreSQL, MySQL 8, MariaDB 10.5, SQLite 3.25). */
  renameColumn?(target: TableName, from: string, to: string): CompiledQuery;
  /** Opens a source in mode `cdc` (the database's change log), in dialects that have one. */
  openChangeLog?(ctx: EndpointContext): Promise<Source>;
  /** What stops a `cdc` sync from reading the change log through this pool (empty: nothing), in dialects that have one. */
  changeLogProblems?(pool: SqlPool): Promise<string[]>;
  /** Idra's replication slots on the server, with the log each keeps, in dialects that have them. */
  changeLogSlots?(pool: SqlPool): Promise<ChangeLogSlot[]>;
  /** Drops the replication slot (and publication Idra made) of a deleted `cdc` sync; returns what it dropped. */
  releaseChangeLog?(sync: Sync): Promise<string[]>;
  /** Lists the user tables and views with their columns (system schemas left out). */
  listTables(pool: SqlPool): Promise<DiscoveredObject[]>;
  /** Reads whether a table exists. */
  tableExists(pool: SqlPool, schema: string | undefined, table: string): Promise<boolean>;
}

/** A Kysely instance that only compiles SQL for the given dialect. */
export function compileOnly(parts: {
  adapter: () => DialectAdapter;
  compiler: () => QueryCompiler;
  introspector: (db: Kysely<any>) => DatabaseIntrospector;
}): Kysely<any> {
  return new Kysely<any>({
    dialect: {
      createAdapter: parts.adapter,
      createDriver: () => new DummyDriver(),
      createIntrospector: parts.introspector,
      createQueryCompiler: parts.compiler,
    },
  });
}
