import { IdraApiError } from '@idra/api-client';

/** Exit codes scripts can rely on; the usage and docs/cli.md list them from {@link EXIT_MEANINGS}. */
export const EXIT = {
  ok: 0,
  error: 1,
  usage: 2,
  auth: 3,
  notFound: 4,
  conflict: 5,
  noStatus: 6,
  timedOut: 7,
  notReached: 8,
} as const;

/** What each exit code means, one line each. */
export const EXIT_MEANINGS: Record<keyof typeof EXIT, string> = {
  ok: 'ok (syncs wait: the state was reached)',
  error: 'error: invalid or refused document, server error, server unreachable',
  usage: 'bad command line',
  auth: 'not logged in, session expired, token revoked, or role too low (HTTP 401/403)',
  notFound: 'no such sync, data source, user, token or channel (HTTP 404); syncs wait: the sync was deleted',
  conflict: 'conflict (HTTP 409): exists already (syncs apply --no-replace), still in use, sync still running, Go Idra still running (migrate)',
  noStatus: 'the sync exists but no agent has reported on it yet (idra status with an id)',
  timedOut: 'syncs wait: --timeout passed before the state was reached',
  notReached: 'syncs wait: the sync failed or was paused instead, so the state will not be reached without an operator',
};

/** The exit codes as the usage and docs/cli.md print them: `  0  ok …`. */
export const exitCodeLines = (): string[] => (Object.keys(EXIT) as Array<keyof typeof EXIT>).map((k) => `  ${String(EXIT[k]).padEnd(2)} ${EXIT_MEANINGS[k]}`);

/** A mistake on the command line (exit code 2). */
export class UsageError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'UsageError';
  }
}

/** A failure that has its own exit code (`syncs wait` timing out, or the sync failing instead). */
export class ExitError extends Error {
  readonly exitCode: number;
  readonly code: string;
  constructor(exitCode: number, code: string, message: string) {
    super(message);
    this.name = 'ExitError';
    this.exitCode = exitCode;
    this.code = code;
  }
}

/** The exit code for an error. */
export function exitCodeOf(err: unknown): number {
  if (err instanceof UsageError) return EXIT.usage;
  if (err instanceof ExitError) return err.exitCode;
  if (err instanceof IdraApiError) {
    if (err.status === 401 || err.status === 403) return EXIT.auth;
    if (err.code === 'IDRA_ERR_SYNC_STATUS_NOT_FOUND') return EXIT.noStatus;
    if (err.status === 404) return EXIT.notFound;
    if (err.status === 409) return EXIT.conflict;
  }
  return EXIT.error;
}
