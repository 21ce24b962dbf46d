import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import type { Namespace } from 'etcd3';
import { KEYS, errorMessage, type Logger } from '@idra/core';
import type { ApiTokenView, Role } from '@idra/api-client';

/** `tokens/<id>` in etcd: the token's sha256, never the token. */
export interface ApiTokenRecord extends ApiTokenView {
  sha256: string;
  /** The owner's never-reused user id: a token of a deleted `bob` does not work for a new `bob`. */
  ownerId: string;
}

/** Tokens look like `idra_<id>_<secret>`: the id finds the record, the secret is checked against its hash. */
const TOKEN_FORMAT = /^idra_([a-f0-9]{16})_([A-Za-z0-9_-]{43})$/;
/** Last-used times are written at most this often per token, not on every request. */
const TOUCH_INTERVAL_MS = 60_000;

const sha256 = (s: string) => createHash('sha256').update(s).digest('hex');

export function isApiToken(bearer: string): boolean {
  return bearer.startsWith('idra_');
}

export function tokenView(t: ApiTokenRecord): ApiTokenView {
  return { id: t.id, name: t.name, role: t.role, owner: t.owner, createdAt: t.createdAt, lastUsedAt: t.lastUsedAt, expiresAt: t.expiresAt };
}

/** Long-lived API tokens for CI jobs. */
export class ApiTokenStore {
  private readonly ns: Namespace;
  private readonly log: Logger;
  private readonly touched = new Map<string, number>();

  constructor(ns: Namespace, log: Logger) {
    this.ns = ns;
    this.log = log;
  }

  /** Creates a token; the returned `token` is the only time its secret exists outside the caller. */
  async create(req: { name: string; role: Role; owner: string; ownerId: string; expiresAt: string | null }): Promise<ApiTokenRecord & { token: string }> {
    const id = randomBytes(8).toString('hex');
    const token = `idra_${id}_${randomBytes(32).toString('base64url')}`;
    const record: ApiTokenRecord = {
      id,
      name: req.name,
      role: req.role,
      owner: req.owner,
      ownerId: req.ownerId,
      createdAt: new Date().toISOString(),
      lastUsedAt: null,
      expiresAt: req.expiresAt,
      sha256: sha256(token),
    };
    await this.ns.put(KEYS.token(id)).value(JSON.stringify(record));
    return { ...record, token };
  }

  async get(id: string): Promise<ApiTokenRecord | undefined> {
    const text = await this.ns.get(KEYS.token(id)).string();
    return text === null ? undefined : (JSON.parse(text) as ApiTokenRecord);
  }

  async list(): Promise<ApiTokenRecord[]> {
    const all = await this.ns.getAll().prefix(KEYS.tokens).strings();
    return Object.values(all)
      .map((t) => JSON.parse(t) as ApiTokenRecord)
      .sort((a, b) => a.createdAt.localeCompare(b.createdAt));
  }

  async revoke(id: string): Promise<boolean> {
    return Number((await this.ns.delete().key(KEYS.token(id)).exec()).deleted) > 0;
  }

  /** Revokes every token a user created (the user was deleted). */
  async revokeOwnedBy(owner: string): Promise<number> {
    let n = 0;
    for (const t of await this.list()) if (t.owner === owner && (await this.revoke(t.id))) n++;
    return n;
  }

  /**
   * Tokens created before owner ids existed are bound to their owner's current id at first use
   * (deleting a user always revoked their tokens, so a surviving token belongs to its named owner).
   */
  async bindOwner(record: ApiTokenRecord, ownerId: string): Promise<void> {
    const key = KEYS.token(record.id);
    await this.ns
      .if(key, 'Create', '>', 0)
      .then(this.ns.put(key).value(JSON.stringify({ ...record, ownerId })))
      .commit();
  }

  /** The record of a valid token (known, matching, not expired); undefined otherwise. */
  async verify(token: string): Promise<ApiTokenRecord | undefined> {
    const m = TOKEN_FORMAT.exec(token);
    if (!m) return undefined;
    const record = await this.get(m[1]!);
    if (!record) return undefined;
    const a = Buffer.from(sha256(token), 'hex');
    const b = Buffer.from(record.sha256, 'hex');
    if (a.length !== b.length || !timingSafeEqual(a, b)) return undefined;
    if (record.expiresAt && Date.parse(record.expiresAt) <= Date.now()) return undefined;
    this.touch(record);
    return record;
  }

  /** Records the last use, throttled; never delays the request. */
  private touch(record: ApiTokenRecord): void {
    const now = Date.now();
    if (now - (this.touched.get(record.id) ?? 0) < TOUCH_INTERVAL_MS) return;
    this.touched.set(record.id, now);
    const key = KEYS.token(record.id);
    const updated = JSON.stringify({ ...record, lastUsedAt: new Date(now).toISOString() });
    // Only if the token still exists: a touch must not resurrect a revoked token.
    this.ns
      .if(key, 'Create', '>', 0)
      .then(this.ns.put(key).value(updated))
      .commit()
      .catch((err: unknown) => this.log.warn({ err: errorMessage(err), tokenId: record.id }, 'cannot record API token use'));
  }
}
