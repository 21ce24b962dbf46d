// Throwaway real servers (PostgreSQL, MariaDB, etcd) for tests, on free ports in temp dirs.
import type {} from './provided-context.ts';

export { createDatabase, type TestDatabase } from './create-database.ts';
export { TestServerStartError, type TestServerKind } from './errors.ts';
export { startEtcd, type EtcdMember, type EtcdServer, type StartEtcdOptions } from './etcd.ts';
export { freePort } from './free-port.ts';
export { startMariadb, type MariadbServer } from './mariadb.ts';
export { startPostgres, type PostgresServer, type StartPostgresOptions } from './postgres.ts';
export { tempDir } from './temp-dir.ts';
