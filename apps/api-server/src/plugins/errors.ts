import fp from 'fastify-plugin';
import type { FastifyError, FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { ClientClosedError, ClientRuntimeError, EtcdError, GRPCGenericError } from 'etcd3';
import { ConfigError, IdraError, schemaIssues, type ConfigIssue } from '@idra/core';
import type { TSchema } from '@sinclair/typebox';
import type { ApiErrorBody } from '@idra/api-client';
import { ApiError, RequestValidationError } from '../errors.ts';

const LOCATIONS: Record<string, string> = { body: 'body', params: 'path parameters', querystring: 'query string', headers: 'headers' };

function isEtcdError(err: unknown): boolean {
  return err instanceof GRPCGenericError || err instanceof EtcdError || err instanceof ClientRuntimeError || err instanceof ClientClosedError;
}

/** Fastify's own refusals (parsing, size, media type), by their codes. */
const FASTIFY_CODES: Record<string, { status: number; code: string }> = {
  FST_ERR_CTP_BODY_TOO_LARGE: { status: 413, code: 'IDRA_ERR_API_BODY_TOO_LARGE' },
  FST_ERR_CTP_INVALID_MEDIA_TYPE: { status: 415, code: 'IDRA_ERR_API_UNSUPPORTED_MEDIA_TYPE' },
  FST_ERR_CTP_EMPTY_JSON_BODY: { status: 400, code: 'IDRA_ERR_API_MALFORMED_JSON' },
  FST_ERR_CTP_INVALID_JSON_BODY: { status: 400, code: 'IDRA_ERR_API_MALFORMED_JSON' },
  FST_ERR_CTP_INVALID_CONTENT_LENGTH: { status: 400, code: 'IDRA_ERR_API_BAD_REQUEST' },
  FST_ERR_BAD_URL: { status: 400, code: 'IDRA_ERR_API_BAD_URL' },
  FST_ERR_MAX_PARAM_LENGTH: { status: 414, code: 'IDRA_ERR_API_PARAMETER_TOO_LONG' },
};

/** Errors raised before routing (bad URL, over-long parameter), answered in the same format. */
export function frameworkErrors(err: FastifyError, _req: FastifyRequest, reply: FastifyReply): void {
  const { status, body } = errorResponse(err);
  void reply.code(status).send(body);
}

/** The status and body an error is answered with. Bad input is always a 4xx. */
function errorResponse(err: unknown): { status: number; body: ApiErrorBody } {
  if (err instanceof ApiError)
    return { status: err.statusCode, body: { code: err.code, message: err.message, ...(err.details ? { details: err.details } : {}) } };
  if (err instanceof ConfigError) return { status: 400, body: { code: err.code, message: err.message, details: { issues: err.issues } } };
  if (isEtcdError(err)) return { status: 503, body: { code: 'IDRA_ERR_ETCD_UNAVAILABLE', message: `etcd cannot be reached: ${(err as Error).message}` } };
  const fe = err as Partial<FastifyError> & { statusCode?: number };
  const known = fe.code ? FASTIFY_CODES[fe.code] : undefined;
  if (known)
    return {
      status: known.status,
      body: {
        code: known.code,
        message: known.code === 'IDRA_ERR_API_MALFORMED_JSON' ? 'body is not valid JSON' : (fe.message ?? 'bad request').slice(0, 300),
      },
    };
  if (err instanceof SyntaxError && fe.statusCode === 400) {
    // Not the parser's message: it quotes the body, which may hold a password.
    const at = /position (\d+)/.exec(err.message)?.[1];
    return { status: 400, body: { code: 'IDRA_ERR_API_MALFORMED_JSON', message: `body is not valid JSON${at ? ` (at position ${at})` : ''}` } };
  }
  if (fe.statusCode === 429) return { status: 429, body: { code: 'IDRA_ERR_AUTH_RATE_LIMITED', message: fe.message ?? 'too many requests' } };
  if (typeof fe.statusCode === 'number' && fe.statusCode >= 400 && fe.statusCode < 500) {
    return { status: fe.statusCode, body: { code: 'IDRA_ERR_API_BAD_REQUEST', message: fe.message ?? 'bad request' } };
  }
  if (err instanceof IdraError) return { status: 500, body: { code: err.code, message: err.message } };
  return { status: 500, body: { code: 'IDRA_ERR_INTERNAL', message: 'internal error (see the API server log)' } };
}

function hasRequired(schema: TSchema): boolean {
  const required: unknown = (schema as { required?: unknown }).required;
  return Array.isArray(required) && required.length > 0;
}

/**
 * Request validation with core's validator (one set of messages everywhere: "source.table: is
 * required", "x: is not a known field"): no type coercion, no removal of unknown fields.
 */
function validatorCompiler({ schema, httpPart }: { schema: TSchema; httpPart?: string }) {
  const location = LOCATIONS[httpPart ?? 'body'] ?? String(httpPart);
  return (data: unknown) => {
    // An action route's body has no required field: sending no body at all means `{}`.
    const value = httpPart === 'body' && (data === null || data === undefined) && !hasRequired(schema) ? {} : data;
    const issues: ConfigIssue[] = schemaIssues(schema, value);
    return issues.length === 0
      ? { value }
      : {
          error: new RequestValidationError(
            location,
            issues.map((i) => ({ ...i, path: i.path || location })),
          ),
        };
  };
}

/**
 * Deepest nesting of objects and arrays a request body may have. Idra's documents need a handful of
 * levels; a body nested thousands deep would exhaust the stack of whatever walks it next.
 */
export const MAX_JSON_DEPTH = 64;

/** True when JSON text nests objects/arrays deeper than MAX_JSON_DEPTH (counted before parsing, strings skipped). */
function nestsTooDeep(text: string): boolean {
  let depth = 0;
  let inString = false;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (inString) {
      if (c === 0x5c)
        i++; // backslash: the next character is escaped
      else if (c === 0x22) inString = false;
    } else if (c === 0x22) inString = true;
    else if (c === 0x7b || c === 0x5b) {
      if (++depth > MAX_JSON_DEPTH) return true;
    } else if (c === 0x7d || c === 0x5d) depth--;
  }
  return false;
}

/** Error handling for the whole server: every error becomes `{ code, message, details }`. */
export const errorHandling = fp(async (app: FastifyInstance) => {
  app.setValidatorCompiler(validatorCompiler);
  // Fastify's JSON parser (with its prototype-poisoning guard), behind a nesting limit.
  const parseJson = app.getDefaultJsonParser('error', 'error');
  app.removeContentTypeParser('application/json');
  app.addContentTypeParser('application/json', { parseAs: 'string' }, (req, body, done) => {
    if (nestsTooDeep(body as string)) {
      return done(
        new ApiError(400, 'IDRA_ERR_API_TOO_DEEP', `the body nests objects or arrays deeper than ${MAX_JSON_DEPTH} levels`, { limit: MAX_JSON_DEPTH }),
        undefined,
      );
    }
    // Fastify's default parser answers through `done` and returns nothing (typed as maybe a promise).
    void parseJson(req, body as string, done);
  });
  // Responses are documented by their schemas but written as they are (masking happens before).
  app.setSerializerCompiler(() => (data) => JSON.stringify(data));
  app.setErrorHandler((err, req: FastifyRequest, reply) => {
    const { status, body } = errorResponse(err);
    if (isEtcdError(err)) app.idra.metrics.etcdErrors.inc({ where: req.routeOptions.url ?? 'unknown' });
    if (status >= 500) req.log.error({ err, code: body.code }, 'request failed');
    // Not the message: a JSON parse error quotes the body, which may hold a password.
    else req.log.info({ code: body.code, status }, 'request refused');
    return reply.code(status).send(body);
  });
  app.setNotFoundHandler((req, reply) =>
    reply.code(404).send({ code: 'IDRA_ERR_API_ROUTE_NOT_FOUND', message: `no route ${req.method} ${req.url.split('?')[0]}` } satisfies ApiErrorBody),
  );
});
