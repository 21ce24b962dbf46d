import { IdraApiError } from '@idra/api-client';

/** Exit codes scripts can rely on. */
export const EXIT = {
  ok: 0,
  /** Anything else: invalid document, server error, server unreachable. */
  error: 1,
  /** Bad command line. */
  usage: 2,
  /** Not logged in, session expired, token revoked, or role too low (HTTP 401/403). */
  auth: 3,
  /** No such sync, data source, user or token (HTTP 404). */
  notFound: 4,
  /** Conflict: exists already, sync still running, last admin (HTTP 409). */
  conflict: 5,
} as const;

/** A mistake on the command line (exit code 2). */
export class UsageError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'UsageError';
  }
}

/** The exit code for an error. */
export function exitCodeOf(err: unknown): number {
  if (err instanceof UsageError) return EXIT.usage;
  if (err instanceof IdraApiError) {
    if (err.status === 401 || err.status === 403) return EXIT.auth;
    if (err.status === 404) return EXIT.notFound;
    if (err.status === 409) return EXIT.conflict;
  }
  return EXIT.error;
}
