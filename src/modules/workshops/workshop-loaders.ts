import DataLoader from 'dataloader';
import type { Db } from '../../infra/db.js';
import { Prisma, type Enrollment, type EnrollmentStatus, type Workshop } from '../../generated/prisma/client.js';
import { decodeCursor } from '../../shared/pagination.js';

export type EnrollmentCounts = Record<EnrollmentStatus, number>;

const NO_ENROLLMENTS: EnrollmentCounts = { ENROLLED: 0, WAITLISTED: 0, CANCELLED: 0, ATTENDED: 0 };

export interface EnrollmentPageArgs {
  /** Rows to fetch per workshop (page size + 1, to know whether there is a next page). */
  limit: number;
  after?: string;
  before?: string;
  /** Scan newest first (for `last`): the connection helper turns the page back into joining order. */
  inverted: boolean;
  status?: EnrollmentStatus | null;
}

/** Per-request loaders: one statement per kind of data, whatever the number of workshops on the page. */
export function createWorkshopLoaders(db: Db) {
  const pageLoaders = new Map<string, DataLoader<string, Enrollment[]>>();
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

    /**
     * First page of each workshop's enrollments, bounded in SQL with a window function: a page of
     * 2 costs 2 rows per workshop, not every enrollment (the Prisma plugin's nested connections
     * load all children and trim in JavaScript).
     */
    enrollmentPage(args: EnrollmentPageArgs): DataLoader<string, Enrollment[]> {
      const key = JSON.stringify(args);
      let loader = pageLoaders.get(key);
      if (!loader) {
        loader = new DataLoader((workshopIds) => loadEnrollmentPages(db, [...workshopIds], args));
        pageLoaders.set(key, loader);
      }
      return loader;
    },
  };
}

async function loadEnrollmentPages(db: Db, workshopIds: string[], args: EnrollmentPageArgs): Promise<Enrollment[][]> {
  const conditions = [Prisma.sql`e.workshop_id = ANY(${workshopIds}::uuid[])`];
  if (args.status) conditions.push(Prisma.sql`e.status = ${args.status}::"EnrollmentStatus"`);
  if (args.after) {
    const cursor = decodeCursor(args.after);
    conditions.push(Prisma.sql`(e.created_at, e.id) > (${String(cursor.key)}::timestamptz, ${cursor.id}::uuid)`);
  }
  if (args.before) {
    const cursor = decodeCursor(args.before);
    conditions.push(Prisma.sql`(e.created_at, e.id) < (${String(cursor.key)}::timestamptz, ${cursor.id}::uuid)`);
  }
  const order = args.inverted ? Prisma.sql`e.created_at DESC, e.id DESC` : Prisma.sql`e.created_at, e.id`;
  const rows = await db.$queryRaw<Enrollment[]>`
    SELECT id, "workshopId", "subscriberId", status, "createdAt", "updatedAt", "cancelledAt" FROM (
      SELECT e.id, e.workshop_id AS "workshopId", e.subscriber_id AS "subscriberId", e.status::text AS status,
             e.created_at AS "createdAt", e.updated_at AS "updatedAt", e.cancelled_at AS "cancelledAt",
             row_number() OVER (PARTITION BY e.workshop_id ORDER BY ${order}) AS position
      FROM enrollments e
      WHERE ${Prisma.join(conditions, ' AND ')}
    ) page
    WHERE position <= ${args.limit}
    ORDER BY "workshopId", position`;
  const pages = new Map<string, Enrollment[]>(workshopIds.map((id) => [id, []]));
  for (const row of rows) pages.get(row.workshopId)?.push(row);
  return workshopIds.map((id) => pages.get(id) ?? []);
}
