import type { DataSource } from '@idra/api-client';
import { apply } from '../apply.ts';
import { readDocument, type Command } from '../command.ts';
import { json, table } from '../output.ts';

/** `idra datasources …`: named connections (secrets masked by the server in every answer, never printed in clear). */
export const dataSourceCommands: Command[] = [
  {
    name: 'datasources list',
    aliases: ['datasources'],
    help: ['data sources: connector, concurrency limit, the syncs that use them'],
    async run({ out, api }) {
      const client = await api();
      const [list, { syncs }] = await Promise.all([client.dataSources.list(), client.syncs.list()]);
      const users = (id: string) => syncs.filter((s) => s.source.dataSourceId === id || s.destination.dataSourceId === id).map((s) => s.id);
      out(
        table(
          ['ID', 'NAME', 'CONNECTOR', 'MAX SYNCS', 'USED BY'],
          list.map((d) => [d.id, d.name, d.connector, d.maxConcurrentSyncs, users(d.id).join(',')]),
        ),
        list,
      );
    },
  },
  {
    name: 'datasources get',
    usage: '<id>',
    help: ['one data source as JSON (secrets masked)'],
    async run({ io, api, id }) {
      io.stdout.write(json(await (await api()).dataSources.get(id())));
    },
  },
  {
    name: 'datasources apply',
    usage: '-f <file|-> [--no-replace | --prune [--yes]] [--dry-run] [--reason <text>]\n[--offset reset|keep [--confirm <id>]]',
    help: ['like syncs apply, for a file of data sources only; --prune deletes', 'the data sources no sync uses that the file leaves out'],
    run: (ctx) => apply(ctx, 'dataSources'),
  },
  {
    name: 'datasources delete',
    usage: '<id> [--reason <text>]',
    help: ['exit 5 while a sync uses it'],
    async run({ flags, out, api, id }) {
      const dsId = id();
      await (await api()).dataSources.delete(dsId, { reason: flags.reason });
      out(`deleted data source ${dsId}\n`, { deleted: dsId });
    },
  },
  {
    name: 'datasources test',
    usage: '(<id> | -f <file|->)',
    help: ['opens a real connection (a file: before saving it); exit 1 with the reason if it fails'],
    async run({ flags, io, out, api, id }) {
      const client = await api();
      const r = flags.file ? await client.dataSources.testUnsaved((await readDocument(io, flags.file)) as DataSource) : await client.dataSources.test(id());
      if (!r.ok) {
        if (flags.json) io.stdout.write(json(r));
        throw new Error(`cannot connect (${r.connector}): ${r.error ?? 'no reason given'}`);
      }
      const warning =
        r.transactions && !r.transactions.visible ? `; warning: ${r.transactions.reason ?? 'open transactions of other sessions are not visible'}` : '';
      out(`connected (${r.connector}) in ${r.latencyMs} ms${warning}\n`, r);
    },
  },
];
