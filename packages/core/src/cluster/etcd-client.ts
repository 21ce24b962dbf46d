import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import type { Etcd3, IOptions, Namespace } from 'etcd3';

// etcd3 (with gRPC) is loaded on first use: a single-mode agent never needs it.
const load = createRequire(import.meta.url);

/** Operations per transaction we send (etcd's default limit is 128). */
export const OPS_PER_TXN = 100;

/** How to reach etcd. */
export interface EtcdOptions {
  /** Client URLs, e.g. `http://10.0.0.1:2379`. */
  endpoints: string[];
  /** Key prefix of this Idra cluster. @default "/idra/" */
  prefix?: string;
  username?: string | undefined;
  password?: string | undefined;
  /** PEM files for TLS: CA, and client certificate + key for mutual TLS. */
  tls?: { ca?: string | undefined; cert?: string | undefined; key?: string | undefined } | undefined;
  /** @default 5000 */
  dialTimeoutMs?: number;
}

/** A client plus the namespace every Idra key lives in. */
export interface EtcdConnection {
  client: Etcd3;
  ns: Namespace;
  prefix: string;
  close(): void;
}

/** Connects to etcd (lazily: the first request dials) with the options' auth and TLS. */
export function connectEtcd(opts: EtcdOptions): EtcdConnection {
  const config: IOptions = { hosts: opts.endpoints, dialTimeout: opts.dialTimeoutMs ?? 5000 };
  if (opts.username) config.auth = { username: opts.username, password: opts.password ?? '' };
  if (opts.tls?.ca || opts.tls?.cert) {
    config.credentials = {
      rootCertificate: opts.tls.ca ? readFileSync(opts.tls.ca) : Buffer.alloc(0),
      ...(opts.tls.cert ? { certChain: readFileSync(opts.tls.cert) } : {}),
      ...(opts.tls.key ? { privateKey: readFileSync(opts.tls.key) } : {}),
    };
  }
  const { Etcd3: Client } = load('etcd3') as typeof import('etcd3');
  const client: Etcd3 = new Client(config);
  const prefix = opts.prefix ?? '/idra/';
  return { client, ns: client.namespace(prefix), prefix, close: () => client.close() };
}
