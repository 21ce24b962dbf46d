import { Type } from '@sinclair/typebox';
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { IdSchema, RowRejectedError, errorMessage, type Column } from '@idra/core';
import { createConnectorRegistry } from '@idra/connectors';
import type { RetryDeadLettersResult } from '@idra/api-client';
import { NotFoundError } from '../errors.ts';
import { storedSync } from '../sync-input.ts';
import { principalOf } from '../plugins/auth.ts';
import { IdParams, errors } from '../schemas.ts';

const RetryBody = Type.Object(
  {
    ids: Type.Array(Type.String({ pattern: '^[0-9]{15}-[a-z0-9]{1,8}(-[0-9]+)?$' }), {
      minItems: 1,
      maxItems: 1000,
      uniqueItems: true,
      description: 'dead letter ids',
    }),
  },
  { additionalProperties: false },
);

/**
 * `POST /syncs/:id/errors/retry`: writes rows that were set aside through the sync's destination again
 * (after the table or the data was fixed), one row per transaction; each row that goes in leaves the
 * list, each one refused again stays with its new error.
 */
export const deadLetterRoutes: FastifyPluginAsyncTypebox = async (app) => {
  const { configs, statuses } = app.idra;
  const connectors = createConnectorRegistry();

  app.post(
    '/syncs/:id/errors/retry',
    {
      config: { access: 'operator' },
      schema: {
        tags: ['syncs'],
        summary: 'Write selected rejected rows through the destination again; written rows leave the list, refused ones keep their new error',
        params: Type.Object({ id: IdSchema }, { additionalProperties: false }),
        body: RetryBody,
        response: {
          200: Type.Object({ written: Type.Array(Type.String()), rejected: Type.Array(Type.Object({ id: Type.String(), error: Type.String() })) }),
          ...errors(400, 404),
        },
      },
    },
    async (req): Promise<RetryDeadLettersResult> => {
      const config = await storedSync(app.idra, req.params.id);
      if (!config) throw new NotFoundError('sync', req.params.id);
      const wanted = new Set(req.body.ids);
      const letters = (await statuses.listDeadLetters(config.id)).filter((l) => wanted.has(l.id));
      const sync = await configs.resolveSync(config);
      const destination = await connectors.openDestination({ sync, endpoint: sync.destination, role: 'destination' });
      const result: RetryDeadLettersResult = { written: [], rejected: [] };
      try {
        for (const letter of letters) {
          // The table exists (it refused the row): its own column types decide how values are written.
          const columns: Column[] = Object.keys(letter.row).map((name) => ({ name, type: 'text' }));
          try {
            await destination.write({ columns, rows: [letter.row], position: { kind: 'id', value: null } }, AbortSignal.timeout(30_000));
            result.written.push(letter.id);
          } catch (err) {
            if (!(err instanceof RowRejectedError)) throw err;
            result.rejected.push({ id: letter.id, error: errorMessage(err.cause ?? err) });
          }
        }
      } finally {
        await destination.close().catch(() => {});
      }
      if (result.written.length > 0) await statuses.deleteDeadLetters(config.id, result.written);
      for (const r of result.rejected) await statuses.updateDeadLetterError(config.id, r.id, r.error);
      req.log.info({ syncId: config.id, written: result.written.length, rejected: result.rejected.length, by: principalOf(req).name }, 'rejected rows retried');
      return result;
    },
  );
};
