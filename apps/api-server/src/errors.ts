import type { ConfigIssue } from '@idra/core';

/** An error the API answers with on purpose: HTTP status, stable code, message, details. */
export class ApiError extends Error {
  readonly statusCode: number;
  readonly code: string;
  readonly details: Record<string, unknown> | undefined;
  constructor(statusCode: number, code: string, message: string, details?: Record<string, unknown>) {
    super(message);
    this.name = new.target.name;
    this.statusCode = statusCode;
    this.code = code;
    this.details = details;
  }
}

/** A request whose body, parameters or query string do not match the route's schema. */
export class RequestValidationError extends ApiError {
  readonly issues: ConfigIssue[];
  constructor(location: string, issues: ConfigIssue[]) {
    const named = issues.map((i) => (i.path ? `${i.path}: ${i.message}` : i.message)).join('; ');
    super(400, 'IDRA_ERR_API_VALIDATION', `invalid request ${location}: ${named}`, { location, issues });
    this.issues = issues;
  }
}

export class NotFoundError extends ApiError {
  constructor(what: string, id: string) {
    super(404, `IDRA_ERR_${what.toUpperCase().replace(/[^A-Z]+/g, '_')}_NOT_FOUND`, `${what} '${id}' does not exist`, { id });
  }
}

export class ConflictError extends ApiError {
  constructor(code: string, message: string, details?: Record<string, unknown>) {
    super(409, code, message, details);
  }
}

/** Not authenticated (no, bad, expired or revoked credentials). */
export class UnauthorizedError extends ApiError {
  constructor(code: string, message: string) {
    super(401, code, message);
  }
}

/** Authenticated but not allowed. */
export class ForbiddenError extends ApiError {
  constructor(code: string, message: string, details?: Record<string, unknown>) {
    super(403, code, message, details);
  }
}

/** A request that is well-formed but cannot be carried out as given (one issue per bad field). */
export class BadRequestError extends ApiError {
  constructor(code: string, message: string, issues?: ConfigIssue[], details?: Record<string, unknown>) {
    super(400, code, message, issues || details ? { ...details, ...(issues ? { issues } : {}) } : undefined);
  }
}

/** A PUT of a document whose `id` is not the one in its path (renaming by PUT is not a thing): 400 naming the field. */
export function requireIdOfPath(bodyId: string, pathId: string): void {
  if (bodyId !== pathId)
    throw new BadRequestError('IDRA_ERR_API_ID_MISMATCH', `id: '${bodyId}' differs from the path's '${pathId}'`, [
      { path: 'id', message: 'differs from the id in the path' },
    ]);
}
