import { Prisma, type Workshop, type WorkshopStatus } from '../../generated/prisma/client.js';
import { cacheEntity } from '../../shared/ids.js';
import { isEditor, type Principal } from '../auth/principal.js';

/**
 * Which workshops a caller may see, the one place the rule is written: deleted workshops are gone for
 * everyone, and only editors see workshops that are not PUBLISHED (drafts, archived ones). Every lookup,
 * list, raw SQL query and loaded row (a questionnaire's, an enrollment's or a statistic's workshop)
 * goes through it, so a hidden workshop is indistinguishable from a missing one wherever it is reached.
 */
export function workshopVisibility(principal: Principal) {
  /** null: any status. */
  const status: WorkshopStatus | null = isEditor(principal) ? null : 'PUBLISHED';
  const where: Prisma.WorkshopWhereInput = status ? { deletedAt: null, status } : { deletedAt: null };
  return {
    /** A Prisma filter on workshops. */
    where,
    /** The same filter in SQL over `workshops <alias>`. */
    sql(alias = 'w'): Prisma.Sql {
      const w = Prisma.raw(alias);
      return status ? Prisma.sql`${w}.deleted_at IS NULL AND ${w}.status = ${status}::"WorkshopStatus"` : Prisma.sql`${w}.deleted_at IS NULL`;
    },
    /** The same test on a loaded row: the row, or null when the caller may not see it. */
    visible<T extends Pick<Workshop, 'status' | 'deletedAt'>>(workshop: T | null | undefined): T | null {
      return workshop && !workshop.deletedAt && (!status || workshop.status === status) ? workshop : null;
    },
  };
}

/**
 * What a workshop change can make stale in the response cache: the workshop itself (and so every
 * page showing it), and the lookups and lists whose answer may now differ (a published draft
 * appears in `workshops`, a new slug stops resolving to null).
 */
export function workshopCacheTags(id: string) {
  // Questionnaires are visible only with their workshop.
  return [cacheEntity('Workshop', id), ...WORKSHOP_LOOKUP_TAGS, { typename: 'Query.questionnaires' }, { typename: 'Query.questionnaire' }];
}

const WORKSHOP_LOOKUP_TAGS = ['Query.workshops', 'Query.workshopBySlug', 'Query.workshop', 'Query.node', 'Query.nodes'].map((typename) => ({ typename }));

/** A change that can show on every workshop (a topic's name): all of them, and the lookups and lists. */
export function allWorkshopsCacheTags() {
  return [{ typename: 'Workshop' }, ...WORKSHOP_LOOKUP_TAGS];
}
