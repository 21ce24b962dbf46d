import { lookup as dnsLookup, type LookupAddress } from 'node:dns';
import { BlockList, isIP } from 'node:net';
import { Agent, fetch, type RequestInit, type Response } from 'undici';

/**
 * Addresses an HTTP source or destination may not reach unless an admin allows them: loopback,
 * private, link-local (cloud metadata at 169.254.169.254 and fd00:ec2::254), carrier-grade NAT,
 * multicast and reserved ranges. An operator who may write a sync must not be able to make an agent
 * (or the API's test connection) read the agent's own services, the cloud's metadata, or the
 * internal network — and see the answer in a status.
 */
const INTERNAL = new BlockList();
for (const [net, bits] of [
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
] as const) {
  INTERNAL.addSubnet(net, bits, 'ipv4');
}
for (const [net, bits] of [
  ['::', 128],
  ['::1', 128],
  ['fc00::', 7],
  ['fe80::', 10],
  ['ff00::', 8],
  ['2001:db8::', 32],
] as const) {
  INTERNAL.addSubnet(net, bits, 'ipv6');
}

/** The IPv4 address inside an IPv4-mapped (::ffff:a.b.c.d) or NAT64 (64:ff9b::a.b.c.d) IPv6 address. */
function embeddedIpv4(address: string): string | undefined {
  const m = /^(?:::ffff:|64:ff9b::)(\d+\.\d+\.\d+\.\d+)$/i.exec(address);
  if (m) return m[1];
  const hex = /^(?:::ffff:|64:ff9b::)([0-9a-f]{1,4}):([0-9a-f]{1,4})$/i.exec(address);
  if (!hex) return undefined;
  const n = (parseInt(hex[1]!, 16) << 16) | parseInt(hex[2]!, 16);
  return [24, 16, 8, 0].map((s) => (n >>> s) & 255).join('.');
}

/** True for an address in a range HTTP connectors may not reach by default. */
export function isInternalAddress(address: string): boolean {
  const v4 = isIP(address) === 6 ? embeddedIpv4(address) : undefined;
  if (v4) return INTERNAL.check(v4, 'ipv4');
  const family = isIP(address);
  return family === 0 || INTERNAL.check(address, family === 4 ? 'ipv4' : 'ipv6');
}

/** What IDRA_HTTP_ALLOW permits beyond public addresses: CIDRs, addresses, host names, or `*` for everything. */
interface AllowList {
  any: boolean;
  hosts: Set<string>;
  ranges: BlockList;
}

function parseAllowList(value: string | undefined): AllowList {
  const allow: AllowList = { any: false, hosts: new Set(), ranges: new BlockList() };
  for (const entry of (value ?? '').split(',').map((s) => s.trim().toLowerCase()).filter(Boolean)) {
    if (entry === '*') allow.any = true;
    else if (entry.includes('/')) {
      const [net, bits] = entry.split('/');
      const family = isIP(net!);
      if (family === 0 || !/^\d+$/.test(bits ?? '')) throw new HttpTargetRefused(`IDRA_HTTP_ALLOW: '${entry}' is not an address range like 10.1.0.0/16`);
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

/** A request an HTTP connector refuses to send: where it would go is not allowed. Never retried. */
export class HttpTargetRefused extends Error {
  readonly transient = false;
  constructor(message: string) {
    super(message);
    this.name = 'HttpTargetRefused';
  }
}

function allowed(allow: AllowList, host: string, address: string): boolean {
  if (allow.any || allow.hosts.has(host.toLowerCase())) return true;
  const family = isIP(address);
  if (family === 0) return false;
  const v4 = family === 6 ? embeddedIpv4(address) : undefined;
  return v4 ? allow.ranges.check(v4, 'ipv4') : allow.ranges.check(address, family === 4 ? 'ipv4' : 'ipv6');
}

/** Throws unless `address` (what `host` resolved to) may be reached. */
function assertReachable(host: string, address: string): void {
  if (!isInternalAddress(address) || allowed(allowList(), host, address)) return;
  const named = host === address ? address : `${host} (${address})`;
  throw new HttpTargetRefused(`${named} is a loopback, private, link-local or reserved address: HTTP connectors do not reach it unless the admin allows it with IDRA_HTTP_ALLOW`);
}

/** DNS resolution that refuses internal addresses: every address a name resolves to is checked, at connection time. */
function guardedLookup(hostname: string, options: object, callback: (err: NodeJS.ErrnoException | null, address: string | LookupAddress[], family?: number) => void): void {
  dnsLookup(hostname, { ...options, all: true }, (err, addresses) => {
    if (err) return callback(err, []);
    try {
      for (const a of addresses) assertReachable(hostname, a.address);
    } catch (refused) {
      return callback(refused as NodeJS.ErrnoException, []);
    }
    const all = (options as { all?: boolean }).all;
    if (all) return callback(null, addresses);
    callback(null, addresses[0]!.address, addresses[0]!.family);
  });
}

/** Connections made through this agent check each address after DNS resolution (no rebinding between check and use). */
const dispatcher = new Agent({ connect: { lookup: guardedLookup } });

/** Checks what can be checked before connecting: the scheme, and a host given as an address. */
function assertUrl(url: URL): void {
  if (url.protocol !== 'http:' && url.protocol !== 'https:') throw new HttpTargetRefused(`${url.protocol} URLs are not fetched: only http and https`);
  const host = url.hostname.replace(/^\[|\]$/g, '');
  if (isIP(host)) assertReachable(host, host);
  else if (host === 'localhost' || host.endsWith('.localhost')) assertReachable(host, '127.0.0.1');
}

/** Redirects followed per request; each one is checked like the first URL. */
const MAX_REDIRECTS = 5;

/**
 * `fetch` for HTTP connectors: refuses internal addresses (literal, after DNS resolution, and at
 * every redirect) unless IDRA_HTTP_ALLOW permits them. Redirects are followed only within the same
 * origin, so the request's credentials (headers) never go to a host the sync does not name.
 */
export async function guardedFetch(url: URL, init: Omit<RequestInit, 'redirect' | 'dispatcher'>): Promise<Response> {
  let current = url;
  let request = init;
  for (let redirects = 0; ; redirects++) {
    assertUrl(current);
    const response = await fetch(current, { ...request, redirect: 'manual', dispatcher });
    const location = response.headers.get('location');
    if (response.status < 300 || response.status >= 400 || !location) return response;
    await response.body?.cancel();
    const next = new URL(location, current);
    if (next.origin !== current.origin) throw new HttpTargetRefused(`${current.origin}${current.pathname} redirects to another origin (${next.origin}): not followed, the request carries credentials`);
    if (redirects >= MAX_REDIRECTS) throw new HttpTargetRefused(`${url.origin}${url.pathname}: more than ${MAX_REDIRECTS} redirects`);
    // 303, and 301/302 after a POST, continue as a GET without the body (as browsers do).
    if (response.status === 303 || ((response.status === 301 || response.status === 302) && request.method === 'POST')) request = { ...request, method: 'GET', body: null };
    current = next;
  }
}

/** A status line for people: the code and its standard reason, never the body (it may hold what the server should not show). */
export function statusText(response: Response): string {
  const reason = response.statusText.replace(/[^\x20-\x7e]/g, '').slice(0, 60);
  return `HTTP ${response.status}${reason ? ` ${reason}` : ''}`;
}
