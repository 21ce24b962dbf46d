import type { ReconciliationReport } from './runner/status.ts';

/** Base class of every error Idra raises on purpose; `code` is stable and shown by the API and UI. */
export class IdraError extends Error {
  readonly code: string;
  constructor(code: string, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.code = code;
    this.name = new.target.name;
  }
}

/** One problem in a configuration document, located by a dotted path such as `syncs[0].source.table`. */
export interface ConfigIssue {
  path: string;
  message: string;
}

/** A sync, data source or agent configuration that cannot be used as given. */
export class ConfigError extends IdraError {
  readonly issues: ConfigIssue[];
  constructor(issues: ConfigIssue[], context?: string) {
    const head = context ? `${context}: ` : '';
    super('IDRA_ERR_CONFIG_INVALID', head + issues.map((i) => (i.path ? `${i.path}: ${i.message}` : i.message)).join('; '));
    this.issues = issues;
  }
}

/**
 * A failure talking to a source or destination. `transient` errors (network, authentication,
 * server restarting, missing table) are retried with backoff; the others are reported as they are.
 */
export class ConnectorError extends IdraError {
  readonly connector: string;
  readonly role: 'source' | 'destination';
  readonly syncId: string | undefined;
  readonly transient: boolean;
  constructor(args: {
    connector: string;
    role: 'source' | 'destination';
    syncId?: string | undefined;
    transient: boolean;
    message: string;
    cause?: unknown;
    code?: string;
  }) {
    super(args.code ?? 'IDRA_ERR_CONNECTOR', `${args.connector} ${args.role}: ${args.message}`, { cause: args.cause });
    this.connector = args.connector;
    this.role = args.role;
    this.syncId = args.syncId;
    this.transient = args.transient;
  }
}

/**
 * A cursor source cannot see other sessions' open transactions (a missing privilege, a standby, SQL
 * Server) and the sync has not accepted that `delayMs` alone protects the rows they commit late: it
 * reads nothing. A configuration problem that a GRANT can fix without changing the sync, so the
 * runner checks it again periodically instead of waiting for a new configuration.
 */
export class WatermarkBlindError extends IdraError {
  readonly connector: string;
  readonly syncId: string | undefined;
  /** The statement that gives the source's user the missing privilege, when one does. */
  readonly grant: string | undefined;
  constructor(args: { connector: string; syncId?: string | undefined; message: string; grant?: string | undefined }) {
    super('IDRA_ERR_CONFIG_WATERMARK_BLIND', `${args.connector} source: ${args.message}`);
    this.connector = args.connector;
    this.syncId = args.syncId;
    this.grant = args.grant;
  }
}

/** The destination refused one specific row (constraint, type, size); the sync's `onError` policy decides. */
export class RowRejectedError extends IdraError {
  /** The rejected row, when the batch held only that one. */
  readonly row: Record<string, unknown> | undefined;
  /** The column the destination named in its refusal, when it named one. */
  readonly column: string | undefined;
  constructor(row: Record<string, unknown> | undefined, cause: unknown, column?: string) {
    super('IDRA_ERR_ROW_REJECTED', `row rejected: ${errorMessage(cause)}`, { cause });
    this.row = row;
    this.column = column;
  }
}

/**
 * The source's columns changed in a way the sync's `schemaChanges` policy does not follow (any change
 * under `fail`, a narrowing or incompatible type change under `evolve`): the sync stops, naming the
 * column, its old and new type and how to proceed, until someone acts.
 */
export class SchemaChangeError extends IdraError {
  readonly column: string;
  constructor(args: { column: string; message: string }) {
    super('IDRA_ERR_SCHEMA_CHANGE_REFUSED', args.message);
    this.column = args.column;
  }
}

/**
 * A delete the sync's guard refused: a pass (or a reconciliation) would delete more than
 * `maxDeleteFraction` of the destination's rows, as when a source table is emptied by mistake.
 * Nothing was deleted; the sync stops until someone acts.
 */
export class DeleteGuardError extends IdraError {
  /** What the comparison found before it stopped. */
  readonly report: ReconciliationReport | undefined;
  constructor(message: string, report?: ReconciliationReport) {
    super('IDRA_ERR_DELETE_GUARD', message);
    this.report = report;
  }
}

/** This agent no longer owns the sync (its lock or lease is gone): it must stop writing at once. */
export class FencedError extends IdraError {
  readonly syncId: string;
  constructor(syncId: string, message = 'this agent no longer holds the sync lock') {
    super('IDRA_ERR_OFFSET_FENCED', `sync ${syncId}: ${message}`);
    this.syncId = syncId;
  }
}

/**
 * A sync's connectors raised an error outside any call of theirs (an 'error' event no one listened
 * to, a throw in a driver callback), caught by the process's last-line guard: the sync reopens its
 * connections and retries.
 */
export class UncaughtConnectorError extends IdraError {
  constructor(cause: unknown) {
    super('IDRA_ERR_CONNECTOR_UNCAUGHT', `error raised outside any call by this sync's connections (reconnecting): ${errorMessage(cause)}`, { cause });
  }
}

/** The stored offset cannot be read or written. */
export class OffsetStoreError extends IdraError {
  constructor(message: string, cause?: unknown) {
    super('IDRA_ERR_OFFSET_STORE', message, { cause });
  }
}

/** Message of any thrown value, including the chain of causes, without stack traces. */
export function errorMessage(err: unknown): string {
  if (err instanceof AggregateError && err.errors.length > 0) {
    return err.errors.map((e) => errorMessage(e)).join('; ');
  }
  if (err instanceof Error) {
    const own = err.message || err.name;
    const cause = (err as { cause?: unknown }).cause;
    if (cause !== undefined && cause !== err && !(err instanceof IdraError && own.includes(errorMessage(cause)))) {
      const inner = errorMessage(cause);
      return inner && !own.includes(inner) ? `${own}: ${inner}` : own;
    }
    return own;
  }
  return String(err);
}
