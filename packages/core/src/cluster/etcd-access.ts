import { createRequire } from 'node:module';
import type { Etcd3 } from 'etcd3';
import { KEYS } from './keys.ts';

// etcd3 (with gRPC) is loaded on first use, as in etcd-client.ts.
const load = createRequire(import.meta.url);

/** The etcd users Idra's components log in as (`IDRA_ETCD_USERNAME`), each with a role of the same name. */
export const ETCD_USERS = { agent: 'idra-agent', api: 'idra-api' } as const;
export type EtcdComponent = keyof typeof ETCD_USERS;

/** A key range [start, end) a role may read and write. */
export interface KeyRange {
  start: string;
  end: string;
}

/** The first key after every key that starts with `prefix` (etcd's range end of a prefix). */
function prefixEnd(prefix: string): string {
  return prefix.slice(0, -1) + String.fromCharCode(prefix.charCodeAt(prefix.length - 1) + 1);
}

/**
 * What each component may read and write, least privilege on the cluster's prefix: the API server
 * owns everything under it; agents everything but users and API tokens (password and token hashes),
 * which they never read. etcd grants are additive, so the agents' share is the prefix cut around those two.
 */
export function etcdGrants(prefix: string): Record<EtcdComponent, KeyRange[]> {
  const hidden = [KEYS.tokens, KEYS.users].map((p) => prefix + p).sort();
  const agent: KeyRange[] = [];
  let start = prefix;
  for (const excluded of hidden) {
    agent.push({ start, end: excluded });
    start = prefixEnd(excluded);
  }
  agent.push({ start, end: prefixEnd(prefix) });
  return { api: [{ start: prefix, end: prefixEnd(prefix) }], agent };
}

/** Passwords of etcd's `root` user and of each component's user. */
export type EtcdPasswords = Record<'root' | EtcdComponent, string>;

/**
 * Creates or updates etcd's users and roles for Idra and turns authentication on; safe to run again
 * (passwords are set, each role's permissions become exactly {@link etcdGrants}). `client` is
 * unauthenticated while etcd has auth off, else logged in as root.
 */
export async function applyEtcdAccess(client: Etcd3, prefix: string, passwords: EtcdPasswords): Promise<void> {
  const users = new Set((await client.getUsers()).map((u) => u.name));
  const roles = new Set((await client.getRoles()).map((r) => r.name));
  const upsertUser = async (name: string, password: string, role: string) => {
    const user = client.user(name);
    await (users.has(name) ? user.setPassword(password) : user.create(password));
    await user.addRole(role);
  };
  // etcd refuses to enable auth without a root user holding the root role (which always exists).
  await upsertUser('root', passwords.root, 'root');
  const { Range } = load('etcd3') as typeof import('etcd3');
  const grants = etcdGrants(prefix);
  for (const component of Object.keys(ETCD_USERS) as EtcdComponent[]) {
    const name = ETCD_USERS[component];
    const role = client.role(name);
    if (roles.has(name)) {
      const current = await role.permissions();
      if (current.length > 0) await role.revoke(current);
    } else {
      await role.create();
    }
    await role.grant(grants[component].map(({ start, end }) => ({ permission: 'Readwrite' as const, range: new Range(start, end) })));
    await upsertUser(name, passwords[component], name);
  }
  await client.auth.authEnable();
}
