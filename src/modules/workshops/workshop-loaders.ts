import DataLoader from 'dataloader';
import type { Db } from '../../infra/db.js';
import { readRows } from '../../infra/row-reader.js';
import { Prisma, type Enrollment, type EnrollmentStatus, type Subscriber, type Workshop } from '../../generated/prisma/client.js';
import { decodeCursor } from '../../shared/pagination.js';
import { rowBuilder, selectColumns } from '../../shared/sql-columns.js';
import { windowedPageLoaders, type WindowedPageArgs } from '../../shared/windowed-pages.js';
import { SUBSCRIBER_COLUMNS } from '../subscribers/subscriber-columns.js';

export type EnrollmentCounts = Record<EnrollmentStatus, number>;

const NO_ENROLLMENTS: EnrollmentCounts = { ENROLLED: 0, WAITLISTED: 0, CANCELLED: 0, ATTENDED: 0, PENDING: 0 };

export interface EnrollmentPageArgs extends WindowedPageArgs {
  status?: EnrollmentStatus | null;
}

/** An enrollment with its person, as Prisma's `include: { subscriber: true }` gives it. */
export type EnrollmentWithSubscriber = Enrollment & { subscriber: Subscriber };

/** The person an enrollment was read with (an enrollment page brings them), if it was. */
export function includedSubscriber(enrollment: Enrollment): Subscriber | undefined {
  return (enrollment as Partial<EnrollmentWithSubscriber>).subscriber;
}

/** One workshop's page of enrollments, with their people and the workshop's counts per status (the same statement). */
export interface EnrollmentPage {
  enrollments: EnrollmentWithSubscriber[];
  counts: EnrollmentCounts;
}

/** Every field of the model (tsc refuses a map that misses one). */
export const WORKSHOP_COLUMNS = {
  id: 'id', slug: 'slug', titleEn: 'title_en', titlePl: 'title_pl', descriptionEn: 'description_en', descriptionPl: 'description_pl',
  status: 'status::text', startsAt: 'starts_at', endsAt: 'ends_at', timezone: 'timezone', capacity: 'capacity', location: 'location',
  onlineUrl: 'online_url', tags: 'tags', createdAt: 'created_at', updatedAt: 'updated_at', deletedAt: 'deleted_at',
  alertsDueAt: 'alerts_due_at',
} satisfies Record<keyof Workshop, string>;

export const ENROLLMENT_COLUMNS = {
  id: 'id', workshopId: 'workshop_id', subscriberId: 'subscriber_id', status: 'status::text',
  createdAt: 'created_at', updatedAt: 'updated_at', cancelledAt: 'cancelled_at', checkedInAt: 'checked_in_at', holdExpiresAt: 'hold_expires_at',
} satisfies Record<keyof Enrollment, string>;

/** An enrollment page's row: the enrollment (null for a workshop without any) with its person. */
const enrollmentWithSubscriber = rowBuilder<EnrollmentWithSubscriber>(ENROLLMENT_COLUMNS, 'e.', { subscriber: [SUBSCRIBER_COLUMNS, 's.'] });

/** Per-status counts, every status present (0 when none). */
function countsOf(byStatus: Partial<Record<EnrollmentStatus, number>> | null | undefined): EnrollmentCounts {
  return { ...NO_ENROLLMENTS, ...byStatus };
}

/**
 * Each workshop's keyset page of enrollments in joining order, one statement for a whole batch of
 * workshops: a LATERAL page per workshop (N workshops cost N × limit rows, not every enrollment), with
 * each enrollment's person joined (included, as Prisma's include does) and the workshop's counts per
 * status, so the connection's totalCount, the seat counts and `subscriber` need no statement of their own.
 */
async function loadEnrollmentPages(db: Db, workshopIds: readonly string[], args: EnrollmentPageArgs): Promise<EnrollmentPage[]> {
  const conditions = [Prisma.sql`e.workshop_id = p.id`];
  if (args.status) conditions.push(Prisma.sql`e.status = ${args.status}::"EnrollmentStatus"`);
  // Joining order: "after" lies further along (later), "before" towards the start.
  for (const [cursor, operator] of [[args.after, '>'], [args.before, '<']] as const) {
    if (!cursor) continue;
    const { key, id } = decodeCursor(cursor, 'timestamptz');
    conditions.push(Prisma.sql`(e.created_at, e.id) ${Prisma.raw(operator)} (${key}::timestamptz, ${id}::uuid)`);
  }
  const direction = Prisma.raw(args.inverted ? 'DESC' : 'ASC');
  const rows = await readRows<Record<string, unknown>>(db, Prisma.sql`
    SELECT p.id AS "parentId", c.counts, ${selectColumns(ENROLLMENT_COLUMNS, 'e', 'e.')}, ${selectColumns(SUBSCRIBER_COLUMNS, 's', 's.')}
    FROM unnest(${[...workshopIds]}::uuid[]) WITH ORDINALITY AS p(id, position)
    CROSS JOIN LATERAL (
      SELECT jsonb_object_agg(g.status, g.n) AS counts
      FROM (SELECT status::text AS status, count(*)::int AS n FROM enrollments WHERE workshop_id = p.id GROUP BY status) g
    ) c
    LEFT JOIN LATERAL (
      SELECT * FROM enrollments e WHERE ${Prisma.join(conditions, ' AND ')}
      ORDER BY e.created_at ${direction}, e.id ${direction} LIMIT ${args.limit}
    ) e ON true
    LEFT JOIN subscribers s ON s.id = e.subscriber_id
    ORDER BY p.position, e.created_at ${direction}, e.id ${direction}`);
  const pages = new Map<string, EnrollmentPage>();
  for (const row of rows) {
    const parent = row.parentId as string;
    let page = pages.get(parent);
    if (!page) pages.set(parent, (page = { enrollments: [], counts: countsOf(row.counts as Partial<EnrollmentCounts>) }));
    // The foreign key guarantees the person (an erased one keeps the row).
    const enrollment = enrollmentWithSubscriber(row);
    if (enrollment) page.enrollments.push(enrollment);
  }
  return workshopIds.map((id) => pages.get(id) ?? { enrollments: [], counts: countsOf(null) });
}

/** Per-request loaders: one statement per kind of data, whatever the number of workshops on the page. */
export function createWorkshopLoaders(db: Db) {
  return {
    byId: new DataLoader<string, Workshop | null>(async (ids) => {
      const rows = await db.workshop.findMany({ where: { id: { in: [...ids] } } });
      const byId = new Map(rows.map((row) => [row.id, row]));
      return ids.map((id) => byId.get(id) ?? null);
    }),

    enrollmentCounts: new DataLoader<string, EnrollmentCounts>(async (workshopIds) => {
      const groups = await db.enrollment.groupBy({
        by: ['workshopId', 'status'],
        where: { workshopId: { in: [...workshopIds] } },
        _count: { _all: true },
      });
      const counts = new Map<string, EnrollmentCounts>();
      for (const g of groups) {
        const entry = counts.get(g.workshopId) ?? { ...NO_ENROLLMENTS };
        entry[g.status] = g._count._all;
        counts.set(g.workshopId, entry);
      }
      return workshopIds.map((id) => counts.get(id) ?? { ...NO_ENROLLMENTS });
    }),

    /** A page of each workshop's enrollments in joining order: one statement for the whole parent page (see loadEnrollmentPages). */
    enrollmentPage: windowedPageLoaders<EnrollmentPageArgs, EnrollmentPage>((workshopIds, args) => loadEnrollmentPages(db, workshopIds, args)),
  };
}
