import type { Role } from '../../generated/prisma/enums.js';

export type { Role };

export type Principal =
  | { kind: 'anonymous' }
  | { kind: 'apiKey'; keyId: string; name: string; role: Role; client: string | null };

export function roleOf(principal: Principal): Role | null {
  return principal.kind === 'apiKey' ? principal.role : null;
}

/** EDITOR or ADMIN: manages content and reads personal data. */
export function isEditor(principal: Principal): boolean {
  const role = roleOf(principal);
  return role === 'EDITOR' || role === 'ADMIN';
}

export function isAdmin(principal: Principal): boolean {
  return roleOf(principal) === 'ADMIN';
}

/** A Prisma filter that matches nothing: node lookups of types the caller may not load resolve to null. */
export const MATCH_NOTHING = { AND: [{ id: { in: [] as string[] } }] };
