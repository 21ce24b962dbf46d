import { createCipheriv, createDecipheriv, randomBytes, scryptSync } from 'node:crypto';
import { ConfigError, type ConfigIssue } from './errors.ts';

const PREFIX = 'enc:v1:';
/** What every secret looks like in an answer of the API, an export or an event. */
export const SECRET_MASK = '********';

/**
 * The one rule for what is secret in a connection, an endpoint or a data source, at any depth:
 * - the value of a key whose name says credential (below), and everything under such a key;
 * - every value of an HTTP `headers` object, except the few headers in PLAIN_HEADERS;
 * - a PEM private key, whatever its key is called;
 * - in a URL (`scheme://…`): its password and the values of query parameters with such names
 *   (`?access_token=`, `&sig=`, `X-Amz-Signature`); the whole URL is sealed, and shown with only
 *   those parts masked.
 */
const SECRET_NAME =
  /secret|passw|passphrase|pwd|token|api[-_]?key|access[-_]?key|private[-_]?key|credential|authori[sz]ation|auth[-_]?(token|key)|signature|cookie|^(key|pfx|sig|pass)$/i;
/**
 * Names that say where a credential is sent (an OAuth2 token endpoint), not a credential: readable, and
 * so a change of them counts as a new target for a masked secret. A secret inside such a URL is still sealed.
 */
const CREDENTIAL_PLACE = /^token[-_]?(url|uri|endpoint)$/i;
/** Headers that identify formats and clients, not callers: their values stay readable. */
const PLAIN_HEADERS = new Set(['accept', 'accept-encoding', 'accept-language', 'cache-control', 'content-type', 'user-agent']);
/** Objects whose keys are column names, not settings (`columnTypes: { token: 'text' }`): never secret by name. */
const NAMED_BY_DATA = new Set(['columnTypes']);
const PEM_PRIVATE_KEY = /-----BEGIN [A-Z0-9 ]*PRIVATE KEY-----/;
const URL_LIKE = /^[a-z][a-z0-9+.-]*:\/\//i;
/** Secrets shorter than this are not looked for in free text: replacing a 1-letter password everywhere garbles messages. */
const SCRUB_MIN_LENGTH = 4;

/** Encrypts connection secrets at rest (AES-256-GCM, key derived from IDRA_SECRET_KEY with scrypt). */
export class SecretBox {
  private readonly key: Buffer;

  constructor(secretKey: string) {
    if (secretKey.length < 16) {
      throw new ConfigError([{ path: 'IDRA_SECRET_KEY', message: 'must be at least 16 characters' }], 'invalid secret key');
    }
    this.key = scryptSync(secretKey, 'idra-secrets-v1', 32);
  }

  encrypt(plain: string): string {
    if (plain.startsWith(PREFIX)) return plain;
    const iv = randomBytes(12);
    const cipher = createCipheriv('aes-256-gcm', this.key, iv);
    const body = Buffer.concat([cipher.update(plain, 'utf8'), cipher.final()]);
    return PREFIX + Buffer.concat([iv, cipher.getAuthTag(), body]).toString('base64');
  }

  /** Decrypts a value written by `encrypt`; plain values pass through unchanged. */
  decrypt(value: string): string {
    if (!value.startsWith(PREFIX)) return value;
    const raw = Buffer.from(value.slice(PREFIX.length), 'base64');
    const decipher = createDecipheriv('aes-256-gcm', this.key, raw.subarray(0, 12));
    decipher.setAuthTag(raw.subarray(12, 28));
    try {
      return Buffer.concat([decipher.update(raw.subarray(28)), decipher.final()]).toString('utf8');
    } catch {
      throw new ConfigError([{ path: 'IDRA_SECRET_KEY', message: 'cannot decrypt a stored secret: the key differs from the one it was written with' }]);
    }
  }
}

/** True when a stored value is an encrypted secret. */
export const isSealed = (v: unknown): v is string => typeof v === 'string' && v.startsWith(PREFIX);

/** True when a key's name says that its value is a credential. */
export const isSecretName = (key: string): boolean => SECRET_NAME.test(key) && !CREDENTIAL_PLACE.test(key);

/** Stands in for the base of a path with a query (`/items?api_key=…`, an HTTP endpoint's `url`). */
const RELATIVE_BASE = 'relative:///';

/** A URL, or a path with a query string (resolved against RELATIVE_BASE); undefined for anything else. */
function parseUrl(value: string): URL | undefined {
  const relative = value.startsWith('/') && !value.startsWith('//') && value.includes('?');
  if (!relative && !URL_LIKE.test(value)) return undefined;
  try {
    return relative ? new URL(value, RELATIVE_BASE) : new URL(value);
  } catch {
    return undefined;
  }
}

/** A URL as text again, a path if it was one. */
function formatUrl(url: URL): string {
  const text = url.toString();
  return url.protocol === 'relative:' ? text.slice('relative://'.length) : text;
}

/** The names of the query parameters of `url` that carry credentials. */
const secretParams = (url: URL): string[] => [...new Set(url.searchParams.keys())].filter(isSecretName);

/** True when a URL carries a credential (a password, a secret query parameter). */
function urlHasSecrets(url: URL): boolean {
  return url.password !== '' || secretParams(url).length > 0;
}

/** A string leaf of a document and what the rule says about it. */
interface Leaf {
  value: string;
  /** Secret by its place (name, headers, a PEM key): the whole value is a credential. */
  secret: boolean;
  /** Dotted path from the walked document, e.g. `connection.options.ssl.key`. */
  path: string;
}

/** Calls `visit` on every string of a JSON document, which it may replace; returns the new document. */
function mapLeaves<T>(doc: T, visit: (leaf: Leaf) => string, base = ''): T {
  const walk = (value: unknown, path: string, secret: boolean, inHeaders: boolean, named: boolean): unknown => {
    if (typeof value === 'string') return visit({ value, secret: secret || PEM_PRIVATE_KEY.test(value), path });
    if (Array.isArray(value)) return value.map((v, i) => walk(v, `${path}[${i}]`, secret, inHeaders, named));
    if (value === null || typeof value !== 'object') return value;
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(value)) {
      const bySettingName = !named && (isSecretName(k) || (inHeaders && !PLAIN_HEADERS.has(k.toLowerCase())));
      out[k] = walk(v, path ? `${path}.${k}` : k, secret || bySettingName, !named && k.toLowerCase() === 'headers', NAMED_BY_DATA.has(k));
    }
    return out;
  };
  return walk(doc, base, false, false, false) as T;
}

/** Every string leaf of a document, without changing it. */
function leaves(doc: unknown): Leaf[] {
  const found: Leaf[] = [];
  mapLeaves(doc, (leaf) => {
    found.push(leaf);
    return leaf.value;
  });
  return found;
}

/** True when a document holds a credential in clear or sealed. */
export function hasSecrets(doc: unknown): boolean {
  return leaves(doc).some((l) => isSealed(l.value) || (l.secret && l.value !== '') || (parseUrl(l.value) && urlHasSecrets(parseUrl(l.value)!)));
}

/** The document as stored: every credential (and every URL carrying one) encrypted. */
export function sealSecrets<T>(doc: T, box: SecretBox): T {
  return mapLeaves(doc, ({ value, secret }) => {
    if (isSealed(value) || value === '') return value;
    const url = parseUrl(value);
    return secret || (url && urlHasSecrets(url)) ? box.encrypt(value) : value;
  });
}

/** The document ready to use: every encrypted value decrypted. */
export function openSecrets<T>(doc: T, box: SecretBox | undefined): T {
  return mapLeaves(doc, ({ value }) => {
    if (!isSealed(value)) return value;
    if (!box) throw new ConfigError([{ path: 'IDRA_SECRET_KEY', message: 'is not set, but a connection secret is stored encrypted' }]);
    return box.decrypt(value);
  });
}

/** A URL with its password and secret query values replaced by the mask. */
function maskUrl(url: URL): string {
  const out = new URL(url);
  if (out.password) out.password = SECRET_MASK;
  for (const name of secretParams(out)) out.searchParams.set(name, SECRET_MASK);
  return formatUrl(out);
}

/** The document as shown to anyone: credentials replaced by the mask, URLs with only their secret parts masked. */
export function maskSecrets<T>(doc: T, box?: SecretBox): T {
  return mapLeaves(doc, ({ value, secret }) => {
    if (secret) return value === '' ? value : SECRET_MASK;
    let plain: string | undefined = value;
    if (isSealed(value)) {
      try {
        plain = box?.decrypt(value);
      } catch {
        plain = undefined;
      }
    }
    // Sealed and unreadable, or sealed for a reason the rule cannot see here: nothing of it is shown.
    if (plain === undefined || (isSealed(value) && !parseUrl(plain))) return SECRET_MASK;
    const url = parseUrl(plain);
    return url && urlHasSecrets(url) ? maskUrl(url) : plain;
  });
}

/** Every credential of a document in clear (plain and URL-encoded), to remove from messages. */
export function secretValues(doc: unknown): string[] {
  const out = new Set<string>();
  for (const { value, secret } of leaves(doc)) {
    if (secret) {
      out.add(value);
      // "Bearer <token>", "Basic <base64>": the credential may be quoted without its scheme.
      for (const part of value.split(/\s+/)) if (!AUTH_SCHEMES.test(part)) out.add(part);
    }
    const url = parseUrl(value);
    if (!url) continue;
    if (url.password) out.add(url.password).add(decodeURIComponent(url.password));
    for (const name of secretParams(url)) for (const v of url.searchParams.getAll(name)) out.add(v).add(encodeURIComponent(v));
  }
  return [...out].filter((s) => s.length >= SCRUB_MIN_LENGTH && !isSealed(s) && s !== SECRET_MASK);
}

const AUTH_SCHEMES = /^(bearer|basic|token|digest|negotiate)$/i;

const escapeRegExp = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

/**
 * `text` with every whole occurrence of the secrets masked: a secret inside a longer word is left
 * alone ("unexpected" stays readable when the password is "expect").
 */
export function scrubSecrets(text: string, secrets: readonly string[]): string {
  let out = text;
  // Longest first: a secret that contains another is masked whole.
  for (const secret of [...secrets].sort((a, b) => b.length - a.length)) {
    if (secret.length < SCRUB_MIN_LENGTH) continue;
    out = out.replace(new RegExp(`(?<![A-Za-z0-9])${escapeRegExp(secret)}(?![A-Za-z0-9])`, 'g'), SECRET_MASK);
  }
  return out;
}

/**
 * Connection settings that tune how, not where: changing them does not send a credential anywhere
 * new, so a masked secret may be kept across such a change.
 */
const TUNING_OPTIONS = new Set([
  'poolSize',
  'connectTimeout',
  'connectTimeoutMs',
  'requestTimeout',
  'busyTimeoutMs',
  'idleCloseMs',
  'timeout',
  'retries',
  'retryBackoff',
  'compression',
  'fetchMaxBytes',
  'fetchMaxWait',
  'maxAwaitTime',
]);

/** What a URL says about where it goes, without its credentials: scheme, user, host, port, path, other parameters. */
function urlTarget(url: URL): string {
  const out = new URL(url);
  out.password = '';
  for (const name of secretParams(out)) out.searchParams.delete(name);
  out.searchParams.sort();
  return formatUrl(out);
}

/** Something that holds secrets and says where they go: a data source, or one endpoint of a sync. */
export interface SecretHolder {
  connector?: string | undefined;
  dataSourceId?: string | undefined;
  connection?: unknown;
  /** The endpoint's own URL (an HTTP source or destination: a path, or a URL of its own). */
  url?: string | undefined;
}

/**
 * Every field of a holder that says where its secrets go, by path: the connector, the data source,
 * each connection field that is not a credential or a tuning option, URLs without their credentials.
 */
function secretTarget(holder: SecretHolder, box: SecretBox | undefined): Map<string, string> {
  const target = new Map<string, string>();
  const put = (path: string, value: string) => target.set(path, value);
  if (holder.connector !== undefined) put('connector', holder.connector);
  if (holder.dataSourceId !== undefined) put('dataSourceId', holder.dataSourceId);
  const where = { connection: holder.connection, ...(holder.connector === 'http' && holder.url !== undefined ? { url: holder.url } : {}) };
  mapLeaves(openSecrets(where, box), ({ value, secret, path }) => {
    if (secret) return value;
    const url = parseUrl(value);
    put(path, url ? urlTarget(url) : value);
    return value;
  });
  // Numbers and booleans say where too (port, ssl, rejectUnauthorized).
  const scalars = (value: unknown, path: string): void => {
    if (typeof value === 'number' || typeof value === 'boolean') put(path, String(value));
    else if (Array.isArray(value)) value.forEach((v, i) => scalars(v, `${path}[${i}]`));
    else if (value !== null && typeof value === 'object') for (const [k, v] of Object.entries(value)) scalars(v, `${path}.${k}`);
  };
  scalars(holder.connection, 'connection');
  for (const key of [...target.keys()]) {
    const option = /^connection\.options\.([^.[]+)/.exec(key)?.[1];
    if (option && TUNING_OPTIONS.has(option)) target.delete(key);
  }
  return target;
}

/** True when a value is the mask or a URL with a masked credential. */
function isMasked(value: string): boolean {
  if (value === SECRET_MASK) return true;
  const url = parseUrl(value);
  if (!url) return false;
  return decodeURIComponent(url.password) === SECRET_MASK || secretParams(url).some((n) => url.searchParams.getAll(n).includes(SECRET_MASK));
}

/** The value at a dotted path (`connection.options.headers.X-Api-Key`, `a[0].b`) of a document. */
function valueAt(doc: unknown, path: string): unknown {
  let v: unknown = doc;
  for (const part of path.match(/[^.[\]]+|\[\d+\]/g) ?? []) {
    if (v === null || typeof v !== 'object') return undefined;
    v = part.startsWith('[') ? (v as unknown[])[Number(part.slice(1, -1))] : (v as Record<string, unknown>)[part];
  }
  return v;
}

/** A masked URL with its masked parts taken from the stored URL (the rest as the client sent it). */
function unmaskUrl(incoming: URL, stored: URL): string {
  const out = new URL(incoming);
  if (decodeURIComponent(out.password) === SECRET_MASK) out.password = stored.password;
  for (const name of secretParams(out)) {
    if (out.searchParams.get(name) === SECRET_MASK) out.searchParams.set(name, stored.searchParams.get(name) ?? SECRET_MASK);
  }
  return formatUrl(out);
}

/** Why masks in a client's document cannot be kept. */
export interface MaskIssue extends ConfigIssue {
  /** `no-secret`: nothing is stored behind the mask; `target-changed`: the secret would go somewhere else. */
  kind: 'no-secret' | 'target-changed';
}

/**
 * A client's document with the masks it sent back (unchanged answers of the API) replaced by the
 * stored secrets. A mask is only kept for the same target: if any field that says where the secret
 * goes differs from the stored one (host, port, URL, database, user, file, connector, data source,
 * brokers, TLS settings …), the masks are refused, naming that field. `base` prefixes the paths.
 */
export function restoreMaskedSecrets<T extends SecretHolder>(
  incoming: T,
  stored: SecretHolder | undefined,
  box: SecretBox | undefined,
  base = '',
): { value: T; issues: MaskIssue[] } {
  const at = (path: string) => (base ? `${base}.${path}` : path);
  const masked = leaves(incoming).filter((l) => isMasked(l.value));
  if (masked.length === 0) return { value: incoming, issues: [] };
  if (stored) {
    const before = secretTarget(stored, box);
    const after = secretTarget(incoming, box);
    const changed = [...new Set([...before.keys(), ...after.keys()])].filter((k) => before.get(k) !== after.get(k)).sort();
    if (changed.length > 0) {
      const field = changed[0]!.replace(/^connection\./, '');
      return {
        value: incoming,
        issues: changed.map((path) => ({
          kind: 'target-changed',
          path: at(path),
          message: `differs from the stored value while ${masked.map((m) => at(m.path)).join(', ')} ${masked.length === 1 ? 'is' : 'are'} masked: re-enter the secret to change the ${field} (a stored secret only goes where it went before)`,
        })),
      };
    }
  }
  const issues: MaskIssue[] = [];
  const value = mapLeaves(incoming, ({ value: v, path }) => {
    if (!isMasked(v)) return v;
    const kept = valueAt(stored, path);
    if (typeof kept !== 'string' || kept === '') {
      issues.push({ kind: 'no-secret', path: at(path), message: `is the mask '${SECRET_MASK}' but no secret is stored for it: send the real value` });
      return v;
    }
    if (v === SECRET_MASK) return kept;
    const storedUrl = parseUrl(openSecrets(kept, box));
    if (!storedUrl) {
      issues.push({ kind: 'no-secret', path: at(path), message: `holds the mask '${SECRET_MASK}' but the stored value is not a URL: send the real value` });
      return v;
    }
    return unmaskUrl(parseUrl(v)!, storedUrl);
  });
  return { value, issues };
}
