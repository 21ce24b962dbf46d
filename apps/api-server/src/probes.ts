import type { FastifyRequest } from 'fastify';
import type { TestConnectionOptions } from '@idra/connectors';
import { attemptLimit } from './auth/attempt-counter.ts';
import { principalOf } from './plugins/auth.ts';

/** Options of the route plugins that open connections on request (test connection, table listing, source checks). */
export interface ProbeRouteOptions {
  /** Such requests per user per minute, shared by every API server. */
  testConnectionRateLimit: number;
}

/**
 * `config.rateLimit` of a route that opens a connection on request: per user, whatever address they
 * call from, so that nobody maps a network through the API server at speed.
 */
export function probeLimit(opts: ProbeRouteOptions) {
  return attemptLimit(opts.testConnectionRateLimit, 'test connection', (req) => principalOf(req).userId, 'IDRA_ERR_API_RATE_LIMITED');
}

/** How a connection opened for this request reports a target it could not reach: the caller reads "could not reach", the log the driver's words. */
export function probeOptions(req: FastifyRequest): TestConnectionOptions {
  return { onUnreachable: (cause) => req.log.warn({ cause, by: principalOf(req).name }, 'test connection could not reach its target') };
}
