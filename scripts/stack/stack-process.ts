import { spawn, type ChildProcess } from 'node:child_process';
import { closeSync, openSync, readFileSync } from 'node:fs';

/** How to start one process of the local stack. */
export interface StackProcessSpec {
  name: string;
  command: string;
  args: string[];
  env?: NodeJS.ProcessEnv;
  cwd: string;
  /** stdout and stderr are appended here. */
  logFile: string;
}

/**
 * One child process of `pnpm stack`, in its own process group so that a Ctrl-C in the terminal
 * reaches only the stack script, which then stops its children in order (agents before etcd).
 */
export class StackProcess {
  readonly spec: StackProcessSpec;
  private child: ChildProcess | undefined;
  private exitedPromise: Promise<number | null> = Promise.resolve(null);
  private stopping = false;

  constructor(spec: StackProcessSpec) {
    this.spec = spec;
  }

  get pid(): number | undefined {
    return this.child?.pid;
  }

  get running(): boolean {
    return this.child !== undefined && this.child.exitCode === null && this.child.signalCode === null;
  }

  /** Starts the process; `onUnexpectedExit` is called if it exits before `stop`. */
  start(onUnexpectedExit: (code: number | null, signal: NodeJS.Signals | null) => void): void {
    const log = openSync(this.spec.logFile, 'a');
    try {
      this.child = spawn(this.spec.command, this.spec.args, {
        cwd: this.spec.cwd,
        env: this.spec.env ?? process.env,
        stdio: ['ignore', log, log],
        detached: true,
      });
    } finally {
      closeSync(log);
    }
    const child = this.child;
    this.exitedPromise = new Promise((resolve) => {
      child.once('exit', (code, signal) => {
        if (!this.stopping) onUnexpectedExit(code, signal);
        resolve(code);
      });
      child.once('error', () => resolve(null));
    });
  }

  /** Sends `signal`, waits up to `timeoutMs`, then kills the process. */
  async stop(signal: NodeJS.Signals = 'SIGTERM', timeoutMs = 10_000): Promise<void> {
    this.stopping = true;
    if (!this.running) return;
    this.child!.kill(signal);
    const timer = setTimeout(() => this.child!.kill('SIGKILL'), timeoutMs);
    await this.exitedPromise;
    clearTimeout(timer);
  }

  /** What identifies this process in `/proc/<pid>/cmdline`, so that a later run can find it if it was left behind. */
  get cmdline(): string {
    return [this.spec.command, ...this.spec.args].join('\0');
  }
}

/** True when `pid` runs exactly the command line recorded for it (not a reused pid). */
export function runsCommand(pid: number, cmdline: string): boolean {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, 'utf8').replace(/\0$/, '') === cmdline;
  } catch {
    return false;
  }
}
