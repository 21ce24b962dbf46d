import type { SqlDialect, SqlDialectName } from './dialect.ts';
import { postgresDialect } from './postgres/postgres-dialect.ts';
import { mysqlDialect } from './mysql/mysql-dialect.ts';
import { sqliteDialect } from './sqlite/sqlite-dialect.ts';
import { mssqlDialect } from './mssql/mssql-dialect.ts';

/** Every SQL dialect by connector name. */
export const SQL_DIALECTS: Record<SqlDialectName, SqlDialect> = {
  postgres: postgresDialect,
  mysql: mysqlDialect,
  sqlite: sqliteDialect,
  mssql: mssqlDialect,
};

export type { SqlDialect, SqlDialectName, SqlPool, SqlSession, SqlResult, TransactionView, WatermarkRequest } from './dialect.ts';
export { SqlSource } from './sql-source.ts';
export { keysetAfter } from './sql-keys.ts';
export { SqlDestination, writeStatement, createTableStatement, rowsPerStatement } from './sql-destination.ts';
export { cdcNames, defaultSlotName } from './postgres/postgres-cdc-options.ts';
