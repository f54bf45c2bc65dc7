import { Prisma, type EnrollmentStatus } from '../../generated/prisma/client.js';

/**
 * The one rule for which enrollments hold a seat: enrolled people, and those checked in (ATTENDED)
 * who still occupy theirs. Enrolling, the waitlist, seat counts and the statistics all count these.
 * (The materialized statistics in the analytics migration spell the same list in SQL.)
 */
export const SEATED_STATUSES = ['ENROLLED', 'ATTENDED'] as const satisfies readonly EnrollmentStatus[];

/** The rule as a SQL condition on an enrollments row (the list is ours, not user input). */
export const seatedSql = (alias?: string): Prisma.Sql =>
  Prisma.raw(`${alias ? `${alias}.` : ''}status IN (${SEATED_STATUSES.map((status) => `'${status}'`).join(', ')})`);

/** Seats taken, from per-status counts. */
export function seatsTaken(counts: Record<EnrollmentStatus, number>): number {
  return SEATED_STATUSES.reduce((sum, status) => sum + counts[status], 0);
}
