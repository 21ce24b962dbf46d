import { randomBytes } from 'node:crypto';
import mysql from 'mysql2/promise';
import pg from 'pg';

/** A fresh database created by {@link createDatabase}. */
export interface TestDatabase {
  /** The server URL with this database as its path. */
  url: string;
  name: string;
  /** Drops the database, closing sessions that PostgreSQL still has open on it. */
  drop(): Promise<void>;
}

interface Dialect {
  quote(name: string): string;
  /** Appended to DROP DATABASE. */
  dropOptions: string;
  execute(serverUrl: string, sql: string): Promise<void>;
}

const DIALECTS: Record<'postgres' | 'mysql', Dialect> = {
  postgres: {
    quote: (name) => `"${name}"`,
    dropOptions: ' WITH (FORCE)',
    async execute(serverUrl, sql) {
      const client = new pg.Client({ connectionString: serverUrl });
      await client.connect();
      try {
        await client.query(sql);
      } finally {
        await client.end();
      }
    },
  },
  mysql: {
    quote: (name) => `\`${name}\``,
    dropOptions: '',
    async execute(serverUrl, sql) {
      const connection = await mysql.createConnection({ uri: serverUrl });
      try {
        await connection.query(sql);
      } finally {
        await connection.end();
      }
    },
  },
};

// Plain identifiers need no escaping and are valid database (and MariaDB directory) names on both servers.
const PLAIN_NAME = /^[a-z_][a-z0-9_]{0,62}$/;

function withDatabase(serverUrl: string, name: string): string {
  const url = new URL(serverUrl);
  url.pathname = `/${name}`;
  return url.toString();
}

/** Creates a fresh empty database on a shared server and returns its URL; drop() removes it. */
export async function createDatabase(kind: 'postgres' | 'mysql', serverUrl: string, name = `idra_${randomBytes(6).toString('hex')}`): Promise<TestDatabase> {
  if (!PLAIN_NAME.test(name)) {
    throw new TypeError(`database name ${JSON.stringify(name)} must match ${PLAIN_NAME}`);
  }
  const dialect = DIALECTS[kind];
  await dialect.execute(serverUrl, `CREATE DATABASE ${dialect.quote(name)}`);
  return {
    url: withDatabase(serverUrl, name),
    name,
    drop: () => dialect.execute(serverUrl, `DROP DATABASE IF EXISTS ${dialect.quote(name)}${dialect.dropOptions}`),
  };
}

/** A login role of a test PostgreSQL database, made by {@link createPostgresRole}. */
export interface TestRole {
  name: string;
  /** The database's URL as this role. */
  url: string;
  /** Drops what the role owns in the database, then the role. */
  drop(): Promise<void>;
}

/**
 * Creates a login role that may read `tables` of a test PostgreSQL database and nothing more: without
 * pg_read_all_stats it cannot see what other roles' sessions do (their state, their transactions).
 */
export async function createPostgresRole(databaseUrl: string, tables: string[], name = `idra_role_${randomBytes(4).toString('hex')}`): Promise<TestRole> {
  for (const id of [name, ...tables]) if (!PLAIN_NAME.test(id)) throw new TypeError(`${JSON.stringify(id)} must match ${PLAIN_NAME}`);
  const run = (sql: string) => DIALECTS.postgres.execute(databaseUrl, sql);
  await run(`CREATE ROLE ${name} LOGIN`);
  for (const table of tables) await run(`GRANT SELECT ON ${table} TO ${name}`);
  const url = new URL(databaseUrl);
  url.username = name;
  url.password = '';
  return {
    name,
    url: url.toString(),
    drop: async () => {
      await run(`DROP OWNED BY ${name}`);
      await run(`DROP ROLE ${name}`);
    },
  };
}
