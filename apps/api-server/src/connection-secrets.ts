import {
  hasSecrets,
  maskSecrets,
  openSecrets,
  restoreMaskedSecrets,
  type DataSource,
  type Endpoint,
  type MaskIssue,
  type SecretBox,
  type SecretHolder,
  type SyncConfig,
} from '@idra/core';
import { BadRequestError } from './errors.ts';

/** 400 for masks that cannot be kept, one issue per field; a changed target wins (it is the attack). */
function refuseMasks(issues: MaskIssue[]): never {
  const moved = issues.filter((i) => i.kind === 'target-changed');
  const shown = moved.length > 0 ? moved : issues;
  throw new BadRequestError(
    moved.length > 0 ? 'IDRA_ERR_SECRETS_TARGET_CHANGED' : 'IDRA_ERR_SECRETS_MASKED',
    shown.map((i) => `${i.path}: ${i.message}`).join('; '),
    shown.map(({ path, message }) => ({ path, message })),
  );
}

/**
 * The one place the API handles connection secrets (core's rule of what is secret, at any depth):
 * masks them in everything it returns, puts the stored secrets back where a client returns masks
 * (only for the same target), and refuses secrets it cannot seal.
 */
export class ConnectionSecrets {
  private readonly box: SecretBox | undefined;
  constructor(box: SecretBox | undefined) {
    this.box = box;
  }

  /** Any document (connection, endpoint, data source, error details) with its secrets masked. */
  mask<T>(doc: T): T {
    return maskSecrets(doc, this.box);
  }

  maskSync(s: SyncConfig): SyncConfig {
    return { ...s, source: this.mask(s.source), destination: this.mask(s.destination) };
  }

  /**
   * A holder from a client (a data source, an endpoint of a sync) with its masks replaced by the
   * stored secrets. 400 when a mask has nothing behind it, or when the holder points its secrets
   * somewhere else than the stored one (`IDRA_ERR_SECRETS_TARGET_CHANGED`, naming the field).
   */
  restore<T extends SecretHolder>(incoming: T, stored: SecretHolder | undefined, base: string): T {
    const { value, issues } = restoreMaskedSecrets(incoming, stored, this.box, base);
    if (issues.length > 0) refuseMasks(issues);
    return value;
  }

  /** `restore`, for a holder about to be stored: also refuses to store a credential in clear. */
  restoreForStorage<T extends SecretHolder>(incoming: T, stored: SecretHolder | undefined, base: string): T {
    const out = this.restore(incoming, stored, base);
    this.assertCanSeal(out, base || 'connection');
    return out;
  }

  /** A data source from a client, ready to store or test. */
  restoreDataSource(incoming: DataSource, stored: DataSource | undefined, base = ''): DataSource {
    return this.restoreForStorage(incoming, stored, base);
  }

  /** Both endpoints of a sync from a client; the masks of both are reported at once. */
  restoreSync(incoming: SyncConfig, stored: SyncConfig | undefined, base = ''): SyncConfig {
    const issues: MaskIssue[] = [];
    const restored = (role: 'source' | 'destination'): Endpoint => {
      const r = restoreMaskedSecrets(incoming[role], stored?.[role], this.box, base ? `${base}.${role}` : role);
      issues.push(...r.issues);
      return r.value;
    };
    const out = { ...incoming, source: restored('source'), destination: restored('destination') };
    if (issues.length > 0) refuseMasks(issues);
    for (const role of ['source', 'destination'] as const) this.assertCanSeal(out[role], base ? `${base}.${role}` : role);
    return out;
  }

  /** Refuses to store a credential in clear. */
  assertCanSeal(doc: unknown, path: string): void {
    if (!this.box && hasSecrets(doc)) {
      throw new BadRequestError(
        'IDRA_ERR_SECRETS_KEY_MISSING',
        `${path} holds a secret, but IDRA_SECRET_KEY is not set on the API server: secrets are only stored encrypted (set it, with the same value on every agent)`,
        [{ path, message: 'holds a secret but IDRA_SECRET_KEY is not set' }],
      );
    }
  }

  /** The document with its sealed secrets decrypted (to test a connection). */
  open<T>(doc: T): T {
    return openSecrets(doc, this.box);
  }
}
