import { existsSync } from 'node:fs';
import { chown, mkdir } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import pg from 'pg';
import { findExecutable, postgresBinDirs } from './internal/executables.ts';
import { runToCompletion, ServerProcess, serviceUser, inWorkDir, serverControls } from './internal/server-process.ts';
import { freePort } from './free-port.ts';

/** A running throwaway PostgreSQL server. */
export interface PostgresServer {
  /** `postgres://postgres@127.0.0.1:<port>/postgres`; trust auth, no password. */
  url: string;
  host: string;
  port: number;
  /**
   * Sends `signal` (SIGKILL unless told otherwise) and waits until the server is gone; its data and port
   * stay for `start()`. SIGINT is `pg_ctl stop -m fast`, SIGQUIT `-m immediate`, SIGTERM `-m smart`.
   */
  kill(signal?: NodeJS.Signals): Promise<void>;
  /** (Re)starts the server on its data dir and port; resolves once it accepts connections. */
  start(): Promise<void>;
  readonly running: boolean;
  /** Shuts the server down and removes its temp dir (never a caller's `dataDir`). */
  stop(): Promise<void>;
}

/** Options of {@link startPostgres}. */
export interface StartPostgresOptions {
  /**
   * Data directory to use and keep: initialized when it holds no cluster yet, reused (with its data)
   * when it does. When we are root it is chowned to `postgres`, whose account must be able to reach it.
   * @default a fresh dir inside the server's temp dir, removed on stop
   */
  dataDir?: string;
  /**
   * Commits survive a crash of the server process (`-m immediate`, SIGKILL), as they do in production:
   * each commit is written to the OS before it is acknowledged (still no fsync: a crash of the machine
   * may lose it). Otherwise commits are acknowledged before the WAL is written, which is faster, and a
   * crash loses the last ones — which an outage test would take for rows lost by Idra.
   * @default false
   */
  crashSafe?: boolean;
}

async function probe(url: string): Promise<void> {
  const client = new pg.Client({ connectionString: url, connectionTimeoutMillis: 2_000 });
  try {
    await client.connect();
  } finally {
    await client.end().catch(() => undefined);
  }
}

/** Starts a throwaway PostgreSQL (trust auth, no fsync, `wal_level=logical`) on a free port and resolves once it accepts connections. */
export async function startPostgres(opts: StartPostgresOptions = {}): Promise<PostgresServer> {
  const initdb = findExecutable('initdb', 'postgresql-15', postgresBinDirs());
  return inWorkDir('idra-postgres-', async (workDir) => {
    const dataDir = opts.dataDir ?? join(workDir, 'data');
    const logFile = join(workDir, 'postgres.log');
    const user = serviceUser('postgres');
    await mkdir(dataDir, { recursive: true, mode: 0o700 });
    if (user !== undefined) {
      await chown(workDir, user.uid, user.gid);
      await chown(dataDir, user.uid, user.gid);
    }
    const launch = { server: 'postgres', user, logFile, cwd: workDir } as const;
    if (!existsSync(join(dataDir, 'PG_VERSION'))) {
      await runToCompletion({
        ...launch,
        command: initdb,
        args: ['-D', dataDir, '-A', 'trust', '-U', 'postgres', '--no-sync', '-E', 'UTF8', '--locale=C'],
      });
    }
    const host = '127.0.0.1';
    const port = await freePort();
    const url = `postgres://postgres@${host}:${port}/postgres`;
    const server = new ServerProcess({
      ...launch,
      command: join(dirname(initdb), 'postgres'),
      args: [
        '-D',
        dataDir,
        '-p',
        String(port),
        '-k',
        workDir,
        '-c',
        `listen_addresses=${host}`,
        '-c',
        'fsync=off',
        '-c',
        `synchronous_commit=${opts.crashSafe ? 'on' : 'off'}`,
        '-c',
        'full_page_writes=off',
        '-c',
        'max_connections=300',
        // Logical replication for the cdc mode's tests: the slots and walsenders cost nothing until used.
        '-c',
        'wal_level=logical',
        '-c',
        'max_replication_slots=64',
        '-c',
        'max_wal_senders=64',
      ],
      // SIGINT is PostgreSQL's "fast" shutdown; SIGTERM would wait for every client to disconnect.
      stopSignal: 'SIGINT',
      probe: () => probe(url),
    });
    await server.start();
    return Object.assign(serverControls(server, workDir), {
      url,
      host,
      port,
    });
  });
}
