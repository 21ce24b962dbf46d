import { readFileSync } from 'node:fs';
import { request } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { basename, join } from 'node:path';
import { removeDir } from './internal/cleanup.ts';
import { findExecutable } from './internal/executables.ts';
import { ServerProcess } from './internal/server-process.ts';
import { freePort } from './free-port.ts';
import { tempDir } from './temp-dir.ts';

/** One member of a throwaway etcd cluster. */
export interface EtcdMember {
  name: string;
  /** `http://127.0.0.1:<port>`, this member's client endpoint. */
  clientUrl: string;
  /** Sends `signal` (default SIGKILL) and waits until the member is gone; its data dir stays for `start()`. */
  kill(signal?: NodeJS.Signals): Promise<void>;
  /** (Re)starts the member on its data dir and resolves once it is healthy, i.e. back in the cluster. */
  start(): Promise<void>;
  /** Shuts the member down cleanly (a leader first hands over leadership); its data dir stays for `start()`. */
  stop(): Promise<void>;
  /** Whether the member's process runs. */
  readonly running: boolean;
}

/** A running throwaway etcd cluster. */
export interface EtcdServer {
  /** Client URLs of all members. */
  endpoints: string[];
  members: EtcdMember[];
  /** Kills every member and removes the cluster's temp dir with their data. */
  stop(): Promise<void>;
}

/** Options of {@link startEtcd}. */
export interface StartEtcdOptions {
  /**
   * Number of members, each with its own data dir and client and peer ports on loopback.
   * @default 1
   */
  members?: 1 | 3;
  /**
   * Heartbeat every 20 ms and elect after 200 ms instead of etcd's 100 ms / 1 s, so that a cluster
   * forms, and fails over, within a fraction of a second.
   * @default true
   */
  fast?: boolean;
  /**
   * PEM files: clients and peers then speak TLS (`https://` URLs), peers must show a certificate the CA
   * signed, and `cert` (for 127.0.0.1, with client and server use) serves both. Clients need only the CA.
   */
  tls?: { ca: string; cert: string; key: string } | undefined;
}

/** Client options for requests to a TLS member: the CA, and the member's certificate for peer ports. */
type TlsFiles = { ca: Buffer; cert: Buffer; key: Buffer };

/** Resolves when GET `url` answers 200 with a body that `accept` approves. */
function probeHttp(url: string, accept: (body: string) => boolean = () => true, tls?: TlsFiles): Promise<void> {
  return new Promise((resolve, reject) => {
    const req = (tls ? httpsRequest : request)(url, { agent: false, timeout: 2_000, ...tls }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => (body += chunk));
      res.on('end', () => {
        if (res.statusCode === 200 && accept(body)) resolve();
        else reject(new Error(`GET ${url}: HTTP ${res.statusCode} ${body}`));
      });
      res.on('error', reject);
    });
    req.on('timeout', () => req.destroy(new Error(`GET ${url} timed out`)));
    req.on('error', reject);
    req.end();
  });
}

/** Resolves when the member at `clientUrl` reports healthy: it has a leader and serves reads. */
export function probeEtcdHealth(clientUrl: string, tls?: TlsFiles): Promise<void> {
  return probeHttp(`${clientUrl}/health`, (body) => body.includes('"health":"true"'), tls);
}

/** A counter or gauge of a member's Prometheus `/metrics` (e.g. `etcd_debugging_mvcc_watcher_total`, `etcd_server_proposals_committed_total`); NaN if absent. */
export async function etcdMetric(clientUrl: string, name: string): Promise<number> {
  const text = await (await fetch(`${clientUrl}/metrics`)).text();
  return Number(new RegExp(`^${name} (\\S+)$`, 'm').exec(text)?.[1]);
}

/** The etcd program (Debian's etcd-server). */
export function findEtcd(): string {
  return findExecutable('etcd', 'etcd-server');
}

/** The arguments of one member of an etcd cluster; `initialCluster` (`name=peerUrl,…`) is read only while its data dir is new. */
export function etcdMemberArgs(
  member: { name: string; dataDir: string; clientUrl: string; peerUrl: string },
  cluster: { initialCluster: string; token: string },
): string[] {
  return [
    '--name',
    member.name,
    '--data-dir',
    member.dataDir,
    '--listen-client-urls',
    member.clientUrl,
    '--advertise-client-urls',
    member.clientUrl,
    '--listen-peer-urls',
    member.peerUrl,
    '--initial-advertise-peer-urls',
    member.peerUrl,
    // Only read when the data dir is new; a restarted member rejoins from its data dir.
    '--initial-cluster',
    cluster.initialCluster,
    '--initial-cluster-token',
    cluster.token,
    '--initial-cluster-state',
    'new',
    // As in every shipped configuration: history older than an hour is compacted (`pnpm stack` keeps its data dir).
    '--auto-compaction-mode=periodic',
    '--auto-compaction-retention=1h',
    '--logger',
    'zap',
    '--log-outputs',
    'stderr',
  ];
}

/** Starts a throwaway etcd (one member, or a real three-member cluster on loopback) and resolves once every member is healthy. */
export async function startEtcd(opts: StartEtcdOptions = {}): Promise<EtcdServer> {
  const etcd = findEtcd();
  const memberCount = opts.members ?? 1;
  const timing = (opts.fast ?? true) ? ['--heartbeat-interval', '20', '--election-timeout', '200'] : [];
  const workDir = await tempDir('idra-etcd-');
  const scheme = opts.tls ? 'https' : 'http';
  const tlsArgs = opts.tls
    ? [
        // No --trusted-ca-file on the client side: etcd 3.4 would then demand client certificates (auth identifies clients).
        ...['--cert-file', opts.tls.cert, '--key-file', opts.tls.key],
        ...['--peer-cert-file', opts.tls.cert, '--peer-key-file', opts.tls.key, '--peer-trusted-ca-file', opts.tls.ca, '--peer-client-cert-auth'],
      ]
    : [];
  const tls = opts.tls && { ca: readFileSync(opts.tls.ca), cert: readFileSync(opts.tls.cert), key: readFileSync(opts.tls.key) };
  try {
    const peers = await Promise.all(
      Array.from({ length: memberCount }, async (_, index) => ({
        name: `etcd${index}`,
        clientUrl: `${scheme}://127.0.0.1:${await freePort()}`,
        peerUrl: `${scheme}://127.0.0.1:${await freePort()}`,
      })),
    );
    const initialCluster = peers.map(({ name, peerUrl }) => `${name}=${peerUrl}`).join(',');
    const nodes = peers.map((peer) => ({
      ...peer,
      program: new ServerProcess({
        server: 'etcd',
        command: etcd,
        args: [...etcdMemberArgs({ ...peer, dataDir: join(workDir, peer.name) }, { initialCluster, token: basename(workDir) }), ...timing, ...tlsArgs],
        logFile: join(workDir, `${peer.name}.log`),
        cwd: workDir,
        stopSignal: 'SIGTERM',
        probe: () => probeEtcdHealth(peer.clientUrl, tls),
      }),
    }));
    const members = nodes.map(({ name, clientUrl, program }): EtcdMember => ({
      name,
      clientUrl,
      kill: (signal = 'SIGKILL') => program.stop(signal),
      start: () => program.start(),
      stop: () => program.stop(),
      get running() {
        return program.running;
      },
    }));
    // Killed, not stopped: their data is discarded anyway, and a cleanly stopping leader first hands
    // leadership to a follower, waiting ~5 s when that follower is stopping too.
    const stop = async (): Promise<void> => {
      await Promise.all(members.map((member) => member.kill('SIGKILL')));
      await removeDir(workDir);
    };
    try {
      // A new member first asks each peer whether it already joined; a peer that has bound its port
      // but does not serve yet holds that request for a second. So start members one by one, each
      // once the previous one serves its peers, then wait until a quorum has elected a leader.
      for (const { program, peerUrl } of nodes) await program.start(() => probeHttp(`${peerUrl}/version`, undefined, tls));
      await Promise.all(nodes.map(({ program, clientUrl }) => program.waitUntil(() => probeEtcdHealth(clientUrl, tls))));
    } catch (error) {
      await stop();
      throw error;
    }
    return { endpoints: members.map((member) => member.clientUrl), members, stop };
  } catch (error) {
    await removeDir(workDir);
    throw error;
  }
}
