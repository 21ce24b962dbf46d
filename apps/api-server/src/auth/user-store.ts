import { randomBytes } from 'node:crypto';
import type { Namespace } from 'etcd3';
import { KEYS } from '@idra/core';
import type { Role, UserView } from '@idra/api-client';
import { hashPassword, verifyPassword } from './passwords.ts';

/** `users/<name>` in etcd. */
export interface UserRecord extends UserView {
  /**
   * Random per created user and never reused: sessions and API tokens are bound to it, so deleting
   * `bob` and creating a new `bob` does not revive old bob's credentials.
   */
  id: string;
  passwordHash: string;
  /** Grows at logout and password change: session tokens carrying an older value are refused. */
  sessionVersion: number;
}

const DEFAULT_ADMIN_PASSWORD = 'admin';

const newUserId = () => randomBytes(8).toString('hex');

export function userView(u: UserRecord): UserView {
  return { name: u.name, role: u.role, mustChangePassword: u.mustChangePassword, createdAt: u.createdAt, updatedAt: u.updatedAt };
}

/** Users of the API, stored in etcd with scrypt password hashes. */
export class UserStore {
  private readonly ns: Namespace;
  constructor(ns: Namespace) {
    this.ns = ns;
  }

  async get(name: string): Promise<UserRecord | undefined> {
    const kv = (await this.ns.get(KEYS.user(name)).exec()).kvs[0];
    if (!kv) return undefined;
    const record = JSON.parse(kv.value.toString()) as UserRecord;
    return record.id ? record : this.giveId(record, kv.mod_revision);
  }

  /**
   * Users stored before ids existed get one on first load. Written only if the record is unchanged
   * since it was read, so that concurrent loads (two API servers) settle on the same id.
   */
  private async giveId(record: UserRecord, modRevision: string): Promise<UserRecord | undefined> {
    const key = KEYS.user(record.name);
    const withId: UserRecord = { ...record, id: newUserId() };
    const res = await this.ns
      .if(key, 'Mod', '==', modRevision)
      .then(this.ns.put(key).value(JSON.stringify(withId)))
      .commit();
    return res.succeeded ? withId : this.get(record.name);
  }

  async list(): Promise<UserRecord[]> {
    const all = await this.ns.getAll().prefix(KEYS.users).strings();
    return Object.values(all)
      .map((t) => JSON.parse(t) as UserRecord)
      .sort((a, b) => a.name.localeCompare(b.name));
  }

  /** Creates a user; false when the name is taken. */
  async create(u: { name: string; password: string; role: Role; mustChangePassword: boolean }): Promise<UserRecord | false> {
    const now = new Date().toISOString();
    const record: UserRecord = {
      id: newUserId(),
      name: u.name,
      role: u.role,
      mustChangePassword: u.mustChangePassword,
      createdAt: now,
      updatedAt: now,
      passwordHash: await hashPassword(u.password),
      sessionVersion: 1,
    };
    const key = KEYS.user(u.name);
    const res = await this.ns
      .if(key, 'Create', '==', 0)
      .then(this.ns.put(key).value(JSON.stringify(record)))
      .commit();
    return res.succeeded ? record : false;
  }

  /** Updates a user; false (nothing written) when the user was deleted meanwhile, so a late write never resurrects one. */
  async put(u: UserRecord): Promise<boolean> {
    const key = KEYS.user(u.name);
    const res = await this.ns
      .if(key, 'Create', '>', 0)
      .then(this.ns.put(key).value(JSON.stringify({ ...u, updatedAt: new Date().toISOString() })))
      .commit();
    return res.succeeded;
  }

  async delete(name: string): Promise<boolean> {
    return Number((await this.ns.delete().key(KEYS.user(name)).exec()).deleted) > 0;
  }

  /** The admin password hash last checked against the default, and the answer (one scrypt per change of the hash, whoever asks). */
  private defaultChecked: { hash: string; inForce: boolean } | undefined;

  /** Whether `admin` still has the first start's default password (`admin`), so that the login page may say so. */
  async defaultAdminPasswordInForce(): Promise<boolean> {
    const admin = await this.get('admin');
    // A changed password clears the flag; an admin's reset sets it with a password of their choosing.
    if (!admin?.mustChangePassword) return false;
    if (this.defaultChecked?.hash !== admin.passwordHash) {
      this.defaultChecked = { hash: admin.passwordHash, inForce: await verifyPassword(DEFAULT_ADMIN_PASSWORD, admin.passwordHash) };
    }
    return this.defaultChecked.inForce;
  }

  /**
   * First start (no user at all): creates `admin`. With the default password it must be changed at
   * the first login; a password given through IDRA_ADMIN_PASSWORD is taken as chosen.
   */
  async ensureBootstrapAdmin(password: string | undefined): Promise<UserRecord | undefined> {
    const existing = await this.ns.getAll().prefix(KEYS.users).limit(1).keys();
    if (existing.length > 0) return undefined;
    const created = await this.create({
      name: 'admin',
      password: password ?? DEFAULT_ADMIN_PASSWORD,
      role: 'admin',
      mustChangePassword: password === undefined || password === DEFAULT_ADMIN_PASSWORD,
    });
    return created || undefined;
  }
}
