import { writeFile } from 'node:fs/promises';
import { IdraApiError } from '@idra/api-client';
import { planBulkSyncs, type BulkSettings } from '@idra/core/bulk';
import { ask, need, readDocument, type Command } from '../command.ts';
import { UsageError } from '../exit-codes.ts';
import { historyText } from '../history.ts';
import { apply } from '../apply.ts';
import { json, table } from '../output.ts';
import { describeSyncStatus, syncRows } from '../sync-views.ts';
import { syncWaitCommand } from './sync-wait.ts';

/** `idra syncs …`: list, status, bulk creation, wait, retry, check, get, apply, delete, pause, resume, history. */
export const syncCommands: Command[] = [
  {
    name: 'syncs list',
    help: ['syncs with health (problems first), agent, total rows, lag, dead letters'],
    async run({ out, api }) {
      const rows = await (await api()).overview();
      out(table(['ID', 'HEALTH', 'AGENT', 'ROWS', 'LAG', 'DEAD LETTERS', 'WHY'], syncRows(rows)), rows);
    },
  },
  {
    name: 'syncs status',
    usage: '<id>',
    help: ['health, attempts, totals, progress, lag and the last hour of history'],
    async run({ out, api, id }) {
      const client = await api();
      const syncId = id();
      const [row, history] = await Promise.all([client.syncs.overview(syncId), client.syncs.activity(syncId, { range: '1h' })]);
      out(describeSyncStatus(row, history), { ...row, activity: history });
    },
  },
  {
    name: 'syncs bulk',
    usage:
      '--source <ds> --destination <ds> (--tables a,b | --all) [--mode id|timestamp|full] [--id-prefix p]\n[--table-prefix p] [--write-mode insert|upsert] [--paused] [--dry-run]',
    help: ['one sync per table, key and cursor columns detected; all or none'],
    async run({ flags, out, api }) {
      const source = need(flags.source, '--source');
      const destination = need(flags.destination, '--destination');
      const mode = (flags.mode ?? 'id') as BulkSettings['mode'];
      if (!['id', 'timestamp', 'full'].includes(mode)) throw new UsageError('--mode must be id, timestamp or full');
      if (flags['write-mode'] !== undefined && !['insert', 'upsert'].includes(flags['write-mode']))
        throw new UsageError('--write-mode must be insert or upsert');
      if (!flags.all && !flags.tables) throw new UsageError('give --tables a,b or --all');
      const client = await api();
      const [src, dst, listing] = await Promise.all([client.dataSources.get(source), client.dataSources.get(destination), client.dataSources.tables(source)]);
      if (!listing.ok) throw new IdraApiError(0, { code: 'IDRA_ERR_CLI_TABLES', message: `cannot list the tables of ${source}: ${listing.error}` });
      const wanted = flags.tables
        ?.split(',')
        .map((t) => t.trim())
        .filter(Boolean);
      const missing = (wanted ?? []).filter((t) => !listing.tables.some((x) => x.name === t));
      if (missing.length > 0) throw new UsageError(`no table ${missing.join(', ')} in data source ${source}`);
      const plan = planBulkSyncs(wanted ? listing.tables.filter((t) => wanted.includes(t.name)) : listing.tables, {
        idPrefix: flags['id-prefix'] ?? `${source}-`,
        sourceDataSourceId: src.id,
        sourceConnector: src.connector,
        destinationDataSourceId: dst.id,
        destinationConnector: dst.connector,
        tablePrefix: flags['table-prefix'],
        mode,
        writeMode: flags['write-mode'] as BulkSettings['writeMode'],
        enabled: !flags.paused,
      });
      const text = table(
        ['TABLE', 'SYNC ID', 'KEY', 'CURSOR', 'TO REVIEW'],
        plan.map((p) => [p.table, p.config.id, p.detected.keyColumns.join(','), p.detected.cursorColumn, p.detected.problem]),
      );
      if (flags['dry-run']) return out(text, plan);
      const r = await client.syncs.bulkCreate(
        plan.map((p) => p.config),
        { reason: flags.reason },
      );
      out(`${text}created ${r.created.length} sync(s)${flags.paused ? ', paused' : ''}\n`, r);
    },
  },
  syncWaitCommand,
  {
    name: 'syncs retry',
    usage: '<id>',
    help: ['attempt again now (skips the backoff; after a rejected row, once fixed)'],
    async run({ out, api, id }) {
      const syncId = id();
      const r = await (await api()).syncs.retry(syncId);
      out(`retry of ${syncId} requested${r.runningOn ? ` (agent ${r.runningOn})` : ' (no agent holds it now: it runs when one takes it)'}\n`, r);
    },
  },
  {
    name: 'syncs get',
    usage: '<id>',
    help: ['one sync as JSON (secrets masked)'],
    async run({ io, api, id }) {
      io.stdout.write(json(await (await api()).syncs.get(id())));
    },
  },
  {
    name: 'syncs check',
    usage: '(<id> | -f <file|->)',
    help: ["connect to the sync's source as an agent would: exit 1 with the reason when it would not run"],
    async run({ flags, io, out, api, id }) {
      const client = await api();
      // A stored sync comes back masked: the server puts its secrets back.
      const doc = flags.file ? await readDocument(io, flags.file) : await client.syncs.get(id());
      const r = await client.syncs.check(doc);
      if (!r.ok) {
        if (flags.json) io.stdout.write(json(r));
        throw new Error(r.problem ? `configuration problem (${r.problem.code}): ${r.problem.message}` : `cannot connect to the source: ${r.error}`);
      }
      out(`sync ${String((doc as { id?: unknown }).id)}: an agent would read its source${r.warning ? `; warning: ${r.warning}` : ''}\n`, r);
    },
  },
  {
    name: 'syncs apply',
    usage: '-f <file|-> [--no-replace | --prune [--yes]] [--dry-run] [--reason <text>]\n[--offset reset|keep [--confirm <id>]]',
    help: [
      'create the syncs and data sources of a file, replacing those that exist',
      '(each listed as created or replaced); new syncs in one request, all or none;',
      '--no-replace: exit 5 if any exists, nothing applied; --prune: also delete the',
      'syncs and unused data sources the file leaves out (listed first; --yes without',
      'a terminal); --dry-run: print the plan only; --offset: what to do with a stored',
      'offset a change moves (another table, cursor, key or mode)',
    ],
    run: (ctx) => apply(ctx, 'syncs'),
  },
  {
    name: 'syncs delete',
    usage: '<id> [--reason <text>]',
    async run({ flags, out, api, id }) {
      const syncId = id();
      await (await api()).syncs.delete(syncId, { reason: flags.reason });
      out(`deleted sync ${syncId}\n`, { deleted: syncId });
    },
  },
  {
    name: 'syncs pause',
    usage: '<id> [--wait] [--reason <text>]',
    help: ['--wait: until its agent has stopped it'],
    async run({ flags, out, api, id }) {
      const s = await (await api()).syncs.pause(id(), { wait: flags.wait, reason: flags.reason });
      out(`paused sync ${s.id}${flags.wait ? ' (its agent has stopped)' : ''}\n`, s);
    },
  },
  {
    name: 'syncs resume',
    usage: '<id> [--reason <text>]',
    async run({ flags, out, api, id }) {
      const s = await (await api()).syncs.resume(id(), { reason: flags.reason });
      out(`resumed sync ${s.id}\n`, s);
    },
  },
  {
    name: 'syncs history',
    usage: '<id>',
    help: ['every create, update, pause, resume and delete: who, when, what, why'],
    async run({ out, api, id }) {
      const h = await (await api()).syncs.history(id());
      out(historyText(h), h);
    },
  },
  {
    name: 'syncs export',
    usage: '[<id>...] [-o <file>]',
    help: ['importable JSON (secrets masked)'],
    async run({ args, flags, io, out, api }) {
      const doc = await (await api()).export({ ids: args });
      if (flags.output) {
        await writeFile(flags.output, json(doc));
        return out(`exported to ${flags.output}\n`, { file: flags.output });
      }
      io.stdout.write(json(doc));
    },
  },
];
