import type { Role } from '@idra/api-client';

const RANK: Record<Role, number> = { viewer: 0, operator: 1, admin: 2 };

/** True when `role` includes everything `required` may do. */
export function hasRole(role: Role, required: Role): boolean {
  return RANK[role] >= RANK[required];
}

/** Who a request is authenticated as. */
export interface Principal {
  /** User name (for an API token: its owner). */
  name: string;
  /** The user's never-reused id (for an API token: its owner's). */
  userId: string;
  /** For an API token: the lesser of the token's role and its owner's current role. */
  role: Role;
  via: 'session' | 'api-token';
  tokenId?: string;
  mustChangePassword: boolean;
  /** When a session ends by itself (epoch milliseconds); API tokens are checked on every use instead. */
  expiresAt?: number;
}

/** The name written into audit records (offset history): `alice`, or `alice (token ci-deploy)`. */
export function actorName(p: Principal): string {
  return p.via === 'api-token' ? `${p.name} (token ${p.tokenId})` : p.name;
}
