import type { Command } from '../command.ts';
import { lagText, stateText, statusText, table } from '../output.ts';

const labelsText = (labels: Record<string, string> | undefined) =>
  Object.entries(labels ?? {})
    .map(([k, v]) => `${k}=${v}`)
    .join(',');

/** Agents, data source slots and the statuses agents report. */
export const clusterCommands: Command[] = [
  {
    name: 'agents list',
    aliases: ['agents'],
    async run({ out, api }) {
      const agents = await (await api()).agents();
      out(
        table(
          ['AGENT', 'LEADER', 'LABELS', 'SYNCS/MAX', 'HOST', 'PID', 'VERSION', 'STARTED', 'SYNCS'],
          agents.map((a) => [
            a.agentId,
            a.leader ? 'yes' : '',
            labelsText(a.labels),
            `${a.syncs.length}/${a.capacity ?? '-'}`,
            a.host,
            a.pid,
            a.version,
            a.startedAt,
            a.syncs.join(','),
          ]),
        ),
        agents,
      );
    },
  },
  {
    name: 'slots',
    aliases: ['datasources slots'],
    help: ['data sources with a concurrency limit: slots held (by which sync on which agent) and syncs waiting, in order'],
    async run({ out, api }) {
      const list = await (await api()).slots();
      const limit = (n: number | null, held: number) => (n === null ? `${held}/-` : `${held}/${n}`);
      const who = (s: { syncId: string; agentId: string }) => `${s.syncId}@${s.agentId}`;
      out(
        table(
          ['DATA SOURCE', 'SYNCS', 'READERS', 'WRITERS', 'HELD BY', 'WAITING (IN ORDER)'],
          list.map((d) => [
            d.dataSourceId,
            limit(d.maxConcurrentSyncs, d.held.length),
            limit(d.maxReaders, d.held.filter((h) => h.roles.includes('read')).length),
            limit(d.maxWriters, d.held.filter((h) => h.roles.includes('write')).length),
            d.held.map(who).join(','),
            d.waiting.map(who).join(','),
          ]),
        ),
        list,
      );
    },
  },
  {
    name: 'status',
    usage: '[<id>]',
    async run({ args, out, api }) {
      const client = await api();
      if (args[0] !== undefined) {
        const s = await client.syncs.status(args[0]);
        return out(statusText(s), s);
      }
      const list = await client.statuses();
      out(
        table(
          ['SYNC', 'STATE', 'AGENT', 'ROWS', 'SKIPPED', 'LAG', 'UPDATED', 'LAST ERROR'],
          list.map((s) => [s.syncId, stateText(s), s.agentId, s.rowsCopied, s.rowsSkipped, lagText(s.lag), s.updatedAt, s.lastError?.message.slice(0, 60)]),
        ),
        list,
      );
    },
  },
];
