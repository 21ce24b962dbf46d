import type { Socket } from 'node:net';
import { Option } from '@idra/core';

const DEFAULT_MS = 120_000;

/**
 * `options.statementTimeoutMs` of the SQL dialects that talk to a server: how long a connection in use
 * may stay silent (no answer to a statement, no progress of a COPY) before the agent closes it and the
 * batch is retried — the only way out of a blackholed network, where TCP waits many minutes.
 */
export const STATEMENT_TIMEOUT_OPTION = Option.duration(
  'a connection in use silent this long (no answer, a COPY not moving) is closed and the batch retried; SQL Server: the longest a statement may run',
  DEFAULT_MS,
);

/** The statement timeout of a driver's resolved options. */
export function statementTimeoutMs(options: Record<string, unknown> | undefined): number {
  return Number(options?.statementTimeoutMs ?? DEFAULT_MS);
}

/**
 * Closes `socket` with an error once it has been silent both ways for `ms`, which fails the call in
 * flight on it. Returns the function that stops watching (the connection goes back to its pool).
 */
export function closeWhenSilent(socket: Socket | undefined, ms: number): () => void {
  if (!socket) return () => {};
  const onSilence = () => socket.destroy(new Error(`no answer from the server for ${ms} ms (statementTimeoutMs); connection closed`));
  socket.setTimeout(ms);
  socket.once('timeout', onSilence);
  return () => {
    socket.setTimeout(0);
    socket.off('timeout', onSilence);
  };
}
