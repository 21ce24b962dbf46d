import { isIP } from 'node:net';
import { Agent, fetch, type RequestInit, type Response } from 'undici';
import { TargetRefused, assertReachable, guardedLookup, isInternalAddress, type TargetPolicy } from '../records/address-guard.ts';

export { isInternalAddress };

/** A request an HTTP connector refuses to send: where it would go is not allowed. Never retried. */
export class HttpTargetRefused extends TargetRefused {
  constructor(message: string) {
    super(message);
    this.name = 'HttpTargetRefused';
  }
}

/** Loopback, private, link-local (cloud metadata), carrier-grade NAT, multicast and reserved addresses. */
const HTTP_TARGETS: TargetPolicy = {
  refuses: isInternalAddress,
  what: 'a loopback, private, link-local or reserved address',
  who: 'HTTP connectors',
  refusal: (message) => new HttpTargetRefused(message),
};

/** Connections made through this agent check each address after DNS resolution (no rebinding between check and use). */
const dispatcher = new Agent({ connect: { lookup: guardedLookup(HTTP_TARGETS) } });

/** Checks what can be checked before connecting: the scheme, and a host given as an address. */
function assertUrl(url: URL): void {
  if (url.protocol !== 'http:' && url.protocol !== 'https:') throw new HttpTargetRefused(`${url.protocol} URLs are not fetched: only http and https`);
  const host = url.hostname.replace(/^\[|\]$/g, '');
  if (isIP(host)) assertReachable(HTTP_TARGETS, host, host);
  else if (host === 'localhost' || host.endsWith('.localhost')) assertReachable(HTTP_TARGETS, host, '127.0.0.1');
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
    if (next.origin !== current.origin)
      throw new HttpTargetRefused(
        `${current.origin}${current.pathname} redirects to another origin (${next.origin}): not followed, the request carries credentials`,
      );
    if (redirects >= MAX_REDIRECTS) throw new HttpTargetRefused(`${url.origin}${url.pathname}: more than ${MAX_REDIRECTS} redirects`);
    // 303, and 301/302 after a POST, continue as a GET without the body (as browsers do).
    if (response.status === 303 || ((response.status === 301 || response.status === 302) && request.method === 'POST'))
      request = { ...request, method: 'GET', body: null };
    current = next;
  }
}

/** A status line for people: the code and its standard reason, never the body (it may hold what the server should not show). */
export function statusText(response: Response): string {
  const reason = response.statusText.replace(/[^\x20-\x7e]/g, '').slice(0, 60);
  return `HTTP ${response.status}${reason ? ` ${reason}` : ''}`;
}
