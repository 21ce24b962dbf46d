import { ConfigError, ConnectorError, RowRejectedError, errorMessage, type EndpointContext } from '@idra/core';

/**
 * The error a non-SQL connector raises for `err`: Idra's own errors pass through, anything else
 * becomes a ConnectorError naming the connector, role and sync, retried unless `transient` is false.
 */
export function connectorFailure(ctx: EndpointContext, err: unknown, opts: { transient?: boolean; context?: string } = {}): Error {
  if (err instanceof ConnectorError || err instanceof RowRejectedError || err instanceof ConfigError) return err;
  const message = opts.context ? `${opts.context}: ${errorMessage(err)}` : errorMessage(err);
  return new ConnectorError({ connector: ctx.endpoint.connector, role: ctx.role, syncId: ctx.sync.id, transient: opts.transient ?? true, message, cause: err });
}
