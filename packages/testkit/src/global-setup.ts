import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { TestProject } from 'vitest/node';
import { startEtcd } from './etcd.ts';
import { startMariadb } from './mariadb.ts';
import { startPostgres } from './postgres.ts';
import type {} from './provided-context.ts';

/** A server the whole test run shares: what tests get through `inject`, and how to stop it. */
interface SharedServer<T> {
  address: T;
  stop(): Promise<void>;
}

/** A server someone else runs (an env override): we only pass its address on. */
function external<T>(address: T): SharedServer<T> {
  return { address, stop: async () => {} };
}

function endpointList(value: string): string[] {
  return value
    .split(',')
    .map((endpoint) => endpoint.trim())
    .filter((endpoint) => endpoint !== '');
}

/**
 * Vitest global setup: one PostgreSQL, one MariaDB and one single-member etcd for the whole run,
 * started in parallel, unless IDRA_TEST_PG_URL / IDRA_TEST_MYSQL_URL / IDRA_TEST_ETCD_ENDPOINTS
 * (comma-separated) point at servers that already run.
 */
export default async function setup({ provide }: TestProject): Promise<() => Promise<void>> {
  const env = process.env;
  // Tests start hundreds of Node processes (agents, API servers, CLI commands) that strip and compile the same
  // TypeScript: the compile cache (Node's default place for it) saves about a third of the CPU each start costs.
  env['NODE_COMPILE_CACHE'] ??= join(tmpdir(), 'node-compile-cache');
  const results = await Promise.allSettled([
    env['IDRA_TEST_PG_URL'] ? external(env['IDRA_TEST_PG_URL']) : startPostgres().then((server) => ({ address: server.url, stop: server.stop })),
    env['IDRA_TEST_MYSQL_URL'] ? external(env['IDRA_TEST_MYSQL_URL']) : startMariadb().then((server) => ({ address: server.url, stop: server.stop })),
    env['IDRA_TEST_ETCD_ENDPOINTS']
      ? external(endpointList(env['IDRA_TEST_ETCD_ENDPOINTS']))
      : startEtcd().then((server) => ({ address: server.endpoints, stop: server.stop })),
  ]);
  const [pg, mysql, etcd] = results;
  const stopAll = async (): Promise<void> => {
    await Promise.all(results.map((result) => (result.status === 'fulfilled' ? result.value.stop() : undefined)));
  };
  if (pg.status === 'rejected' || mysql.status === 'rejected' || etcd.status === 'rejected') {
    await stopAll();
    const reasons = results.flatMap((result) => (result.status === 'rejected' ? [result.reason as unknown] : []));
    throw new AggregateError(reasons, reasons.map((reason) => String(reason)).join('\n\n'));
  }
  provide('pgUrl', pg.value.address);
  provide('mysqlUrl', mysql.value.address);
  provide('etcdEndpoints', etcd.value.address);
  return stopAll;
}
