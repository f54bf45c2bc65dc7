import type { Enrollment, Prisma, Workshop } from '../../generated/prisma/client.js';
import type { Db } from '../../infra/db.js';
import { ConflictError, ForbiddenError, NotFoundError } from '../../shared/errors.js';
import { cacheEntity, decodeGlobalId } from '../../shared/ids.js';
import { assertIssuedSince, invalidTokenError, type TokenSigner } from '../../shared/tokens.js';
import { parseInput } from '../../shared/validation.js';
import { isEditor, type Principal } from '../auth/principal.js';
import { subscriberCacheTags } from '../subscribers/subscriber-cache-tags.js';
import type { SubscribersService } from '../subscribers/subscribers-service.js';
import type { CacheInvalidator } from '../../infra/cache/two-tier-cache.js';
import { recordEvent } from '../analytics/events-service.js';
import { enrollInput } from './workshop-inputs.js';
import { CONFIRM_TOKEN_TTL_SECONDS, type EnrollmentNotices } from './enrollment-notices.js';
import { holdsSeat, SEATED_STATUSES } from './seats.js';
import { fillSeatsFromWaitlist } from './waitlist.js';
import { lockLiveWorkshop, requireEditor } from './workshops-service.js';

/** Check-in opens this long before the start and closes at the end. */
export const CHECK_IN_OPENS_BEFORE_MS = 3600_000;

/**
 * What `enroll` answers. Editors get the enrollment and the enrollee's tokens; everyone else the same
 * `accepted` whatever the address's state (new, pending, enrolled): the rest travels in the mail.
 */
export interface EnrollResult {
  accepted: true;
  enrollment: Enrollment | null;
  cancellationToken: string | null;
  checkInToken: string | null;
}

/** What a confirmation link meets once its hold ran out, released or not yet. */
const HOLD_RELEASED = 'This enrollment was not confirmed in time and its hold was released; enroll again';

const ACCEPTED: EnrollResult = { accepted: true, enrollment: null, cancellationToken: null, checkInToken: null };

export class EnrollmentsService {
  constructor(
    private readonly db: Db,
    private readonly subscribers: SubscribersService,
    private readonly tokens: TokenSigner,
    private readonly notices: EnrollmentNotices,
    private readonly cache: CacheInvalidator,
    private readonly statisticsChanged: () => void,
    /** How long an unconfirmed enrollment holds its seat or waitlist place (ENROLLMENT_HOLD_HOURS). */
    private readonly holdHours: number,
  ) {}

  /** Counts live on Workshop; promotions change other people's enrollments too; the person may be new. */
  private invalidate(workshopId: string, subscriberId: string) {
    this.statisticsChanged();
    return this.cache.invalidate([cacheEntity('Workshop', workshopId), { typename: 'Enrollment' }, ...subscriberCacheTags(subscriberId)]);
  }

  /**
   * Enrolls, or waitlists when the workshop is full. The workshop row is locked for the transaction,
   * so concurrent enrollments for the last seat are serialized: exactly one wins it.
   *
   * Anyone can type anyone's email, so an enrollment from an unverified address is a hold: PENDING on
   * a seat (or WAITLISTED, unconfirmed) until the person confirms from the mail, released after
   * `holdHours`. Editors' enrollments, and those of a caller who proves to be the confirmed subscriber
   * (their manage token), skip the hold. An address already enrolled or pending is mailed its links
   * (or its confirmation link again) and nothing changes; callers other than editors cannot tell the
   * cases apart.
   */
  async enroll(principal: Principal, raw: unknown): Promise<EnrollResult> {
    const input = parseInput(enrollInput, raw);
    const { typename, id: workshopId } = decodeGlobalId(input.workshopId);
    if (typename !== 'Workshop') throw new NotFoundError('Workshop');
    const editor = isEditor(principal);
    if (input.manageToken) await this.subscribers.assertConfirmedSubscriber(input.manageToken, input.email);
    const verified = editor || Boolean(input.manageToken);
    const result = await this.db.$transaction(async (tx) => {
      const workshop = await lockLiveWorkshop(tx, workshopId);
      if (workshop.status !== 'PUBLISHED') throw new NotFoundError('Workshop');
      refuseIfStarted(workshop);
      const subscriber = await this.subscribers.upsertByEmail(tx, { email: input.email, name: input.name, locale: input.locale });
      const existing = await tx.enrollment.findUnique({
        where: { workshopId_subscriberId: { workshopId, subscriberId: subscriber.id } },
      });
      if (existing && existing.status !== 'CANCELLED') {
        if (editor) throw new ConflictError('This email is already enrolled in this workshop');
        // The person proved who they are: their own pending hold is confirmed now.
        if (verified && existing.holdExpiresAt) return { enrollment: await this.confirmHeld(tx, existing, workshop), changed: true };
        if (existing.holdExpiresAt) await this.notices.requestConfirmation(tx, existing, workshop);
        else await this.notices.alreadyEnrolled(tx, existing, workshop);
        return { enrollment: existing, changed: false };
      }
      const seated = await tx.enrollment.count({ where: { workshopId, status: { in: [...SEATED_STATUSES] } } });
      const free = seated < workshop.capacity;
      const status = free ? (verified ? 'ENROLLED' : 'PENDING') : 'WAITLISTED';
      const now = new Date();
      // A hold never outlasts the start: after it, nobody could be promoted into the seat it kept.
      const holdExpiresAt = new Date(Math.min(now.getTime() + this.holdHours * 3600_000, workshop.startsAt.getTime()));
      const data = { status, createdAt: now, holdExpiresAt: verified ? null : holdExpiresAt } as const;
      // Re-enrolling after a cancellation joins the back of the queue (and makes links to the old enrollment dead).
      const enrollment = existing
        ? await tx.enrollment.update({ where: { id: existing.id }, data: { ...data, cancelledAt: null, checkedInAt: null } })
        : await tx.enrollment.create({ data: { ...data, workshopId, subscriberId: subscriber.id } });
      if (verified) {
        await recordEvent(tx, { type: 'ENROLLMENT', workshopId, subscriberId: subscriber.id, properties: { status } });
        await this.notices.confirmed(tx, enrollment, workshop);
      } else {
        await this.notices.requestConfirmation(tx, enrollment, workshop);
      }
      return { enrollment, changed: true };
    });
    if (result.changed) await this.invalidate(workshopId, result.enrollment.subscriberId);
    if (!editor) return ACCEPTED;
    return { accepted: true, enrollment: result.enrollment, ...this.notices.enrolleeTokens(result.enrollment.id) };
  }

  /**
   * The link in the mail: a held enrollment becomes ENROLLED (or stays WAITLISTED, now confirmed),
   * and the person is sent their check-in code and cancellation link. Single use: a link issued
   * before the enrollment was (re)made is dead, and a confirmed one is CONFLICT, as is one whose hold
   * ran out.
   */
  async confirm(token: string): Promise<Enrollment> {
    const times = this.tokens.verifyWithTimes('enrollment:confirm', token);
    const result = await this.db.$transaction(async (tx) => {
      const current = await tx.enrollment.findUnique({ where: { id: times.subject } });
      if (!current) throw invalidTokenError();
      const workshop = await lockLiveWorkshop(tx, current.workshopId);
      const enrollment = await tx.enrollment.findUniqueOrThrow({ where: { id: current.id } });
      assertIssuedSince(times, CONFIRM_TOKEN_TTL_SECONDS, enrollment.createdAt);
      if (enrollment.status === 'CANCELLED') {
        throw new ConflictError(enrollment.holdExpiresAt ? HOLD_RELEASED : 'This enrollment was cancelled');
      }
      if (!enrollment.holdExpiresAt) throw new ConflictError('This enrollment is already confirmed');
      if (enrollment.holdExpiresAt <= new Date()) throw new ConflictError(HOLD_RELEASED);
      return this.confirmHeld(tx, enrollment, workshop);
    });
    await this.invalidate(result.workshopId, result.subscriberId);
    return result;
  }

  /** A hold confirmed: PENDING takes its seat for good, a waitlist place stays in line, confirmed. */
  private async confirmHeld(tx: Prisma.TransactionClient, enrollment: Enrollment, workshop: Workshop): Promise<Enrollment> {
    const status = enrollment.status === 'PENDING' ? 'ENROLLED' : enrollment.status;
    const confirmed = await tx.enrollment.update({ where: { id: enrollment.id }, data: { status, holdExpiresAt: null } });
    await recordEvent(tx, { type: 'ENROLLMENT', workshopId: workshop.id, subscriberId: enrollment.subscriberId, properties: { status } });
    await this.notices.confirmed(tx, confirmed, workshop);
    return confirmed;
  }

  /**
   * The maintenance job: enrollments still unconfirmed when their hold ran out are released
   * (CANCELLED), and the seats they held go to the waitlist through the seat rule, one workshop at a
   * time under its lock. Workshops that started keep their waitlist (as cancelling does). Returns
   * how many were released.
   */
  async releaseExpiredHolds(now = new Date()): Promise<number> {
    // Deleted workshops keep their rows as they are (nobody can enroll there any more).
    const due = await this.db.$queryRaw<{ workshopId: string }[]>`
      SELECT DISTINCT e.workshop_id AS "workshopId" FROM enrollments e JOIN workshops w ON w.id = e.workshop_id AND w.deleted_at IS NULL
      WHERE e.hold_expires_at <= ${now} AND e.status IN ('PENDING', 'WAITLISTED')`;
    let released = 0;
    for (const { workshopId } of due) {
      const result = await this.db.$transaction(async (tx) => {
        const workshop = await lockLiveWorkshop(tx, workshopId);
        const expired = await tx.enrollment.findMany({ where: { workshopId, holdExpiresAt: { lte: now }, status: { in: ['PENDING', 'WAITLISTED'] } } });
        if (expired.length === 0) return null;
        await tx.enrollment.updateMany({ where: { id: { in: expired.map((e) => e.id) } }, data: { status: 'CANCELLED', cancelledAt: new Date() } });
        if (expired.some((e) => holdsSeat(e.status)) && workshop.startsAt > new Date()) await fillSeatsFromWaitlist(tx, workshop, this.notices);
        return expired;
      });
      if (!result) continue;
      released += result.length;
      await this.invalidate(workshopId, result[0]!.subscriberId);
    }
    return released;
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
        // No hold left to run out (a released one keeps its deadline: that is how a confirmation link tells the two apart).
        data: { status: 'CANCELLED', cancelledAt: new Date(), holdExpiresAt: null },
      });
      await recordEvent(tx, { type: 'CANCELLATION', workshopId: workshop.id, subscriberId: enrollment.subscriberId });
      if (holdsSeat(enrollment.status)) await fillSeatsFromWaitlist(tx, workshop, this.notices);
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

  /** The cancellation link in the enrollee's mails: the token names the enrollment. */
  cancelByToken(token: string): Promise<Enrollment> {
    return this.cancel({ kind: 'anonymous' }, this.tokens.verify('enrollment:cancel', token), token);
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
