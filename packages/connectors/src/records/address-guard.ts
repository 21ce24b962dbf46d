import { lookup as dnsLookup, type LookupAddress } from 'node:dns';
import { BlockList, Socket, connect as netConnect, isIP, type LookupFunction, type NetConnectOpts } from 'node:net';
import { connect as tlsConnect, type ConnectionOptions } from 'node:tls';

function blockList(v4: [string, number][], v6: [string, number][]): BlockList {
  const list = new BlockList();
  for (const [net, bits] of v4) list.addSubnet(net, bits, 'ipv4');
  for (const [net, bits] of v6) list.addSubnet(net, bits, 'ipv6');
  return list;
}

/**
 * Link-local ranges, where clouds answer with instance metadata and credentials (169.254.169.254,
 * fd00:ec2::254). No database, broker or API is served there.
 */
const LINK_LOCAL = blockList(
  [['169.254.0.0', 16]],
  [
    ['fe80::', 10],
    ['fd00:ec2::254', 128],
  ],
);

/**
 * Addresses an HTTP source or destination may not reach unless an admin allows them: loopback,
 * private, link-local, carrier-grade NAT, multicast and reserved ranges. An operator who may write a
 * sync must not be able to make an agent (or the API's test connection) read the agent's own
 * services, the cloud's metadata, or the internal network — and see the answer in a status.
 */
const INTERNAL = blockList(
  [
    ['0.0.0.0', 8],
    ['10.0.0.0', 8],
    ['100.64.0.0', 10],
    ['127.0.0.0', 8],
    ['169.254.0.0', 16],
    ['172.16.0.0', 12],
    ['192.0.0.0', 24],
    ['192.0.2.0', 24],
    ['192.168.0.0', 16],
    ['198.18.0.0', 15],
    ['198.51.100.0', 24],
    ['203.0.113.0', 24],
    ['224.0.0.0', 4],
    ['240.0.0.0', 4],
  ],
  [
    ['::', 128],
    ['::1', 128],
    ['fc00::', 7],
    ['fe80::', 10],
    ['ff00::', 8],
    ['2001:db8::', 32],
  ],
);

/** The IPv4 address inside an IPv4-mapped (::ffff:a.b.c.d) or NAT64 (64:ff9b::a.b.c.d) IPv6 address. */
function embeddedIpv4(address: string): string | undefined {
  const m = /^(?:::ffff:|64:ff9b::)(\d+\.\d+\.\d+\.\d+)$/i.exec(address);
  if (m) return m[1];
  const hex = /^(?:::ffff:|64:ff9b::)([0-9a-f]{1,4}):([0-9a-f]{1,4})$/i.exec(address);
  if (!hex) return undefined;
  const n = (parseInt(hex[1]!, 16) << 16) | parseInt(hex[2]!, 16);
  return [24, 16, 8, 0].map((s) => (n >>> s) & 255).join('.');
}

/** Whether `list` holds `address`, also in IPv4-mapped and NAT64 form; anything that is not an address is held. */
function holds(list: BlockList, address: string): boolean {
  const family = isIP(address);
  if (family === 0) return true;
  const v4 = family === 6 ? embeddedIpv4(address) : undefined;
  return v4 ? list.check(v4, 'ipv4') : list.check(address, family === 4 ? 'ipv4' : 'ipv6');
}

/** True for an address in a range HTTP connectors may not reach by default. */
export function isInternalAddress(address: string): boolean {
  return holds(INTERNAL, address);
}

/** True for a link-local address (cloud metadata): no connector reaches it by default. */
export function isLinkLocalAddress(address: string): boolean {
  return holds(LINK_LOCAL, address);
}

/** A connection a connector refuses to open: where it would go is not allowed. Never retried. */
export class TargetRefused extends Error {
  readonly transient = false;
  constructor(message: string) {
    super(message);
    this.name = 'TargetRefused';
  }
}

/** What IDRA_HTTP_ALLOW permits beyond the default: CIDRs, addresses, host names, or `*` for everything. */
interface AllowList {
  any: boolean;
  hosts: Set<string>;
  ranges: BlockList;
}

function parseAllowList(value: string | undefined): AllowList {
  const allow: AllowList = { any: false, hosts: new Set(), ranges: new BlockList() };
  for (const entry of (value ?? '')
    .split(',')
    .map((s) => s.trim().toLowerCase())
    .filter(Boolean)) {
    if (entry === '*') allow.any = true;
    else if (entry.includes('/')) {
      const [net, bits] = entry.split('/');
      const family = isIP(net!);
      if (family === 0 || !/^\d+$/.test(bits ?? '')) throw new TargetRefused(`IDRA_HTTP_ALLOW: '${entry}' is not an address range like 10.1.0.0/16`);
      allow.ranges.addSubnet(net!, Number(bits), family === 4 ? 'ipv4' : 'ipv6');
    } else if (isIP(entry)) allow.ranges.addAddress(entry, isIP(entry) === 4 ? 'ipv4' : 'ipv6');
    else allow.hosts.add(entry.replace(/^\[|\]$/g, ''));
  }
  return allow;
}

let cached: { value: string | undefined; allow: AllowList } | undefined;

/** The allow-list of this process, read from IDRA_HTTP_ALLOW (again when it changes). */
function allowList(): AllowList {
  const value = process.env.IDRA_HTTP_ALLOW;
  if (cached && cached.value === value) return cached.allow;
  const allow = parseAllowList(value);
  cached = { value, allow };
  return allow;
}

function allowed(host: string, address: string): boolean {
  const allow = allowList();
  if (allow.any || allow.hosts.has(host.toLowerCase())) return true;
  return isIP(address) !== 0 && holds(allow.ranges, address);
}

/** Who may not be reached, and how a refusal reads. */
export interface TargetPolicy {
  refuses(address: string): boolean;
  /** What the refused addresses are, for the message: "a loopback, private, link-local or reserved address". */
  what: string;
  /** Who refuses: "HTTP connectors". */
  who: string;
  /** The error thrown (HTTP connectors keep their own class). */
  refusal: (message: string) => Error;
}

/** Throws unless `address` (what `host` resolved to) may be reached under `policy` or IDRA_HTTP_ALLOW permits it. */
export function assertReachable(policy: TargetPolicy, host: string, address: string): void {
  if (!policy.refuses(address) || allowed(host, address)) return;
  const named = host === address ? address : `${host} (${address})`;
  throw policy.refusal(`${named} is ${policy.what}: ${policy.who} do not reach it unless the admin allows it with IDRA_HTTP_ALLOW`);
}

/** DNS resolution that refuses what `policy` refuses: every address a name resolves to is checked, at connection time (no rebinding in between). */
export function guardedLookup(policy: TargetPolicy): LookupFunction {
  return (hostname, options, callback) => {
    dnsLookup(hostname, { ...options, all: true }, (err, addresses: LookupAddress[]) => {
      if (err) return callback(err, []);
      try {
        for (const a of addresses) assertReachable(policy, hostname, a.address);
      } catch (refused) {
        return callback(refused as NodeJS.ErrnoException, []);
      }
      if (options.all) return callback(null, addresses);
      callback(null, addresses[0]!.address, addresses[0]!.family);
    });
  };
}

/** Database servers and brokers: everything but link-local addresses (cloud metadata); databases live on private networks. */
export const DATABASE_TARGETS: TargetPolicy = {
  refuses: isLinkLocalAddress,
  what: 'a link-local address (where clouds serve instance metadata)',
  who: 'connectors',
  refusal: (message) => new TargetRefused(message),
};

/** The lookup for database and broker connections (also given to drivers that take one: MongoDB): link-local addresses refused after DNS resolution. */
export const databaseLookup = guardedLookup(DATABASE_TARGETS);

/** A socket that fails at once with the refusal, as a refused connection would (drivers listen for 'error'). */
function refusedSocket(refusal: unknown): Socket {
  const socket = new Socket();
  process.nextTick(() => socket.destroy(refusal as Error));
  return socket;
}

/** Checks a literal address before connecting (Node resolves nothing for it, so the lookup would not run). */
function refusalOf(host: string | undefined): unknown {
  try {
    if (host && isIP(host.replace(/^\[|\]$/g, ''))) assertReachable(DATABASE_TARGETS, host, host.replace(/^\[|\]$/g, ''));
    return undefined;
  } catch (refused) {
    return refused;
  }
}

/** `net.connect` for database and broker drivers: link-local targets refused, by address and after DNS resolution. */
export function connectToDatabase(opts: NetConnectOpts, onConnect?: () => void): Socket {
  const refusal = 'host' in opts ? refusalOf(opts.host) : undefined;
  return refusal ? refusedSocket(refusal) : netConnect({ ...opts, lookup: databaseLookup } as NetConnectOpts, onConnect);
}

/** `tls.connect` for brokers: as {@link connectToDatabase}. */
export function connectToDatabaseTls(opts: ConnectionOptions, onConnect?: () => void): Socket {
  const refusal = refusalOf(opts.host);
  return refusal ? refusedSocket(refusal) : tlsConnect({ ...opts, lookup: databaseLookup }, onConnect);
}

/**
 * A socket for drivers that create one and call `connect(port, host)` on it themselves (pg): the
 * same checks as {@link connectToDatabase}.
 */
export class DatabaseSocket extends Socket {
  override connect(...args: unknown[]): this {
    const [port, host] = args;
    if (typeof port === 'number' || (typeof port === 'string' && typeof host === 'string')) {
      const refusal = refusalOf(host as string | undefined);
      if (refusal) {
        process.nextTick(() => this.destroy(refusal as Error));
        return this;
      }
      return super.connect({ port: Number(port), host: host as string, lookup: databaseLookup });
    }
    return super.connect(...(args as Parameters<Socket['connect']>));
  }
}

/** Refuses a literal link-local address in a list of `host[:port]` (a MongoDB URL's hosts, Kafka brokers) before connecting. */
export function assertDatabaseHosts(hosts: readonly string[]): void {
  for (const h of hosts) {
    const host = /^\[([^\]]+)\]/.exec(h)?.[1] ?? h.replace(/:\d+$/, '');
    const refusal = refusalOf(host);
    if (refusal) throw refusal as Error;
  }
}
