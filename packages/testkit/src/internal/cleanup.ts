import type { ChildProcess } from 'node:child_process';
import { rmSync } from 'node:fs';
import { rm } from 'node:fs/promises';

// Everything a test process started and has not stopped yet. Servers are also spawned with a
// parent-death signal (see server-process.ts), so even a SIGKILLed test process leaks no server;
// this registry makes a normal exit, or a SIGTERM from the test runner, leave no temp dir behind.
const children = new Set<ChildProcess>();
const dirs = new Set<string>();
let hooksInstalled = false;

function cleanUpNow(): void {
  for (const child of children) child.kill('SIGKILL');
  children.clear();
  for (const dir of dirs) {
    try {
      rmSync(dir, { recursive: true, force: true, maxRetries: 3 });
    } catch {
      // Exit handlers must not throw; a dir a dying server still writes to may resist removal.
    }
  }
  dirs.clear();
}

function onSignal(signal: NodeJS.Signals): void {
  cleanUpNow();
  // A listener disables the default "terminate"; re-raise unless someone else handles the signal.
  if (process.listenerCount(signal) === 0) process.kill(process.pid, signal);
}

function installHooks(): void {
  if (hooksInstalled) return;
  hooksInstalled = true;
  process.on('exit', cleanUpNow);
  for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) process.once(signal, onSignal);
}

/** Kills `child` with SIGKILL if this process exits while it still runs. */
export function killAtExit(child: ChildProcess): void {
  installHooks();
  children.add(child);
  child.once('exit', () => children.delete(child));
}

/** Removes `dir` if this process exits before `removeDir` was called for it. */
export function removeAtExit(dir: string): void {
  installHooks();
  dirs.add(dir);
}

/** Removes `dir` now and forgets it. */
export async function removeDir(dir: string): Promise<void> {
  await rm(dir, { recursive: true, force: true, maxRetries: 3 });
  dirs.delete(dir);
}
