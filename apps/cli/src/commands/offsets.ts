import type { Position } from '@idra/api-client';
import { need, type Command } from '../command.ts';
import { UsageError } from '../exit-codes.ts';
import { table } from '../output.ts';

/** `idra offsets …`: read, change (admin, paused syncs) and the history of manual changes. */
export const offsetCommands: Command[] = [
  {
    name: 'offsets get',
    usage: '<id>',
    async run({ out, api, id }) {
      const v = await (await api()).offsets.get(id());
      const o = v.offset;
      const text = o
        ? `${v.syncId}: ${o.kind} ${JSON.stringify(o.value)}${o.kind === 'timestamp' ? ` tiebreaker ${JSON.stringify(o.tiebreaker)}` : ''} (committed ${o.committedAt} by ${o.agentId})`
        : `${v.syncId}: no offset (starts from the beginning)`;
      out(`${text}; ${v.enabled ? 'enabled' : 'paused'}${v.runningOn ? `, running on ${v.runningOn}` : ''}\n`, v);
    },
  },
  {
    name: 'offsets set',
    usage: '<id> --reason <text> (--value <v> [--tiebreaker <t>] | --position <json> | --reset)',
    help: ['admin only, on a paused sync whose agent has stopped'],
    async run({ flags, out, api, id }) {
      const client = await api();
      const syncId = id();
      const reason = need(flags.reason, '--reason');
      let position: Position | null;
      // Loaded here only: core takes seconds to load, which every other command would pay.
      const { ConfigError, manualPosition } = await import('@idra/core');
      try {
        position = manualPosition((await client.syncs.get(syncId)).mode, flags);
      } catch (err) {
        if (err instanceof ConfigError) throw new UsageError(err.issues.map((i) => `${i.path}: ${i.message}`).join('; '));
        throw err;
      }
      const v = await client.offsets.set(syncId, { position, reason });
      out(`offset of ${syncId} set to ${v.offset ? JSON.stringify(v.offset.value) : 'nothing (starts over)'}\n`, v);
    },
  },
  {
    name: 'offsets history',
    usage: '<id>',
    async run({ out, api, id }) {
      const h = await (await api()).offsets.history(id());
      out(
        table(
          ['AT', 'BY', 'OLD', 'NEW', 'REASON'],
          h.map((c) => [c.at, c.by, c.old ? JSON.stringify(c.old.value) : null, c.new ? JSON.stringify(c.new.value) : null, c.reason]),
        ),
        h,
      );
    },
  },
];
