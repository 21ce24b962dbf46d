import type { Socket } from 'node:net';

/**
 * `options.statementTimeoutMs` of a SQL endpoint: how long a connection in use may stay silent (no
 * answer to a statement, no progress of a COPY) before the agent closes it and the call fails — the
 * only way out of a blackholed network, where TCP waits many minutes. @default 120000
 */
export function statementTimeoutMs(options: Record<string, unknown> | undefined): number {
  return Number(options?.statementTimeoutMs ?? 120_000);
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
