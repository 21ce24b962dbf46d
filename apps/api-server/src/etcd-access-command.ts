import { ConfigError, ETCD_USERS, applyEtcdAccess, connectEtcd, errorMessage, type EtcdPasswords } from '@idra/core';
import { parseServerOptions } from './options.ts';

export const ETCD_ACCESS_USAGE = `Usage: idra-api-server etcd-access

Creates (or updates) etcd's users and roles for Idra and turns etcd authentication on; run it once after
etcd first starts, and again to change a password (compose and the Helm chart run it as a one-shot job).
Users: root, ${ETCD_USERS.agent} (agents: everything under the prefix but users/ and tokens/), ${ETCD_USERS.api} (the
API server: everything under the prefix).

Environment: IDRA_ETCD_ENDPOINTS, IDRA_ETCD_PREFIX, IDRA_ETCD_CA (IDRA_ETCD_CERT, IDRA_ETCD_KEY) as for the
server, and the passwords, each at least 16 characters: IDRA_ETCD_ROOT_PASSWORD, IDRA_ETCD_AGENT_PASSWORD,
IDRA_ETCD_API_PASSWORD. Exit codes: 0 done · 1 etcd refused or could not be reached · 2 a missing or short password.
`;

const PASSWORD_ENV = { root: 'IDRA_ETCD_ROOT_PASSWORD', agent: 'IDRA_ETCD_AGENT_PASSWORD', api: 'IDRA_ETCD_API_PASSWORD' } as const;

/** `idra-api-server etcd-access`: etcd's users and roles for Idra, then auth on. Returns the exit code. */
export async function etcdAccessCommand(
  argv: string[],
  env: NodeJS.ProcessEnv,
  out: { stdout: NodeJS.WritableStream; stderr: NodeJS.WritableStream },
): Promise<number> {
  if (argv.includes('--help') || argv.includes('-h')) {
    out.stdout.write(ETCD_ACCESS_USAGE);
    return 0;
  }
  const problems = Object.values(PASSWORD_ENV)
    .filter((name) => (env[name] ?? '').length < 16)
    .map((name) => ({ path: name, message: env[name] ? 'must be at least 16 characters' : 'is required' }));
  if (problems.length > 0) {
    out.stderr.write(`idra-api-server etcd-access: ${new ConfigError(problems, 'invalid environment').message}\n\n${ETCD_ACCESS_USAGE}`);
    return 2;
  }
  const passwords = Object.fromEntries(Object.entries(PASSWORD_ENV).map(([who, name]) => [who, env[name]!])) as EtcdPasswords;
  // The endpoints, prefix and TLS files are read as the server reads them; its own credentials are not used.
  const opts = parseServerOptions([], { ...env, IDRA_ETCD_USERNAME: undefined, IDRA_ETCD_PASSWORD: undefined });
  if (opts === 'help') return 0;
  const tls = { ca: opts.etcdAuth.ca, cert: opts.etcdAuth.cert, key: opts.etcdAuth.key };
  const connect = (root: boolean) =>
    connectEtcd({ endpoints: opts.etcd, prefix: opts.prefix, tls, ...(root ? { username: 'root', password: passwords.root } : {}) });
  let etcd = connect(false);
  try {
    // With auth off anyone may list users; with auth on, only root.
    const authOn = await etcd.client.getUsers().then(
      () => false,
      (err: unknown) => {
        if (/user name is empty|permission denied|invalid auth token/i.test(errorMessage(err))) return true;
        throw err;
      },
    );
    if (authOn) {
      etcd.close();
      etcd = connect(true);
    }
    await applyEtcdAccess(etcd.client, opts.prefix, passwords);
    out.stdout.write(`etcd-access: users root, ${ETCD_USERS.agent}, ${ETCD_USERS.api} and their roles on ${opts.prefix} are set; authentication is on\n`);
    return 0;
  } catch (err) {
    out.stderr.write(`idra-api-server etcd-access: ${errorMessage(err)}\n`);
    return 1;
  } finally {
    etcd.close();
  }
}
