import { Type } from '@sinclair/typebox';
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import type { GoMigrationResult } from '@idra/api-client';
import { importGoSyncs } from '../go-migration.ts';
import { auditOf } from '../audit.ts';
import { errors } from '../schemas.ts';

const MigrationBody = Type.Object(
  {
    syncs: Type.Array(Type.Unknown({ description: "Go Idra's own JSON (open: read field by field, each reported)" }), {
      maxItems: 10_000,
      description: "the values of Go Idra's /syncs/<id> keys",
    }),
    offsets: Type.Record(Type.String({ minLength: 1, maxLength: 1024 }), Type.String({ maxLength: 65_536 }), {
      description: "Go Idra's /offsets/<name> values, by <name>",
    }),
    timeZone: Type.Optional(
      Type.String({
        minLength: 1,
        maxLength: 64,
        description: 'the zone Go read wall-clock timestamps in (IANA name, UTC, +02:00); default: what each connection string implies',
      }),
    ),
    dryRun: Type.Optional(Type.Boolean({ description: 'report only; write nothing' })),
    overwrite: Type.Optional(Type.Boolean({ description: 'replace Idra syncs of the same id' })),
    skipRefused: Type.Optional(Type.Boolean({ description: 'import the syncs that can be imported faithfully, leave the refused ones out' })),
    paused: Type.Optional(Type.Boolean({ description: 'import every sync paused' })),
  },
  { additionalProperties: false },
);

/** `/migrate/go-idra`: Go Idra syncs with their offsets (admin: it sets offsets). */
export const migrateRoutes: FastifyPluginAsyncTypebox = async (app) => {
  app.post(
    '/migrate/go-idra',
    {
      config: { access: 'admin' },
      schema: {
        tags: ['import/export'],
        summary:
          "Import Go Idra syncs with their offsets as read from Go Idra's etcd (idra migrate): a per-field report; offsets are stored before their syncs; dryRun only reports",
        body: MigrationBody,
        response: { 200: Type.Ref('GoMigrationResult'), ...errors(400, 409) },
      },
    },
    async (req): Promise<GoMigrationResult> => {
      const b = req.body;
      const who = auditOf(req, 'migrate');
      const by = who.by;
      const r = await importGoSyncs(app.idra, {
        docs: b.syncs,
        offsets: new Map(Object.entries(b.offsets)),
        timeZone: b.timeZone,
        dryRun: b.dryRun ?? false,
        overwrite: b.overwrite ?? false,
        skipRefused: b.skipRefused ?? false,
        paused: b.paused ?? false,
        who,
      });
      req.log.info({ dryRun: r.dryRun, syncs: r.syncs, offsetsSet: r.offsetsSet, refused: r.refused, by }, 'Go Idra migration');
      return r;
    },
  );
};
