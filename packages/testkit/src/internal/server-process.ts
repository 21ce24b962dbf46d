import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { closeSync, openSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { basename } from 'node:path';
import { setTimeout as delay } from 'node:timers/promises';
import { TestServerStartError, type TestServerKind } from '../errors.ts';
import { killAtExit, removeDir } from './cleanup.ts';
import { tempDir } from '../temp-dir.ts';

const POLL_INTERVAL_MS = 50;
const START_TIMEOUT_MS = 30_000;
const STOP_GRACE_MS = 10_000;
const LOG_TAIL_LINES = 40;

/** An OS account to run a server as. */
export interface ServiceUser {
  name: string;
  uid: number;
  gid: number;
}

/** The account a server runs as: `name` when this process is root (PostgreSQL refuses root), otherwise none (ourselves). */
export function serviceUser(name: string): ServiceUser | undefined {
  if (process.getuid?.() !== 0) return undefined;
  const id = (flag: string): number => Number(execFileSync('id', [flag, name], { encoding: 'utf8' }).trim());
  return { name, uid: id('-u'), gid: id('-g') };
}

/** How to launch one server program. */
export interface LaunchSpec {
  /** Which server this is, for error messages. */
  server: TestServerKind;
  /** Absolute path of the program. */
  command: string;
  args: readonly string[];
  /** Run as this account; `undefined` runs as ourselves. */
  user?: ServiceUser | undefined;
  /** stdout and stderr are appended to this file, never to the test output. */
  logFile: string;
  cwd: string;
  /** Environment of the program. @default this process's environment */
  env?: NodeJS.ProcessEnv | undefined;
}

// setpriv execs in place (runuser forks a watching parent, and SIGKILLing that would orphan the
// server) and sets a parent-death signal, so the server dies with the test process even when that
// one is SIGKILLed and no exit handler runs.
function spawnLogged(spec: LaunchSpec): ChildProcess {
  const switchUser = spec.user === undefined ? [] : ['--reuid', String(spec.user.uid), '--regid', String(spec.user.gid), '--init-groups'];
  const log = openSync(spec.logFile, 'a');
  try {
    const child = spawn('setpriv', [...switchUser, '--pdeathsig', 'KILL', '--', spec.command, ...spec.args], {
      cwd: spec.cwd,
      env: spec.env ?? process.env,
      stdio: ['ignore', log, log],
    });
    killAtExit(child);
    return child;
  } finally {
    closeSync(log);
  }
}

/** Resolves with how the child ended, e.g. "exited with code 1". */
function outcomeOf(child: ChildProcess): Promise<string> {
  return new Promise((resolve) => {
    child.once('exit', (code, signal) => resolve(signal === null ? `exited with code ${code}` : `was killed by ${signal}`));
    child.once('error', (error) => resolve(`could not be spawned: ${error.message}`));
  });
}

async function readLogTail(logFile: string): Promise<string> {
  try {
    const lines = (await readFile(logFile, 'utf8')).trimEnd().split('\n');
    return lines.slice(-LOG_TAIL_LINES).join('\n');
  } catch (error) {
    return `(no log: ${(error as Error).message})`;
  }
}

/** Runs a one-shot setup program (initdb, mariadb-install-db) and rejects with its log tail if it fails. */
export async function runToCompletion(spec: LaunchSpec): Promise<void> {
  const child = spawnLogged(spec);
  const outcome = await outcomeOf(child);
  if (child.exitCode !== 0) {
    throw new TestServerStartError(spec.server, `${basename(spec.command)} ${outcome}`, await readLogTail(spec.logFile));
  }
}

/** How to launch, probe and stop one long-running server program. */
export interface ServerSpec extends LaunchSpec {
  /** The signal that shuts the server down cleanly. */
  stopSignal: NodeJS.Signals;
  /** Resolves once the server serves requests; rejects (e.g. connection refused) while it does not, within a few seconds. */
  probe: () => Promise<void>;
  /**
   * How long the server may take to become ready.
   * @default 30000
   */
  startTimeoutMs?: number;
}

/** One server program that can be started, stopped and started again on the same files. */
export class ServerProcess {
  readonly #spec: ServerSpec;
  #child: ChildProcess | undefined;
  #outcome: Promise<string> = Promise.resolve('was never started');

  constructor(spec: ServerSpec) {
    this.#spec = spec;
  }

  /** Whether the program is running (it may not be ready yet). */
  get running(): boolean {
    const child = this.#child;
    return child?.pid !== undefined && child.exitCode === null && child.signalCode === null;
  }

  /** Spawns the program unless it runs, and resolves once `ready` (by default the spec's probe) passes; kills it and rejects with its log tail if it does not get there. */
  async start(ready: () => Promise<void> = this.#spec.probe): Promise<void> {
    if (this.running) return;
    this.#child = spawnLogged(this.#spec);
    this.#outcome = outcomeOf(this.#child);
    try {
      await this.waitUntil(ready);
    } catch (error) {
      await this.stop('SIGKILL');
      throw error;
    }
  }

  /** Polls `probe` every 50 ms until it passes; rejects with the log tail if the program ends or a timeout passes first. */
  async waitUntil(probe: () => Promise<void>): Promise<void> {
    const timeoutMs = this.#spec.startTimeoutMs ?? START_TIMEOUT_MS;
    const deadline = Date.now() + timeoutMs;
    let probeError: unknown;
    for (;;) {
      try {
        await probe();
        // A probe that passes while our program is gone reached someone else on that port.
        if (this.running) return;
      } catch (error) {
        probeError = error;
      }
      if (!this.running) throw await this.#startError(await this.#outcome, probeError);
      if (Date.now() >= deadline) throw await this.#startError(`was not ready after ${timeoutMs} ms`, probeError);
      await delay(POLL_INTERVAL_MS);
    }
  }

  /** Freezes the program (SIGSTOP) or thaws it (SIGCONT): a server that accepts nothing and answers nothing, with its connections open. */
  freeze(frozen: boolean): void {
    if (this.running) this.#child!.kill(frozen ? 'SIGSTOP' : 'SIGCONT');
  }

  /** Sends `signal` (by default the clean-shutdown one), escalates to SIGKILL after a grace period, and waits for the exit. */
  async stop(signal: NodeJS.Signals = this.#spec.stopSignal): Promise<void> {
    const child = this.#child;
    if (child === undefined || !this.running) return;
    const escalation = setTimeout(() => child.kill('SIGKILL'), STOP_GRACE_MS);
    // A frozen program would only see the signal once thawed.
    child.kill('SIGCONT');
    child.kill(signal);
    await this.#outcome;
    clearTimeout(escalation);
  }

  async #startError(reason: string, probeError: unknown): Promise<TestServerStartError> {
    const probeNote = probeError === undefined ? '' : ` (last probe: ${(probeError as Error).message})`;
    return new TestServerStartError(this.#spec.server, `${basename(this.#spec.command)} ${reason}${probeNote}`, await readLogTail(this.#spec.logFile), {
      cause: probeError,
    });
  }
}

/** What every throwaway server hands out: `kill`/`start` for failure tests, `stop` also removes its work dir. */
export interface ServerControls {
  kill(signal?: NodeJS.Signals): Promise<void>;
  /** SIGSTOP: the server stops answering, its connections stay open (a hung server), until {@link resume}. */
  pause(): void;
  /** SIGCONT after {@link pause}. */
  resume(): void;
  start(): Promise<void>;
  readonly running: boolean;
  stop(): Promise<void>;
}

/** The controls of a started server living in `workDir`; `stopSignal` overrides the spec's for `stop`. */
export function serverControls(server: ServerProcess, workDir: string, stopSignal?: NodeJS.Signals): ServerControls {
  return {
    kill: (signal = 'SIGKILL') => server.stop(signal),
    pause: () => server.freeze(true),
    resume: () => server.freeze(false),
    start: () => server.start(),
    get running() {
      return server.running;
    },
    async stop() {
      await server.stop(stopSignal);
      await removeDir(workDir);
    },
  };
}

/** Runs `start` in a fresh temp dir, which is removed again when starting fails. */
export async function inWorkDir<T>(prefix: string, start: (workDir: string) => Promise<T>): Promise<T> {
  const workDir = await tempDir(prefix);
  try {
    return await start(workDir);
  } catch (error) {
    await removeDir(workDir);
    throw error;
  }
}
