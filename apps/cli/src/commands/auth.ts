import { IdraClient } from '@idra/api-client';
import { ask, readAll, type Command } from '../command.ts';
import { loadCredentials, removeCredentials, saveCredentials } from '../credentials.ts';
import { UsageError } from '../exit-codes.ts';

/** Logging in and out, who am I, my password. */
export const authCommands: Command[] = [
  {
    name: 'login',
    usage: '[--url URL] [--username NAME] [--password-stdin]',
    help: ['log in; keeps a session token in ~/.config/idra/credentials.json (0600)'],
    also: [{ usage: '--url URL --token TOKEN', help: ['keep an API token instead'] }],
    async run({ flags, io, out }) {
      const baseUrl = flags.url ?? io.env.IDRA_API_URL ?? (await loadCredentials(io.env))?.url;
      if (!baseUrl) throw new UsageError('--url is required (or set IDRA_API_URL)');
      const api = new IdraClient({ baseUrl });
      if (flags.token) {
        api.token = flags.token;
        const me = await api.auth.me();
        const file = await saveCredentials(io.env, { url: baseUrl, token: flags.token, user: me.name });
        return out(`logged in to ${baseUrl} as ${me.name} (${me.role}, ${me.via}); credentials in ${file}\n`, { url: baseUrl, user: me, credentials: file });
      }
      const username = flags.username ?? (await ask(io, [{ prompt: 'user: ', secret: false }]))[0]!;
      const [password] = flags['password-stdin'] ? [(await readAll(io.stdin)).replace(/\r?\n$/, '')] : await ask(io, [{ prompt: 'password: ', secret: true }]);
      const r = await api.auth.login(username, password!);
      const file = await saveCredentials(io.env, { url: baseUrl, token: r.token, user: r.user.name, expiresAt: r.expiresAt });
      if (r.mustChangePassword && !flags.json) io.stderr.write('idra: the password must be changed before anything else: run idra password\n');
      return out(`logged in to ${baseUrl} as ${r.user.name} (${r.user.role}) until ${r.expiresAt}; credentials in ${file}\n`, {
        url: baseUrl,
        user: r.user,
        expiresAt: r.expiresAt,
        mustChangePassword: r.mustChangePassword,
        credentials: file,
      });
    },
  },
  {
    name: 'logout',
    help: ['end the session and forget the credentials'],
    async run({ io, out, api }) {
      const client = await api().catch(() => undefined);
      await client?.auth.logout().catch(() => {});
      await removeCredentials(io.env);
      out('logged out\n', { loggedOut: true });
    },
  },
  {
    name: 'whoami',
    async run({ out, api }) {
      const me = await (await api()).auth.me();
      out(`${me.name} (${me.role}, ${me.via}${me.tokenId ? ` ${me.tokenId}` : ''})\n`, me);
    },
  },
  {
    name: 'password',
    help: ['change your password (reads current and new, one per line, from stdin when it is not a terminal)'],
    async run({ io, out, api }) {
      const client = await api();
      const [current, next] = await ask(io, [
        { prompt: 'current password: ', secret: true },
        { prompt: 'new password: ', secret: true },
      ]);
      const r = await client.auth.changePassword(current!, next!);
      const stored = await loadCredentials(io.env);
      if (stored && stored.url === client.baseUrl) await saveCredentials(io.env, { ...stored, token: r.token, expiresAt: r.expiresAt });
      out('password changed\n', { changed: true, user: r.user });
    },
  },
];
