import { Prisma, type EnrollmentStatus } from '../../generated/prisma/client.js';

/**
 * The one rule for which enrollments hold a seat: enrolled people, those checked in (ATTENDED) who
 * still occupy theirs, and PENDING ones waiting for the person to confirm from the mail (held until
 * confirmed or released). Enrolling, the waitlist and seat counts (`enrollmentCount`, `seatsLeft`)
 * count these. The materialized statistics count confirmed seats only (ENROLLED, ATTENDED, spelled
 * in the analytics migration's SQL): a hold is not an enrollment yet.
 */
export const SEATED_STATUSES = ['ENROLLED', 'ATTENDED', 'PENDING'] as const satisfies readonly EnrollmentStatus[];

export const holdsSeat = (status: EnrollmentStatus): boolean => (SEATED_STATUSES as readonly EnrollmentStatus[]).includes(status);

/** The rule as a SQL condition on an enrollments row (the list is ours, not user input). */
export const seatedSql = (alias?: string): Prisma.Sql =>
  Prisma.raw(`${alias ? `${alias}.` : ''}status IN (${SEATED_STATUSES.map((status) => `'${status}'`).join(', ')})`);

/** Seats taken, from per-status counts. */
export function seatsTaken(counts: Record<EnrollmentStatus, number>): number {
  return SEATED_STATUSES.reduce((sum, status) => sum + counts[status], 0);
}
