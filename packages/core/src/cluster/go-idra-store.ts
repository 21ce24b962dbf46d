import { connectEtcd, type EtcdOptions } from './etcd-client.ts';
import { GO_IDRA_KEYS } from '../model/go-offsets.ts';

/** What a running Go Idra keeps in its etcd, as read (nothing is ever written there). */
export interface GoIdraSnapshot {
  /** The `/syncs/<key>` documents, parsed; `error` when a value is not JSON. */
  syncs: Array<{ key: string; doc?: unknown; error?: string }>;
  /** `/offsets/<name>` → raw value. */
  offsets: Record<string, string>;
  /** Live agents (`agents/<leaseId>`): their keys vanish with their leases once they stop. */
  agents: string[];
  /** Syncs an agent holds a lock on (`/distributed-locks/<syncId>/…`). */
  locks: string[];
  /** The etcd revision the snapshot was read at (all ranges read at it). */
  revision: string;
}

/**
 * Reads Go Idra's syncs, offsets, agents and locks from its etcd in one consistent snapshot: the
 * first range fixes the revision and the others are read at it. Range reads only.
 */
export async function readGoIdraStore(opts: Omit<EtcdOptions, 'prefix'>): Promise<GoIdraSnapshot> {
  const etcd = connectEtcd({ ...opts, prefix: '' });
  try {
    const first = await etcd.client.getAll().prefix(GO_IDRA_KEYS.syncs).exec();
    const revision = first.header.revision;
    const at = async (prefix: string) =>
      (await etcd.client.getAll().prefix(prefix).revision(revision).exec()).kvs.map((kv) => ({ key: kv.key.toString(), value: kv.value.toString() }));
    const strip = (key: string, prefix: string) => key.slice(prefix.length);
    const syncs = first.kvs.map((kv) => {
      const key = strip(kv.key.toString(), GO_IDRA_KEYS.syncs);
      try {
        return { key, doc: JSON.parse(kv.value.toString()) as unknown };
      } catch {
        return { key, error: 'not JSON' };
      }
    });
    const offsets = Object.fromEntries((await at(GO_IDRA_KEYS.offsets)).map((kv) => [strip(kv.key, GO_IDRA_KEYS.offsets), kv.value]));
    const agents = (await at(GO_IDRA_KEYS.agents)).map((kv) => kv.key);
    const locks = [...new Set((await at(GO_IDRA_KEYS.locks)).map((kv) => strip(kv.key, GO_IDRA_KEYS.locks).split('/')[0]!))];
    return { syncs, offsets, agents, locks, revision };
  } finally {
    etcd.close();
  }
}
