import type { Enrollment, Prisma, Workshop } from '../../generated/prisma/client.js';
import type { EnrollmentNotices } from './enrollment-notices.js';
import { seatedSql } from './seats.js';

/**
 * Promotes the oldest waitlisted enrollments into the seats the seat rule (seats.ts) leaves free, in
 * joining order. A confirmed person becomes ENROLLED and is sent the promotion notice in this
 * transaction; one who has not confirmed yet becomes PENDING: the seat is held for them until their
 * hold runs out, and confirming enrolls them. Call with the workshop row locked (lockLiveWorkshop).
 */
export async function fillSeatsFromWaitlist(tx: Prisma.TransactionClient, workshop: Workshop, notices: EnrollmentNotices): Promise<Enrollment[]> {
  const promoted = await tx.$queryRaw<{ id: string }[]>`
    UPDATE enrollments
       SET status = (CASE WHEN hold_expires_at IS NULL THEN 'ENROLLED' ELSE 'PENDING' END)::"EnrollmentStatus", updated_at = now()
     WHERE id IN (
       SELECT id FROM enrollments
       WHERE workshop_id = ${workshop.id}::uuid AND status = 'WAITLISTED'
       ORDER BY created_at, id
       LIMIT greatest(0, ${workshop.capacity}::int - (
         SELECT count(*) FROM enrollments WHERE workshop_id = ${workshop.id}::uuid AND ${seatedSql()}
       ))
     )
     RETURNING id`;
  if (promoted.length === 0) return [];
  const enrollments = await tx.enrollment.findMany({ where: { id: { in: promoted.map((row) => row.id) } }, orderBy: [{ createdAt: 'asc' }, { id: 'asc' }] });
  for (const enrollment of enrollments) if (enrollment.status === 'ENROLLED') await notices.promoted(tx, enrollment, workshop);
  return enrollments;
}
