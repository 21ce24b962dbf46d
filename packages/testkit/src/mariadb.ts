import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import mysql from 'mysql2/promise';
import { findExecutable } from './internal/executables.ts';
import { runToCompletion, ServerProcess, inWorkDir, serverControls } from './internal/server-process.ts';
import { freePort } from './free-port.ts';

/** A running throwaway MariaDB server. */
export interface MariadbServer {
  /** `mysql://root@127.0.0.1:<port>/`; root has no password. */
  url: string;
  host: string;
  port: number;
  /**
   * Sends `signal` (SIGKILL unless told otherwise) and waits until the server is gone; its data and port
   * stay for `start()`. SIGTERM shuts down cleanly.
   */
  kill(signal?: NodeJS.Signals): Promise<void>;
  /** (Re)starts the server on its data dir and port; resolves once it accepts connections. */
  start(): Promise<void>;
  readonly running: boolean;
  /** Shuts the server down and removes its temp dir. */
  stop(): Promise<void>;
}

// Small buffers: test data is small and thrown away.
const STORAGE_OPTIONS = ['--innodb-buffer-pool-size=32M', '--innodb-log-file-size=8M'];

/** Options of {@link startMariadb}. */
export interface StartMariadbOptions {
  /**
   * Commits survive a crash of the server process (SIGKILL), as they do in production: the redo log is
   * written to the OS at each commit (`innodb_flush_log_at_trx_commit=2`; flushed to disk once a
   * second). Otherwise it is written once a second, and a crash loses up to a second of acknowledged
   * commits — which an outage test would take for rows lost by Idra.
   * @default false
   */
  crashSafe?: boolean;
  /**
   * Writes the binary log as the cdc mode reads it: row format, full row images, GTIDs in strict mode
   * (MariaDB's GTIDs are always on), server id 1. Otherwise the binlog is off, which is faster.
   * @default false
   */
  binlog?: boolean;
}

async function probe(url: string): Promise<void> {
  const connection = await mysql.createConnection({ uri: url, connectTimeout: 2_000 });
  await connection.end();
}

/** Starts a throwaway MariaDB on a free port and resolves once it accepts connections. */
export async function startMariadb(opts: StartMariadbOptions = {}): Promise<MariadbServer> {
  const installDb = findExecutable('mariadb-install-db', 'mariadb-server');
  const mariadbd = findExecutable('mariadbd', 'mariadb-server');
  return inWorkDir('idra-mariadb-', async (workDir) => {
    const dataDir = join(workDir, 'data');
    // Its own temp dir: temporary tables of a server (or of mariadb-install-db) never meet another's in /tmp.
    const tmpDir = join(workDir, 'tmp');
    await mkdir(tmpDir);
    const launch = { server: 'mariadb', logFile: join(workDir, 'mariadb.log'), cwd: workDir } as const;
    await runToCompletion({
      ...launch,
      command: installDb,
      // --no-defaults must come first; the storage options make the initial redo log small too.
      args: [
        '--no-defaults',
        `--datadir=${dataDir}`,
        '--auth-root-authentication-method=normal',
        '--skip-test-db',
        `--tmpdir=${tmpDir}`,
        ...STORAGE_OPTIONS,
        '--innodb-flush-log-at-trx-commit=0',
      ],
    });
    const host = '127.0.0.1';
    const port = await freePort();
    const url = `mysql://root@${host}:${port}/`;
    const server = new ServerProcess({
      ...launch,
      command: mariadbd,
      args: [
        '--no-defaults',
        // mariadbd refuses to run as root unless told to; the data dir is ours.
        ...(process.getuid?.() === 0 ? ['--user=root'] : []),
        `--datadir=${dataDir}`,
        `--tmpdir=${tmpDir}`,
        `--port=${port}`,
        `--bind-address=${host}`,
        `--socket=${join(workDir, 'mysql.sock')}`,
        `--pid-file=${join(workDir, 'mariadbd.pid')}`,
        ...(opts.binlog
          ? [`--log-bin=${join(dataDir, 'binlog')}`, '--binlog-format=ROW', '--binlog-row-image=FULL', '--server-id=1', '--gtid-strict-mode=1']
          : ['--skip-log-bin']),
        '--max-connections=500',
        ...STORAGE_OPTIONS,
        `--innodb-flush-log-at-trx-commit=${opts.crashSafe ? 2 : 0}`,
      ],
      stopSignal: 'SIGTERM',
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
