import { createCipheriv, createDecipheriv, randomBytes, scryptSync } from 'node:crypto';
import { ConfigError } from './errors.ts';
import type { Connection } from './model/schema.ts';

const PREFIX = 'enc:v1:';
const MASK = '********';
/** Option names whose string values are credentials. */
const SECRET_OPTION = /(secret|password|passwd|token|api[-_]?key|credential|auth)/i;

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
export const isSealed = (v: unknown): boolean => typeof v === 'string' && v.startsWith(PREFIX);

function urlHasPassword(url: string): boolean {
  try {
    return new URL(url).password !== '';
  } catch {
    return false;
  }
}

function mapSecrets(c: Connection, f: (value: string) => string, urlF: (url: string) => string): Connection {
  const out: Connection = { ...c };
  if (out.password !== undefined) out.password = f(out.password);
  if (out.url !== undefined) out.url = urlF(out.url);
  if (out.options) {
    out.options = Object.fromEntries(Object.entries(out.options).map(([k, v]) => [k, typeof v === 'string' && SECRET_OPTION.test(k) ? f(v) : v]));
  }
  return out;
}

/** The connection as stored: password, credential options and URLs carrying a password encrypted. */
export function sealConnection(c: Connection, box: SecretBox): Connection {
  return mapSecrets(c, (v) => box.encrypt(v), (url) => (urlHasPassword(url) ? box.encrypt(url) : url));
}

/** The connection ready to use: every encrypted value decrypted. */
export function openConnection(c: Connection, box: SecretBox | undefined): Connection {
  const open = (v: string) => {
    if (!isSealed(v)) return v;
    if (!box) throw new ConfigError([{ path: 'IDRA_SECRET_KEY', message: 'is not set, but a connection secret is stored encrypted' }]);
    return box.decrypt(v);
  };
  return mapSecrets(c, open, open);
}

/** The connection as shown to users: secrets replaced by a mask, URL passwords masked. */
export function maskConnection(c: Connection, box?: SecretBox): Connection {
  return mapSecrets(
    c,
    () => MASK,
    (url) => {
      const plain = isSealed(url) ? (box ? box.decrypt(url) : '') : url;
      try {
        const u = new URL(plain);
        if (u.password) u.password = MASK;
        return u.toString();
      } catch {
        return MASK;
      }
    },
  );
}

/** When a client sends back a masked value unchanged, keep the stored secret. */
export function mergeMaskedConnection(incoming: Connection, stored: Connection | undefined): Connection {
  if (!stored) return incoming;
  const out: Connection = { ...incoming };
  if (out.password === MASK) out.password = stored.password;
  if (out.url !== undefined && (out.url.includes(MASK) || out.url.includes(encodeURIComponent(MASK))) && stored.url !== undefined) out.url = stored.url;
  if (out.options && stored.options) {
    for (const [k, v] of Object.entries(out.options)) if (v === MASK) out.options[k] = stored.options[k];
  }
  return out;
}

export const SECRET_MASK = MASK;
