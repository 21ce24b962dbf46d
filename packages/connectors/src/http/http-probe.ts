import { resolveOptions, type Connection, type DiscoveredObject, type ProbeOptions } from '@idra/core';
import { objectRecord, recordColumns } from '../records/json-records.ts';
import { ClientCredentials } from './http-auth.ts';
import { connectionAuth, httpSpec, httpUrl } from './http-options.ts';
import { at } from './http-source.ts';
import { refusalIn } from './http-client.ts';
import { guardedFetch, statusText } from './http-guard.ts';

/** A data source has no endpoint options: the defaults apply (authentication follows the connection's user/password). */
const DEFAULTS = resolveOptions(httpSpec.options, {});

/** GETs the connection's base URL with its authentication; throws when the server refuses it or fails. */
async function probe(connection: Connection, opts: ProbeOptions): Promise<{ url: URL; body: unknown }> {
  const url = httpUrl(connection, undefined, 'connection.url');
  const auth = connectionAuth(connection, DEFAULTS.auth, DEFAULTS.authHeader, 'connection');
  let res;
  try {
    const retries = { timeoutMs: opts.timeoutMs, retries: 0, retryBackoffMs: 0 };
    const token = auth.oauth2 ? await new ClientCredentials(auth.oauth2, retries).header(opts.signal) : {};
    res = await guardedFetch(url, { headers: { accept: 'application/json', ...auth.headers, ...token }, signal: opts.signal });
  } catch (err) {
    throw refusalIn(err) ?? err;
  }
  const text = await res.text();
  // Any answer but a refusal of the credentials or a server error shows the API is there (its base may well be a 404).
  if (res.status === 401 || res.status === 403 || res.status >= 500) throw new Error(`GET ${url.origin}${url.pathname} → ${statusText(res)}`);
  let body: unknown;
  try {
    body = JSON.parse(text);
  } catch {
    body = undefined;
  }
  return { url, body };
}

/** Reaches the API at the connection's URL (a probe: any answer but 401, 403 or 5xx). */
export async function checkHttp(connection: Connection, opts: ProbeOptions): Promise<void> {
  await probe(connection, opts);
}

/** The resource at the connection's URL, with the fields of its first item when it answers with items (at the default `itemsPath`, or a bare array). */
export async function discoverHttp(connection: Connection, opts: ProbeOptions): Promise<DiscoveredObject[]> {
  const { url, body } = await probe(connection, opts);
  const items = Array.isArray(body) ? body : at(body, DEFAULTS.itemsPath);
  const first: unknown = Array.isArray(items) ? items[0] : undefined;
  const columns = first !== null && typeof first === 'object' && !Array.isArray(first) ? recordColumns([objectRecord(first as Record<string, unknown>)]) : [];
  return [{ name: url.pathname, columns: columns.map((c) => ({ name: c.name, type: c.type, primaryKey: false })) }];
}
