import type { Enrollment, Prisma, Workshop } from '../../generated/prisma/client.js';
import type { Db } from '../../infra/db.js';
import { ConflictError, ForbiddenError, NotFoundError } from '../../shared/errors.js';
import { cacheEntity, decodeGlobalId } from '../../shared/ids.js';
import type { TokenSigner } from '../../shared/tokens.js';
import { parseInput } from '../../shared/validation.js';
import { isEditor, type Principal } from '../auth/principal.js';
import { subscriberCacheTags } from '../subscribers/subscriber-cache-tags.js';
import type { SubscribersService } from '../subscribers/subscribers-service.js';
import type { CacheInvalidator } from '../../infra/cache/two-tier-cache.js';
import { recordEvent } from '../analytics/events-service.js';
import { enrollInput } from './workshop-inputs.js';
import { holdsSeat, seatedSql, SEATED_STATUSES } from './seats.js';
import { lockLiveWorkshop, requireEditor } from './workshops-service.js';

/** The enrollee's own cancellation and check-in links stay valid for a year (well past any workshop). */
const ENROLLEE_TOKEN_TTL_SECONDS = 365 * 24 * 3600;

/** Check-in opens this long before the start and closes at the end. */
export const CHECK_IN_OPENS_BEFORE_MS = 3600_000;

export class EnrollmentsService {
  constructor(
    private readonly db: Db,
    private readonly subscribers: SubscribersService,
    private readonly tokens: TokenSigner,
    private readonly cache: CacheInvalidator,
    private readonly statisticsChanged: () => void,
  ) {}

  /** Counts live on Workshop; promotions change other people's enrollments too; the person may be new. */
  private invalidate(workshopId: string, subscriberId: string) {
    this.statisticsChanged();
    return this.cache.invalidate([cacheEntity('Workshop', workshopId), { typename: 'Enrollment' }, ...subscriberCacheTags(subscriberId)]);
  }

  /**
   * Enrolls, or waitlists when the workshop is full. The workshop row is locked for the
   * transaction, so concurrent enrollments for the last seat are serialized: exactly one wins it.
   */
  async enroll(raw: unknown): Promise<{ enrollment: Enrollment; cancellationToken: string; checkInToken: string }> {
    const input = parseInput(enrollInput, raw);
    const { typename, id: workshopId } = decodeGlobalId(input.workshopId);
    if (typename !== 'Workshop') throw new NotFoundError('Workshop');
    const enrollment = await this.db.$transaction(async (tx) => {
      const workshop = await lockLiveWorkshop(tx, workshopId);
      if (workshop.status !== 'PUBLISHED') throw new NotFoundError('Workshop');
      refuseIfStarted(workshop);
      const subscriber = await this.subscribers.upsertByEmail(tx, { email: input.email, name: input.name, locale: input.locale });
      const existing = await tx.enrollment.findUnique({
        where: { workshopId_subscriberId: { workshopId, subscriberId: subscriber.id } },
      });
      if (existing && existing.status !== 'CANCELLED') throw new ConflictError('This email is already enrolled in this workshop');
      const seated = await tx.enrollment.count({ where: { workshopId, status: { in: [...SEATED_STATUSES] } } });
      const status = seated < workshop.capacity ? 'ENROLLED' : 'WAITLISTED';
      await recordEvent(tx, { type: 'ENROLLMENT', workshopId, subscriberId: subscriber.id, properties: { status } });
      if (existing) {
        // Re-enrolling after a cancellation joins the back of the queue.
        return tx.enrollment.update({ where: { id: existing.id }, data: { status, cancelledAt: null, createdAt: new Date() } });
      }
      return tx.enrollment.create({ data: { workshopId, subscriberId: subscriber.id, status } });
    });
    await this.invalidate(workshopId, enrollment.subscriberId);
    return {
      enrollment,
      cancellationToken: this.tokens.sign('enrollment:cancel', enrollment.id, ENROLLEE_TOKEN_TTL_SECONDS),
      // A purpose of its own: the QR code shown at the door must not be able to cancel the seat.
      checkInToken: this.tokens.sign('enrollment:check-in', enrollment.id, ENROLLEE_TOKEN_TTL_SECONDS),
    };
  }

  /** Editors cancel any enrollment; enrollees cancel their own with the token they got from `enroll`. */
  async cancel(principal: Principal, enrollmentId: string, token?: string | null): Promise<Enrollment> {
    if (token) {
      if (this.tokens.verify('enrollment:cancel', token) !== enrollmentId) throw new ForbiddenError('This token is for another enrollment');
    } else if (!isEditor(principal)) {
      throw new ForbiddenError('Only editors, or the enrollee with their token, may cancel an enrollment');
    }
    const cancelled = await this.db.$transaction(async (tx) => {
      const current = await tx.enrollment.findUnique({ where: { id: enrollmentId } });
      if (!current) throw new NotFoundError('Enrollment');
      const workshop = await lockLiveWorkshop(tx, current.workshopId);
      // Re-read under the workshop lock: a concurrent cancel may have changed it.
      const enrollment = await tx.enrollment.findUniqueOrThrow({ where: { id: enrollmentId } });
      if (enrollment.status === 'CANCELLED') return enrollment;
      if (enrollment.status === 'ATTENDED') throw new ConflictError('An attended enrollment cannot be cancelled');
      // A seat freed now would promote a waitlisted person into an event already under way.
      refuseIfStarted(workshop);
      const updated = await tx.enrollment.update({
        where: { id: enrollmentId },
        data: { status: 'CANCELLED', cancelledAt: new Date() },
      });
      await recordEvent(tx, { type: 'CANCELLATION', workshopId: workshop.id, subscriberId: enrollment.subscriberId });
      if (holdsSeat(enrollment.status)) await fillSeatsFromWaitlist(tx, workshop.id, workshop.capacity);
      return updated;
    });
    await this.invalidate(cancelled.workshopId, cancelled.subscriberId);
    return cancelled;
  }

  /** Editors check a person in at the door. */
  checkIn(principal: Principal, enrollmentId: string): Promise<Enrollment> {
    requireEditor(principal);
    return this.markAttendance(enrollmentId, true);
  }

  /** Editors undo a check-in made by mistake: the person is ENROLLED again (the seat stays theirs). */
  undoCheckIn(principal: Principal, enrollmentId: string): Promise<Enrollment> {
    requireEditor(principal);
    return this.markAttendance(enrollmentId, false);
  }

  /** Self-service: the enrollee's QR code (the `checkInToken` from `enroll`) checks them in. */
  checkInByToken(token: string): Promise<Enrollment> {
    return this.markAttendance(this.tokens.verify('enrollment:check-in', token), true);
  }

  /**
   * ENROLLED ⇄ ATTENDED, under the workshop lock (as cancelling is, so a check-in and a cancellation
   * of one enrollment cannot both win). Checking in twice is harmless: scanning a QR code again
   * returns the enrollment as it is. Only ENROLLED people can be checked in: not waitlisted,
   * cancelled, or any other state a later flow may add.
   */
  private async markAttendance(enrollmentId: string, attended: boolean): Promise<Enrollment> {
    const result = await this.db.$transaction(async (tx) => {
      const current = await tx.enrollment.findUnique({ where: { id: enrollmentId } });
      if (!current) throw new NotFoundError('Enrollment');
      const workshop = await lockLiveWorkshop(tx, current.workshopId);
      const enrollment = await tx.enrollment.findUniqueOrThrow({ where: { id: enrollmentId } });
      if (!attended) {
        if (enrollment.status !== 'ATTENDED') return { enrollment, changed: false };
        const updated = await tx.enrollment.update({ where: { id: enrollmentId }, data: { status: 'ENROLLED', checkedInAt: null } });
        return { enrollment: updated, changed: true };
      }
      if (enrollment.status === 'ATTENDED') return { enrollment, changed: false };
      if (enrollment.status !== 'ENROLLED') {
        throw new ConflictError(`Only enrolled people can be checked in; this enrollment is ${enrollment.status}`);
      }
      refuseOutsideCheckInWindow(workshop);
      const updated = await tx.enrollment.update({ where: { id: enrollmentId }, data: { status: 'ATTENDED', checkedInAt: new Date() } });
      return { enrollment: updated, changed: true };
    });
    if (result.changed) await this.invalidate(result.enrollment.workshopId, result.enrollment.subscriberId);
    return result.enrollment;
  }
}

/** Enrollments change only before a workshop starts. */
function refuseIfStarted(workshop: Workshop): void {
  if (workshop.startsAt <= new Date()) throw new ConflictError('This workshop has already started');
}

/** Check-in is open from an hour before the start until the end. */
function refuseOutsideCheckInWindow(workshop: Workshop, now = new Date()): void {
  const opens = new Date(workshop.startsAt.getTime() - CHECK_IN_OPENS_BEFORE_MS);
  if (now < opens) throw new ConflictError(`Check-in opens at ${opens.toISOString()}, an hour before the workshop starts`);
  if (now >= workshop.endsAt) throw new ConflictError(`Check-in closed when the workshop ended at ${workshop.endsAt.toISOString()}`);
}

/** Promotes the oldest waitlisted enrollments into free seats. Call with the workshop row locked. */
export async function fillSeatsFromWaitlist(tx: Prisma.TransactionClient, workshopId: string, capacity: number): Promise<number> {
  return tx.$executeRaw`
    UPDATE enrollments SET status = 'ENROLLED', updated_at = now()
    WHERE id IN (
      SELECT id FROM enrollments
      WHERE workshop_id = ${workshopId}::uuid AND status = 'WAITLISTED'
      ORDER BY created_at, id
      LIMIT greatest(0, ${capacity}::int - (
        SELECT count(*) FROM enrollments WHERE workshop_id = ${workshopId}::uuid AND ${seatedSql()}
      ))
    )`;
}
