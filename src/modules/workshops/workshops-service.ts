import { Prisma, type Workshop, type WorkshopStatus } from '../../generated/prisma/client.js';
import type { Db } from '../../infra/db.js';
import { readRows } from '../../infra/row-reader.js';
import { ConflictError, ForbiddenError, NotFoundError, ValidationError } from '../../shared/errors.js';
import type { Locale } from '../../shared/locale.js';
import { decodeCursor, encodeCursor, type SortKeyType } from '../../shared/pagination.js';
import { parseInput } from '../../shared/validation.js';
import { isEditor, type Principal } from '../auth/principal.js';
import type { TopicsService } from '../topics/topics-service.js';
import { createWorkshopInput, updateWorkshopInput } from './workshop-inputs.js';
import { workshopCacheTags, workshopVisibility } from './workshop-visibility.js';
import type { CacheInvalidator } from '../../infra/cache/two-tier-cache.js';
import type { EnrollmentNotices } from './enrollment-notices.js';
import { fillSeatsFromWaitlist } from './waitlist.js';
import { parseSearch, searchCondition, searchRank } from './workshop-search.js';
import { recordRevision } from '../audit/revisions.js';
import { selectColumns } from '../../shared/sql-columns.js';
import { WORKSHOP_COLUMNS } from './workshop-loaders.js';

export type WorkshopOrder = 'STARTS_AT_ASC' | 'STARTS_AT_DESC' | 'CREATED_AT_DESC' | 'TITLE_ASC' | 'RELEVANCE';

export interface WorkshopFilter {
  status?: WorkshopStatus | null;
  tag?: string | null;
  search?: string | null;
  startsAfter?: Date | null;
  startsBefore?: Date | null;
  /** true: starts at or after now; false: started before now. */
  upcoming?: boolean | null;
}

export interface WorkshopPageQuery {
  filter: WorkshopFilter;
  orderBy: WorkshopOrder;
  locale: Locale;
  limit: number;
  after?: string;
  before?: string;
  /** Fetch in reverse order (Relay `last`); the caller flips the page back. */
  inverted: boolean;
}

export interface WorkshopRow {
  workshop: Workshop;
  sortKey: string | number | Date | null;
}

export class WorkshopsService {
  constructor(
    private readonly db: Db,
    private readonly topics: TopicsService,
    private readonly cache: CacheInvalidator,
    /** The mails to people a larger capacity promotes from the waitlist. */
    private readonly notices: EnrollmentNotices,
  ) {}

  /** A workshop the principal may see, or null (hidden ones are indistinguishable from missing ones). */
  async findVisible(principal: Principal, where: { id: string } | { slug: string }): Promise<Workshop | null> {
    return this.db.workshop.findFirst({ where: { ...where, ...workshopVisibility(principal).where } });
  }

  /**
   * One page of workshops in keyset order (ranked by relevance when searching), whole rows in one
   * statement; with `withTotal`, the count of every workshop the filter matches (cursors aside) comes
   * in the same statement (a window over the filtered rows), else it is null. Sorting and full-text
   * ranking happen in SQL.
   */
  async page(principal: Principal, query: WorkshopPageQuery & { withTotal?: boolean }): Promise<{ rows: WorkshopRow[]; totalCount: number | null }> {
    const where = this.whereSql(principal, query.filter);
    const order = this.orderSpec(query);
    const descending = order.descending !== query.inverted;
    const direction = Prisma.raw(descending ? 'DESC' : 'ASC');
    // Over the select list below: the sort key and id of each row.
    const cursorConditions: Prisma.Sql[] = [];
    for (const [cursor, isAfter] of [[query.after, true], [query.before, false]] as const) {
      if (!cursor) continue;
      const { key, id } = decodeCursor(cursor, order.cast);
      // Rows "after" the cursor in the requested order: greater when ascending, smaller when descending.
      const greater = isAfter !== order.descending;
      cursorConditions.push(Prisma.sql`("sortKey", id) ${Prisma.raw(greater ? '>' : '<')} (${key}::${Prisma.raw(order.cast)}, ${id}::uuid)`);
    }
    const total = query.withTotal ? Prisma.sql`, count(*) OVER () AS "totalCount"` : Prisma.empty;
    const rows = await readRows<Workshop & { sortKey: WorkshopRow['sortKey']; totalCount?: bigint }>(this.db, Prisma.sql`
      SELECT * FROM (
        SELECT ${selectColumns(WORKSHOP_COLUMNS, 'w')}, ${order.expression} AS "sortKey"${total}
        FROM workshops w
        WHERE ${where}
      ) page
      ${cursorConditions.length ? Prisma.sql`WHERE ${Prisma.join(cursorConditions, ' AND ')}` : Prisma.empty}
      ORDER BY "sortKey" ${direction}, id ${direction}
      LIMIT ${query.limit}`);
    // An empty page (past the end) carries no count: the caller counts separately then.
    const totalCount = query.withTotal && rows[0] ? Number(rows[0].totalCount) : null;
    return {
      totalCount,
      rows: rows.map(({ sortKey, totalCount: _total, ...workshop }) => ({ workshop, sortKey })),
    };
  }

  cursorFor(row: WorkshopRow): string {
    return encodeCursor(row.sortKey, row.workshop.id);
  }

  async count(principal: Principal, filter: WorkshopFilter): Promise<number> {
    const [row] = await this.db.$queryRaw<{ count: number }[]>`
      SELECT count(*)::int AS count FROM workshops w WHERE ${this.whereSql(principal, filter)}`;
    return row?.count ?? 0;
  }

  async create(principal: Principal, raw: unknown): Promise<Workshop> {
    requireEditor(principal);
    const input = parseInput(createWorkshopInput, raw);
    await this.topics.assertKnown(input.tags, 'input.tags');
    const workshop = await this.writeUnique(() =>
      this.db.$transaction(async (tx) => {
        const created = await tx.workshop.create({
        data: {
          slug: input.slug,
          titleEn: input.title.en,
          titlePl: input.title.pl ?? null,
          descriptionEn: input.description.en,
          descriptionPl: input.description.pl ?? null,
          startsAt: input.startsAt,
          endsAt: input.endsAt,
          timezone: input.timezone,
          capacity: input.capacity,
          location: input.location ?? null,
          onlineUrl: input.onlineUrl ?? null,
          tags: [...new Set(input.tags)],
        },
        });
        await recordRevision(tx, principal, { type: 'Workshop', id: created.id, action: 'CREATE', before: null, after: created });
        return created;
      }),
    );
    await this.cache.invalidate(workshopCacheTags(workshop.id));
    return workshop;
  }

  async update(principal: Principal, id: string, raw: unknown): Promise<Workshop> {
    requireEditor(principal);
    const input = parseInput(updateWorkshopInput, raw);
    const updated = await this.db.$transaction(async (tx) => {
      const current = await lockLiveWorkshop(tx, id);
      // Tags it already has stay allowed after their topic retires.
      if (input.tags) await this.topics.assertKnown(input.tags, 'input.tags', current.tags, tx);
      const startsAt = input.startsAt ?? current.startsAt;
      const endsAt = input.endsAt ?? current.endsAt;
      if (startsAt >= endsAt) {
        throw new ValidationError('endsAt must be after startsAt', [{ path: 'input.endsAt', message: 'must be after startsAt' }]);
      }
      const location = input.location === undefined ? current.location : input.location;
      const onlineUrl = input.onlineUrl === undefined ? current.onlineUrl : input.onlineUrl;
      if (!location && !onlineUrl) {
        throw new ValidationError('A location or an onlineUrl is required', [{ path: 'input.location', message: 'a location or an onlineUrl is required' }]);
      }
      const updated = await this.writeUnique(() =>
        tx.workshop.update({
          where: { id },
          data: {
            slug: input.slug,
            titleEn: input.title?.en,
            titlePl: input.title ? (input.title.pl ?? null) : undefined,
            descriptionEn: input.description?.en,
            descriptionPl: input.description ? (input.description.pl ?? null) : undefined,
            startsAt: input.startsAt,
            endsAt: input.endsAt,
            timezone: input.timezone,
            capacity: input.capacity,
            location: input.location,
            onlineUrl: input.onlineUrl,
            tags: input.tags ? [...new Set(input.tags)] : undefined,
          },
        }),
      );
      // A larger capacity seats people from the waitlist right away.
      if (input.capacity !== undefined && input.capacity > current.capacity) await fillSeatsFromWaitlist(tx, updated, this.notices);
      await recordRevision(tx, principal, { type: 'Workshop', id, action: 'UPDATE', before: current, after: updated });
      return updated;
    });
    await this.cache.invalidate([...workshopCacheTags(id), { typename: 'Enrollment' }]);
    return updated;
  }

  async setStatus(principal: Principal, id: string, status: 'PUBLISHED' | 'ARCHIVED'): Promise<Workshop> {
    requireEditor(principal);
    const workshop = await this.db.$transaction(async (tx) => {
      const current = await lockLiveWorkshop(tx, id);
      if (current.status === status) return current;
      // Publishing makes the instant alerts due in this transaction; the outbox relay enqueues them.
      const changed = await tx.workshop.update({ where: { id }, data: { status, ...(status === 'PUBLISHED' ? { alertsDueAt: new Date() } : {}) } });
      await recordRevision(tx, principal, { type: 'Workshop', id, action: status === 'PUBLISHED' ? 'PUBLISH' : 'ARCHIVE', before: current, after: changed });
      return changed;
    });
    await this.cache.invalidate(workshopCacheTags(id));
    return workshop;
  }

  async softDelete(principal: Principal, id: string): Promise<Workshop> {
    requireEditor(principal);
    const workshop = await this.db.$transaction(async (tx) => {
      const current = await lockLiveWorkshop(tx, id);
      const deleted = await tx.workshop.update({ where: { id }, data: { deletedAt: new Date() } });
      await recordRevision(tx, principal, { type: 'Workshop', id, action: 'DELETE', before: current, after: deleted });
      return deleted;
    });
    await this.cache.invalidate(workshopCacheTags(id));
    return workshop;
  }

  private async writeUnique<T>(write: () => Promise<T>): Promise<T> {
    try {
      return await write();
    } catch (error) {
      if (error instanceof Prisma.PrismaClientKnownRequestError && error.code === 'P2002') {
        throw new ConflictError('A workshop with this slug already exists');
      }
      throw error;
    }
  }

  private whereSql(principal: Principal, filter: WorkshopFilter): Prisma.Sql {
    const conditions = [workshopVisibility(principal).sql()];
    if (filter.status) conditions.push(Prisma.sql`w.status = ${filter.status}::"WorkshopStatus"`);
    if (filter.tag) conditions.push(Prisma.sql`${filter.tag} = ANY(w.tags)`);
    if (filter.startsAfter) conditions.push(Prisma.sql`w.starts_at >= ${filter.startsAfter}`);
    if (filter.startsBefore) conditions.push(Prisma.sql`w.starts_at < ${filter.startsBefore}`);
    if (filter.upcoming != null) conditions.push(filter.upcoming ? Prisma.sql`w.starts_at >= now()` : Prisma.sql`w.starts_at < now()`);
    const search = parseSearch(filter.search);
    if (search) conditions.push(searchCondition(search));
    return Prisma.join(conditions, ' AND ');
  }

  private orderSpec(query: WorkshopPageQuery): { expression: Prisma.Sql; descending: boolean; cast: SortKeyType } {
    const search = parseSearch(query.filter.search);
    switch (query.orderBy) {
      case 'RELEVANCE':
        if (!search) {
          throw new ValidationError('RELEVANCE ordering needs filter.search', [{ path: 'orderBy', message: 'RELEVANCE needs filter.search' }]);
        }
        return {
          expression: searchRank(search),
          descending: true,
          cast: 'real',
        };
      case 'STARTS_AT_DESC':
        return { expression: Prisma.sql`w.starts_at`, descending: true, cast: 'timestamptz' };
      case 'CREATED_AT_DESC':
        return { expression: Prisma.sql`w.created_at`, descending: true, cast: 'timestamptz' };
      case 'TITLE_ASC':
        return {
          expression: query.locale === 'PL' ? Prisma.sql`lower(coalesce(w.title_pl, w.title_en))` : Prisma.sql`lower(w.title_en)`,
          descending: false,
          cast: 'text',
        };
      default:
        return { expression: Prisma.sql`w.starts_at`, descending: false, cast: 'timestamptz' };
    }
  }
}

export function requireEditor(principal: Principal): void {
  if (!isEditor(principal)) throw new ForbiddenError('Only editors may do this');
}

/** Locks a live (not deleted) workshop row for the rest of the transaction; NOT_FOUND otherwise. */
export async function lockLiveWorkshop(tx: Prisma.TransactionClient, id: string): Promise<Workshop> {
  const locked = await tx.$queryRaw<{ id: string }[]>`
    SELECT id FROM workshops WHERE id = ${id}::uuid AND deleted_at IS NULL FOR UPDATE`;
  if (locked.length === 0) throw new NotFoundError('Workshop');
  return tx.workshop.findUniqueOrThrow({ where: { id } });
}
