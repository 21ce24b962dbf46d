import { spawn, type ChildProcess } from 'node:child_process';
import { killAtExit } from './internal/cleanup.ts';
import { until } from './until.ts';

/** A log line as a record: JSON lines parsed, any other line as `{ msg: line }`. */
function parseLogLine(line: string): Record<string, unknown> {
  try {
    const parsed: unknown = JSON.parse(line);
    return parsed !== null && typeof parsed === 'object' ? (parsed as Record<string, unknown>) : { msg: line };
  } catch {
    return { msg: line };
  }
}

export interface SpawnOptions {
  env?: NodeJS.ProcessEnv | undefined;
  cwd?: string | undefined;
  stdin?: 'pipe' | 'ignore' | undefined;
  /** Turns each output line into the record kept in {@link SpawnedProcess.lines}. @default JSON, else `{ msg: line }` */
  parseLine?: ((line: string) => Record<string, unknown>) | undefined;
}

/** A program a test started, its stdout and stderr kept (interleaved, as it wrote them). */
export class SpawnedProcess {
  readonly child: ChildProcess;
  /** Resolves with the exit code (null when a signal ended it). */
  readonly exited: Promise<number | null>;
  /** Its complete output lines so far, parsed (see {@link SpawnOptions.parseLine}). */
  readonly lines: Array<Record<string, unknown>> = [];
  private text = '';
  private partial = '';
  private readonly listeners = new Set<(chunk: string) => void>();

  constructor(command: string, args: readonly string[], opts: SpawnOptions = {}) {
    this.child = spawn(command, args, { env: opts.env ?? process.env, cwd: opts.cwd, stdio: [opts.stdin ?? 'ignore', 'pipe', 'pipe'] });
    killAtExit(this.child);
    const parse = opts.parseLine ?? parseLogLine;
    const onData = (d: Buffer) => {
      const chunk = d.toString();
      this.text += chunk;
      this.partial += chunk;
      let nl: number;
      while ((nl = this.partial.indexOf('\n')) >= 0) {
        const line = this.partial.slice(0, nl);
        this.partial = this.partial.slice(nl + 1);
        if (line.trim() !== '') this.lines.push(parse(line));
      }
      for (const l of this.listeners) l(chunk);
    };
    this.child.stdout!.on('data', onData);
    this.child.stderr!.on('data', onData);
    this.exited = new Promise((resolve) => {
      this.child.once('exit', (code) => resolve(code));
      this.child.once('error', () => resolve(null));
    });
  }

  /** Everything it wrote so far. */
  output(): string {
    return this.text;
  }

  /** Calls `listener` with every chunk written from now on. */
  onOutput(listener: (chunk: string) => void): void {
    this.listeners.add(listener);
  }

  get running(): boolean {
    return this.child.exitCode === null && this.child.signalCode === null;
  }

  /**
   * Waits until `ready` holds: an output pattern, or a probe (e.g. an HTTP request). Rejects with the
   * output when the process exits first or `timeoutMs` passes.
   */
  async waitFor(what: string, ready: RegExp | (() => Promise<boolean> | boolean), timeoutMs = 60_000): Promise<void> {
    const check = typeof ready === 'function' ? ready : () => ready.test(this.text);
    const outcome = await until(what, async () => ((await check()) ? 'ready' : !this.running && 'exited'), { timeoutMs }).catch((err: Error) => err);
    if (outcome === 'ready') return;
    const reason = outcome === 'exited' ? `exited (code ${this.child.exitCode ?? this.child.signalCode}) before ${what}` : outcome.message;
    throw new Error(`${reason}; its output:\n${this.text.slice(-4000)}`, { cause: outcome });
  }

  /** Sends `signal` (SIGCONT first, so a frozen process sees it), kills it after `graceMs`, and resolves with the exit code. */
  async stop(signal: NodeJS.Signals = 'SIGTERM', graceMs = 15_000): Promise<number | null> {
    if (this.running) {
      const escalation = setTimeout(() => this.child.kill('SIGKILL'), graceMs);
      this.child.kill('SIGCONT');
      this.child.kill(signal);
      await this.exited;
      clearTimeout(escalation);
    }
    return this.exited;
  }
}

/** Starts a program and resolves once `ready` holds (see {@link SpawnedProcess.waitFor}); killed again if it never gets there. */
export async function spawnUntilReady(
  command: string,
  args: readonly string[],
  opts: SpawnOptions & { ready: RegExp | (() => Promise<boolean> | boolean); what?: string; timeoutMs?: number },
): Promise<SpawnedProcess> {
  const proc = new SpawnedProcess(command, args, opts);
  try {
    await proc.waitFor(opts.what ?? `${command} to be ready`, opts.ready, opts.timeoutMs);
  } catch (err) {
    await proc.stop('SIGKILL');
    throw err;
  }
  return proc;
}
