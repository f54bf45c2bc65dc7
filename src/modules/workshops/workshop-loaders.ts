import DataLoader from 'dataloader';
import type { Db } from '../../infra/db.js';
import { Prisma, type Enrollment, type EnrollmentStatus, type Workshop } from '../../generated/prisma/client.js';
import { loadWindowedPages, windowedPageLoaders, type WindowedPageArgs, type WindowedPageSpec } from '../../shared/windowed-pages.js';

export type EnrollmentCounts = Record<EnrollmentStatus, number>;

const NO_ENROLLMENTS: EnrollmentCounts = { ENROLLED: 0, WAITLISTED: 0, CANCELLED: 0, ATTENDED: 0, PENDING: 0 };

export interface EnrollmentPageArgs extends WindowedPageArgs {
  status?: EnrollmentStatus | null;
}

const ENROLLMENT_PAGES: WindowedPageSpec = {
  table: 'enrollments',
  parent: 'workshop_id',
  key: 'created_at',
  newestFirst: false,
  columns: Prisma.sql`id, workshop_id AS "workshopId", subscriber_id AS "subscriberId", status::text AS status,
    created_at AS "createdAt", updated_at AS "updatedAt", cancelled_at AS "cancelledAt", checked_in_at AS "checkedInAt", hold_expires_at AS "holdExpiresAt"`,
};

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

    /** A page of each workshop's enrollments in joining order: one statement for the whole parent page. */
    enrollmentPage: windowedPageLoaders<EnrollmentPageArgs, Enrollment>((workshopIds, { status, ...page }) =>
      loadWindowedPages<Enrollment>(db, ENROLLMENT_PAGES, workshopIds, page, status ? [Prisma.sql`status = ${status}::"EnrollmentStatus"`] : [], (e) => e.workshopId),
    ),
  };
}
