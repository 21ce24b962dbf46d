import { IdraApiError, type ConfigIssue } from '@idra/api-client';

/** 401: no, expired or ended session: the user must log in again. */
export function isUnauthorized(err: unknown): err is IdraApiError {
  return err instanceof IdraApiError && err.status === 401;
}

export function isPasswordChangeRequired(err: unknown): boolean {
  return err instanceof IdraApiError && err.code === 'IDRA_ERR_AUTH_PASSWORD_CHANGE_REQUIRED';
}

export function isNotFound(err: unknown): boolean {
  return err instanceof IdraApiError && err.status === 404;
}

/** The text to show for any error (API errors carry the server's message; a missing server is said plainly). */
export function errorText(err: unknown): string {
  if (
    err instanceof IdraApiError &&
    (err.status === 0 || err.status === 502 || err.status === 503 || err.status === 504) &&
    !err.code.startsWith('IDRA_ERR_ETCD')
  ) {
    return 'The API server cannot be reached right now; this refreshes by itself when it answers again.';
  }
  if (err instanceof Error) return err.message;
  return String(err);
}

/** The per-field issues of a validation error, by path (`source.table`), and the ones without a known field. */
export function issuesOf(err: unknown): ConfigIssue[] {
  if (!(err instanceof IdraApiError)) return [];
  const issues = err.details?.issues;
  return Array.isArray(issues) ? issues : [];
}
