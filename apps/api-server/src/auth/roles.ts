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
  role: Role;
  via: 'session' | 'api-token';
  tokenId?: string;
  mustChangePassword: boolean;
}

/** The name written into audit records (offset history): `alice`, or `alice (token ci-deploy)`. */
export function actorName(p: Principal): string {
  return p.via === 'api-token' ? `${p.name} (token ${p.tokenId})` : p.name;
}
