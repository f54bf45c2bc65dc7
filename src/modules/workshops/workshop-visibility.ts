import { Prisma } from '../../generated/prisma/client.js';
import { cacheEntity } from '../../shared/ids.js';
import { isEditor, type Principal } from '../auth/principal.js';

/** Editors see every live workshop; everyone else only published ones. Deleted ones are gone for all. */
export function visibleWorkshopWhere(principal: Principal): Prisma.WorkshopWhereInput {
  return isEditor(principal) ? { deletedAt: null } : { deletedAt: null, status: 'PUBLISHED' };
}

export function visibleWorkshopSql(principal: Principal, alias = 'w'): Prisma.Sql {
  const w = Prisma.raw(alias);
  return isEditor(principal)
    ? Prisma.sql`${w}.deleted_at IS NULL`
    : Prisma.sql`${w}.deleted_at IS NULL AND ${w}.status = 'PUBLISHED'`;
}

/**
 * What a workshop change can make stale in the response cache: the workshop itself (and so every
 * page showing it), and the lookups and lists whose answer may now differ (a published draft
 * appears in `workshops`, a new slug stops resolving to null).
 */
export function workshopCacheTags(id: string) {
  return [
    cacheEntity('Workshop', id),
    { typename: 'Query.workshops' },
    { typename: 'Query.workshopBySlug' },
    { typename: 'Query.workshop' },
    { typename: 'Query.node' },
    { typename: 'Query.nodes' },
  ];
}
