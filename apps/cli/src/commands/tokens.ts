import { need, roleFlag, type Command } from '../command.ts';
import { UsageError } from '../exit-codes.ts';
import { table } from '../output.ts';

/** API tokens for CI jobs. */
export const tokenCommands: Command[] = [
  {
    name: 'tokens create',
    usage: '--name <name> [--role admin|operator|viewer] [--expires-in-days N]',
    help: ['prints the token once'],
    async run({ flags, io, out, api }) {
      const role = flags.role === undefined ? undefined : roleFlag(flags.role);
      const days = flags['expires-in-days'] === undefined ? undefined : Number(flags['expires-in-days']);
      if (days !== undefined && !(Number.isInteger(days) && days > 0)) throw new UsageError('--expires-in-days must be a positive integer');
      const t = await (await api()).tokens.create({ name: need(flags.name, '--name'), ...(role ? { role } : {}), ...(days ? { expiresInDays: days } : {}) });
      if (!flags.json) io.stderr.write(`idra: token ${t.id} (${t.role}) created; it is shown only this once\n`);
      out(`${t.token}\n`, t);
    },
  },
  {
    name: 'tokens list',
    async run({ out, api }) {
      const list = await (await api()).tokens.list();
      out(
        table(
          ['ID', 'NAME', 'ROLE', 'OWNER', 'CREATED', 'LAST USED', 'EXPIRES'],
          list.map((t) => [t.id, t.name, t.role, t.owner, t.createdAt, t.lastUsedAt, t.expiresAt]),
        ),
        list,
      );
    },
  },
  {
    name: 'tokens revoke',
    usage: '<id>',
    async run({ out, api, id }) {
      const tokenId = id();
      await (await api()).tokens.revoke(tokenId);
      out(`revoked token ${tokenId}\n`, { revoked: tokenId });
    },
  },
];
