import { spawn } from 'node:child_process';
import { closeSync, existsSync, openSync } from 'node:fs';
import { mkdir, readFile, rename, rm, stat, writeFile } from 'node:fs/promises';
import { homedir } from 'node:os';
import { dirname, join } from 'node:path';
import { setTimeout as delay } from 'node:timers/promises';
import { TestServerStartError, type TestServerKind } from '../errors.ts';

// A lock older than this whose owner cannot be checked is taken to be abandoned.
const STALE_LOCK_MS = 20 * 60_000;
const LOCK_POLL_MS = 500;
const LOG_TAIL_LINES = 40;

/** Where provisioned server programs are kept between runs: `IDRA_TESTKIT_CACHE`, or `~/.cache/idra-testkit`. */
export function testkitCacheDir(): string {
  return process.env['IDRA_TESTKIT_CACHE'] || join(homedir(), '.cache', 'idra-testkit');
}

/** What one provisioning step did: whether it had to build, and how long it took. */
export interface ProvisionResult {
  path: string;
  built: boolean;
  ms: number;
}

function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** Holds `<target>.lock` (a directory: mkdir is atomic) while `fn` runs, so that parallel test files build once. */
async function withLock<T>(target: string, fn: () => Promise<T>): Promise<T> {
  const lock = `${target}.lock`;
  await mkdir(dirname(lock), { recursive: true });
  for (;;) {
    try {
      await mkdir(lock);
      await writeFile(join(lock, 'pid'), String(process.pid));
      break;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
      const owner = Number(await readFile(join(lock, 'pid'), 'utf8').catch(() => ''));
      const age =
        Date.now() -
        (await stat(lock)
          .then((s) => s.mtimeMs)
          .catch(() => Date.now()));
      if ((owner > 0 && !processAlive(owner)) || (!(owner > 0) && age > STALE_LOCK_MS)) {
        await rm(lock, { recursive: true, force: true });
        continue;
      }
      await delay(LOCK_POLL_MS);
    }
  }
  try {
    return await fn();
  } finally {
    await rm(lock, { recursive: true, force: true });
  }
}

/**
 * Makes `target` (a directory in the cache) exist: when it does not, `build` fills a staging
 * directory that is then renamed into place, so a half-built target is never seen. Idempotent,
 * and safe when several processes ask at once.
 */
export async function provisionOnce(target: string, build: (staging: string) => Promise<void>): Promise<ProvisionResult> {
  const started = performance.now();
  if (existsSync(target)) return { path: target, built: false, ms: performance.now() - started };
  return withLock(target, async () => {
    if (existsSync(target)) return { path: target, built: false, ms: performance.now() - started };
    const staging = `${target}.staging-${process.pid}`;
    await rm(staging, { recursive: true, force: true });
    await mkdir(staging, { recursive: true });
    try {
      await build(staging);
      await rename(staging, target);
    } catch (error) {
      await rm(staging, { recursive: true, force: true });
      throw error;
    }
    return { path: target, built: true, ms: performance.now() - started };
  });
}

/** How to run one provisioning command (mvn, go build). */
export interface BuildCommand {
  server: TestServerKind;
  command: string;
  args: readonly string[];
  cwd: string;
  /** Output goes here, never to the test output. */
  logFile: string;
  env?: NodeJS.ProcessEnv;
}

/** Runs a build command to completion; rejects with the end of its log when it fails. */
export async function runBuild(spec: BuildCommand): Promise<void> {
  const log = openSync(spec.logFile, 'a');
  let outcome: string;
  try {
    outcome = await new Promise<string>((resolve) => {
      const child = spawn(spec.command, spec.args, { cwd: spec.cwd, env: spec.env ?? process.env, stdio: ['ignore', log, log] });
      child.once('error', (error) => resolve(`could not be spawned: ${error.message}`));
      child.once('exit', (code, signal) => resolve(code === 0 ? '' : signal === null ? `exited with code ${code}` : `was killed by ${signal}`));
    });
  } finally {
    closeSync(log);
  }
  if (outcome !== '') {
    const lines = (await readFile(spec.logFile, 'utf8').catch(() => '')).trimEnd().split('\n');
    throw new TestServerStartError(spec.server, `provisioning: ${spec.command} ${spec.args.join(' ')} ${outcome}`, lines.slice(-LOG_TAIL_LINES).join('\n'));
  }
}
