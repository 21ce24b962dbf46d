// Types what the global setup (global-setup.ts) provides, so that `inject('pgUrl')` is a string.
declare module 'vitest' {
  export interface ProvidedContext {
    /** URL of the run's shared PostgreSQL server; give each test file its own database with createDatabase. */
    pgUrl: string;
    /** URL of the run's shared MariaDB server; give each test file its own database with createDatabase. */
    mysqlUrl: string;
    /** Client URLs of the run's shared single-member etcd; prefix your keys per test. */
    etcdEndpoints: string[];
  }
}

export {};
