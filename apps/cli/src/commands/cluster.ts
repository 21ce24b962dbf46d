import type { Command } from '../command.ts';
import { lagText, stateText, statusText, table } from '../output.ts';

/** Agents and the statuses they report. */
export const clusterCommands: Command[] = [
  {
    name: 'agents list',
    aliases: ['agents'],
    async run({ out, api }) {
      const agents = await (await api()).agents();
      out(table(['AGENT', 'LEADER', 'HOST', 'PID', 'VERSION', 'STARTED', 'SYNCS'], agents.map((a) => [a.agentId, a.leader ? 'yes' : '', a.host, a.pid, a.version, a.startedAt, a.syncs.join(',')])), agents);
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
        table(['SYNC', 'STATE', 'AGENT', 'ROWS', 'SKIPPED', 'LAG', 'UPDATED', 'LAST ERROR'], list.map((s) => [s.syncId, stateText(s), s.agentId, s.rowsCopied, s.rowsSkipped, lagText(s.lag), s.updatedAt, s.lastError?.message.slice(0, 60)])),
        list,
      );
    },
  },
];
