import {
  SECRET_MASK,
  isSealed,
  maskConnection,
  mergeMaskedConnection,
  openConnection,
  type Connection,
  type ConfigIssue,
  type DataSource,
  type SecretBox,
  type SyncConfig,
} from '@idra/core';
import { BadRequestError } from './errors.ts';

/** `url` with its password replaced by the mask; an unreadable sealed URL is masked whole. */
function maskUrl(url: string, box: SecretBox | undefined): string {
  let plain: string | undefined = url;
  if (isSealed(url)) {
    try {
      plain = box?.decrypt(url);
    } catch {
      plain = undefined;
    }
  }
  if (plain === undefined) return SECRET_MASK;
  try {
    const u = new URL(plain);
    if (!u.password) return plain;
    u.password = SECRET_MASK;
    return u.toString();
  } catch {
    return plain;
  }
}

function urlPassword(url: string): string {
  try {
    return decodeURIComponent(new URL(url).password);
  } catch {
    return '';
  }
}

/** Where a connection still holds the mask (a secret the client does not know and none is stored). */
function maskedFields(c: Connection, path: string): ConfigIssue[] {
  const issues: ConfigIssue[] = [];
  const hint = `is the mask '${SECRET_MASK}' but no secret is stored for it: send the real value`;
  if (c.password === SECRET_MASK) issues.push({ path: `${path}.password`, message: hint });
  if (c.url !== undefined && urlPassword(c.url) === SECRET_MASK) issues.push({ path: `${path}.url`, message: hint });
  for (const [k, v] of Object.entries(c.options ?? {})) if (v === SECRET_MASK) issues.push({ path: `${path}.options.${k}`, message: hint });
  return issues;
}

/** True when a connection carries a credential (password, URL password, secret-named option). */
export function hasSecrets(c: Connection): boolean {
  if (c.password) return true;
  if (c.url !== undefined && (isSealed(c.url) || urlPassword(c.url) !== '')) return true;
  const masked = maskConnection({ options: c.options ?? {} }).options ?? {};
  return Object.entries(c.options ?? {}).some(([k, v]) => masked[k] !== v);
}

/**
 * The one place the API handles connection secrets: masks them in everything it returns, merges the
 * masks a client sends back with the stored (sealed) secrets, and refuses secrets it cannot seal.
 */
export class ConnectionSecrets {
  private readonly box: SecretBox | undefined;
  constructor(box: SecretBox | undefined) {
    this.box = box;
  }

  mask(c: Connection): Connection {
    const out = maskConnection({ ...c, url: undefined }, this.box);
    delete out.url;
    return c.url === undefined ? out : { ...out, url: maskUrl(c.url, this.box) };
  }

  maskDataSource(ds: DataSource): DataSource {
    return { ...ds, connection: this.mask(ds.connection) };
  }

  maskSync(s: SyncConfig): SyncConfig {
    const out = structuredClone(s);
    for (const ep of [out.source, out.destination]) if (ep.connection) ep.connection = this.mask(ep.connection);
    return out;
  }

  /**
   * A connection from a client, ready to store: masks sent back unchanged take the stored secret
   * (a masked URL password takes the stored URL's password, keeping the rest of the new URL).
   * Throws 400 when a mask has nothing to stand for.
   */
  merge(incoming: Connection, stored: Connection | undefined, path: string): Connection {
    let out: Connection = { ...incoming };
    if (out.url !== undefined && urlPassword(out.url) === SECRET_MASK && stored?.url !== undefined) {
      const storedPassword = urlPassword(this.open(stored).url ?? '');
      if (storedPassword) {
        const u = new URL(out.url);
        u.password = encodeURIComponent(storedPassword);
        out.url = u.toString();
      }
    }
    out = mergeMaskedConnection(out, stored);
    const issues = maskedFields(out, path);
    if (issues.length > 0) throw new BadRequestError('IDRA_ERR_SECRETS_MASKED', issues.map((i) => `${i.path}: ${i.message}`).join('; '), issues);
    return out;
  }

  /** `merge`, for a connection about to be stored: also refuses to store a credential in clear. */
  mergeForStorage(incoming: Connection, stored: Connection | undefined, path: string): Connection {
    const out = this.merge(incoming, stored, path);
    this.assertCanSeal(out, path);
    return out;
  }

  /** Refuses to store a credential in clear. */
  assertCanSeal(c: Connection, path: string): void {
    if (!this.box && hasSecrets(c)) {
      throw new BadRequestError(
        'IDRA_ERR_SECRETS_KEY_MISSING',
        `${path} holds a secret, but IDRA_SECRET_KEY is not set on the API server: secrets are only stored encrypted (set it, with the same value on every agent)`,
        [{ path, message: 'holds a secret but IDRA_SECRET_KEY is not set' }],
      );
    }
  }

  /** The connection with its sealed secrets decrypted (to test it). */
  open(c: Connection): Connection {
    return openConnection(c, this.box);
  }
}
