import { mkdir } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { join } from 'node:path';
import { MongoClient } from 'mongodb';
import { provisionGo } from './go-toolchain.ts';
import { provisionOnce, runBuild, testkitCacheDir, type ProvisionResult } from './internal/provision-cache.ts';
import { ServerProcess, inWorkDir, serverControls } from './internal/server-process.ts';
import { freePort } from './free-port.ts';

/** The FerretDB release run by {@link startFerretdb}: MongoDB's wire protocol over SQLite (1.x still has that backend). */
export const FERRETDB_VERSION = 'v1.24.2';

// A small main package around FerretDB's embedding API, with go.mod and go.sum pinned in the repo.
// (Installing cmd/ferretdb from the module cache panics: its version file is only generated in a git checkout.)
const SOURCE_DIR = fileURLToPath(new URL('../go/ferretdb/', import.meta.url));

/** Builds the FerretDB program into the testkit cache unless it is there (with a Go ≥ 1.24, fetched if need be); returns its directory. */
export async function provisionFerretdb(): Promise<ProvisionResult> {
  return provisionOnce(join(testkitCacheDir(), `ferretdb-${FERRETDB_VERSION}`), async (staging) => {
    const { go } = await provisionGo();
    await runBuild({
      server: 'ferretdb',
      command: go,
      args: ['build', '-trimpath', '-o', join(staging, 'ferretdb'), '.'],
      cwd: SOURCE_DIR,
      logFile: join(staging, 'go-build.log'),
      // Exactly this toolchain (no switch to another one); the module's pinned sums.
      env: { ...process.env, GOTOOLCHAIN: 'local', GOFLAGS: '-mod=readonly', CGO_ENABLED: '0' },
    });
  });
}

/** A running throwaway FerretDB (a MongoDB-compatible server without replica sets or change streams). */
export interface MongoServer {
  /** `mongodb://127.0.0.1:<port>/`. */
  url: string;
  /** Stops the server (SIGKILL unless told otherwise); its data stays for `start()`. */
  kill(signal?: NodeJS.Signals): Promise<void>;
  /** SIGSTOP: the server stops answering, its connections stay open (a hung server), until `resume()`. */
  pause(): void;
  resume(): void;
  /** (Re)starts the server on its data and port; resolves once it answers a ping. */
  start(): Promise<void>;
  readonly running: boolean;
  /** Stops the server and removes its temp dir. */
  stop(): Promise<void>;
}

async function probe(url: string): Promise<void> {
  const client = new MongoClient(url, { serverSelectionTimeoutMS: 1_000, connectTimeoutMS: 1_000, directConnection: true });
  try {
    await client.connect();
    await client.db('admin').command({ ping: 1 });
  } finally {
    await client.close().catch(() => undefined);
  }
}

/** Starts a throwaway FerretDB on SQLite files in a temp dir (building it on first use) and resolves once it answers. */
export async function startFerretdb(): Promise<MongoServer> {
  const { path: home } = await provisionFerretdb();
  return inWorkDir('idra-ferretdb-', async (workDir) => {
    const dataDir = join(workDir, 'data');
    await mkdir(dataDir);
    const port = await freePort();
    const url = `mongodb://127.0.0.1:${port}/`;
    const server = new ServerProcess({
      server: 'ferretdb',
      command: join(home, 'ferretdb'),
      args: ['--listen-addr', `127.0.0.1:${port}`, '--sqlite-url', `file:${dataDir}/`],
      logFile: join(workDir, 'ferretdb.log'),
      cwd: workDir,
      stopSignal: 'SIGTERM',
      probe: () => probe(url),
    });
    await server.start();
    return Object.assign(serverControls(server, workDir), {
      url,
    });
  });
}
