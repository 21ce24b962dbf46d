import { AsyncLocalStorage } from 'node:async_hooks';
import { errorMessage } from '../errors.ts';
import type { Logger } from '../log.ts';

/** The sync that owns the asynchronous work running now, and how to hand it an error raised outside any call. */
export interface StrayErrorOwner {
  syncId: string;
  fail(err: unknown): void;
}

const owners = new AsyncLocalStorage<StrayErrorOwner>();

/** Runs `fn` so that everything it starts (connections, their sockets and callbacks) belongs to `owner`. */
export function runAsSync<T>(owner: StrayErrorOwner, fn: () => T): T {
  return owners.run(owner, fn);
}

export type StrayErrorKind = 'uncaught exception' | 'unhandled rejection';

/**
 * The process's last line of defence. An uncaught exception or an unhandled rejection — a driver's
 * 'error' event that no one listened to, a throw in one of its callbacks — is logged with its stack
 * and handed to the sync whose work raised it (found by the asynchronous context it was raised in),
 * which reopens its connections and retries with the error in its status. The process keeps running:
 * one sync's fault must not end the others. `onStray` is told of each one (metrics).
 */
export function guardProcess(log: Logger, onStray?: (kind: StrayErrorKind, syncId: string | undefined) => void): void {
  const handle = (kind: StrayErrorKind) => (err: unknown) => {
    const owner = owners.getStore();
    owner?.fail(err);
    const syncId = owner?.syncId;
    log.error(
      { err: errorMessage(err), stack: (err as Error | undefined)?.stack, syncId },
      syncId ? `${kind} in sync ${syncId}: it reconnects and retries` : `${kind} (kept running)`,
    );
    onStray?.(kind, syncId);
  };
  process.on('uncaughtException', handle('uncaught exception'));
  process.on('unhandledRejection', handle('unhandled rejection'));
}
