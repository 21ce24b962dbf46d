import { mkdir } from 'node:fs/promises';
import { request } from 'node:http';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { ServerProcess, inWorkDir, serverControls } from './internal/server-process.ts';
import { freePort } from './free-port.ts';

/** A running throwaway S3-compatible server (s3rver, path-style addressing). */
export interface S3Server {
  /** `http://127.0.0.1:<port>`: give it to the S3 client as a custom endpoint with path-style addressing. */
  url: string;
  /** Credentials the server accepts. */
  accessKeyId: string;
  secretAccessKey: string;
  region: string;
  /** Stops the server (SIGKILL unless told otherwise); its objects stay for `start()`. */
  kill(signal?: NodeJS.Signals): Promise<void>;
  /** SIGSTOP: the server stops answering, its connections stay open (a hung server), until `resume()`. */
  pause(): void;
  resume(): void;
  /** (Re)starts the server on its directory and port. */
  start(): Promise<void>;
  readonly running: boolean;
  /** Stops the server and removes its temp dir with the objects. */
  stop(): Promise<void>;
}

function probe(url: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const req = request(`${url}/`, { agent: false, timeout: 2_000 }, (res) => {
      res.resume();
      res.on('end', () => (res.statusCode === 200 ? resolve() : reject(new Error(`GET ${url}/: HTTP ${res.statusCode}`))));
    });
    req.on('timeout', () => req.destroy(new Error(`GET ${url}/ timed out`)));
    req.on('error', reject);
    req.end();
  });
}

/**
 * Starts s3rver (npm) in its own Node process on a free port, storing objects in a temp dir.
 * It needs OpenSSL's legacy provider: without it, paginated ListObjectsV2 answers 500.
 */
export async function startS3(): Promise<S3Server> {
  const require = createRequire(import.meta.url);
  const bin = join(require.resolve('s3rver/package.json'), '..', 'bin', 's3rver.js');
  return inWorkDir('idra-s3-', async (workDir) => {
    const dataDir = join(workDir, 'data');
    await mkdir(dataDir);
    const port = await freePort();
    const url = `http://127.0.0.1:${port}`;
    const server = new ServerProcess({
      server: 's3',
      command: process.execPath,
      args: [bin, '--directory', dataDir, '--address', '127.0.0.1', '--port', String(port), '--no-vhost-buckets'],
      env: { ...process.env, NODE_OPTIONS: '--openssl-legacy-provider' },
      logFile: join(workDir, 's3rver.log'),
      cwd: workDir,
      stopSignal: 'SIGTERM',
      probe: () => probe(url),
    });
    await server.start();
    return Object.assign(serverControls(server, workDir), {
      url,
      // s3rver's fixed credentials.
      accessKeyId: 'S3RVER',
      secretAccessKey: 'S3RVER',
      region: 'us-east-1',
    });
  });
}
