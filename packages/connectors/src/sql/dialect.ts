import {
  Kysely,
  DummyDriver,
  type DialectAdapter,
  type QueryCompiler,
  type DatabaseIntrospector,
  type CompiledQuery,
  type RawBuilder,
} from 'kysely';
import type { Column, Connection, LogicalType, Row } from '@idra/core';

export type SqlDialectName = 'postgres' | 'mysql' | 'sqlite' | 'mssql';

/** Rows of one statement and the columns the database described for them (also when no row came back). */
export interface SqlResult {
  rows: Row[];
  columns: Column[];
}

/** Runs compiled statements on one connection (inside a transaction) or on the pool. */
export interface SqlSession {
  execute(query: CompiledQuery, signal?: AbortSignal): Promise<SqlResult>;
}

/** A connection pool for one sync endpoint. */
export interface SqlPool extends SqlSession {
  /** Runs `fn` in one transaction: committed when it resolves, rolled back when it throws or `signal` aborts. */
  transaction<T>(fn: (session: SqlSession) => Promise<T>, signal?: AbortSignal): Promise<T>;
  close(): Promise<void>;
}

/** How a database error affects a sync. */
export type ErrorClass = 'transient' | 'rejected';

/** Everything that differs between SQL databases; the shared source/destination use only this. */
export interface SqlDialect {
  readonly name: SqlDialectName;
  /** Compiles queries; never connects. */
  readonly db: Kysely<any>;
  /** Bound parameters per statement allowed by the database/driver. */
  readonly maxParameters: number;
  /** Rows per multi-row INSERT allowed by the database. */
  readonly maxRowsPerInsert: number;
  /** `LIMIT n` (most) or `TOP n` (SQL Server). */
  readonly limitStyle: 'limit' | 'top';
  connect(connection: Connection, options: Record<string, unknown> | undefined): Promise<SqlPool>;
  /** Column type used when Idra creates a destination table. */
  columnType(column: Column, isKey: boolean): string;
  /** A value of the canonical row form, converted for binding to a column of `type`. */
  toParameter(value: unknown, type: LogicalType | undefined): unknown;
  /** The database clock minus `ms`, comparable with the cursor column (UTC sessions). */
  nowMinus(ms: number): RawBuilder<unknown>;
  /** Decides whether an error is a rejected row or worth retrying. */
  classify(err: unknown): ErrorClass;
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
