import { askSecret, roleFlag, type Command } from '../command.ts';
import { table } from '../output.ts';

/** Users (admin only). */
export const userCommands: Command[] = [
  {
    name: 'users list',
    help: ['admin only, like every users command'],
    async run({ out, api }) {
      const list = await (await api()).users.list();
      out(
        table(
          ['NAME', 'ROLE', 'PASSWORD', 'CREATED'],
          list.map((u) => [u.name, u.role, u.mustChangePassword ? 'to change' : 'set', u.createdAt]),
        ),
        list,
      );
    },
  },
  {
    name: 'users create',
    usage: '<name> --role <role>',
    help: ['reads the first password (changed at the first login)'],
    async run({ flags, io, out, api, id }) {
      const client = await api();
      const name = id();
      const password = await askSecret(io, 'first password: ');
      const u = await client.users.create({ name, password, role: roleFlag(flags.role), mustChangePassword: true });
      out(`created ${u.role} ${u.name}; they choose their own password at the first login\n`, u);
    },
  },
  {
    name: 'users set-role',
    usage: '<name> --role <role>',
    help: ["ends the user's sessions"],
    async run({ flags, out, api, id }) {
      const u = await (await api()).users.update(id(), { role: roleFlag(flags.role) });
      out(`${u.name} is now ${u.role}; their sessions ended\n`, u);
    },
  },
  {
    name: 'users reset-password',
    usage: '<name> [--revoke-tokens]',
    help: ['reads a new password the user must change at the next login;', '--revoke-tokens also revokes every API token of the user'],
    async run({ flags, io, out, api, id }) {
      const client = await api();
      const name = id();
      const password = await askSecret(io, 'new password: ');
      const revokeTokens = flags['revoke-tokens'] === true;
      const u = await client.users.update(name, { password, mustChangePassword: true, ...(revokeTokens ? { revokeTokens } : {}) });
      out(`password of ${u.name} reset (to be changed at the next login); their sessions ended${revokeTokens ? ' and their API tokens are revoked' : ''}\n`, {
        ...u,
        tokensRevoked: revokeTokens,
      });
    },
  },
  {
    name: 'users delete',
    usage: '<name>',
    help: ["also revokes the user's API tokens"],
    async run({ out, api, id }) {
      const name = id();
      await (await api()).users.delete(name);
      out(`deleted user ${name}; their API tokens are revoked\n`, { deleted: name });
    },
  },
];
