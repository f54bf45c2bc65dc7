import type { Enrollment, Prisma, Workshop } from '../../generated/prisma/client.js';
import type { TokenSigner } from '../../shared/tokens.js';

/** The enrollee's own cancellation and check-in links stay valid for a year (well past any workshop). */
export const ENROLLEE_TOKEN_TTL_SECONDS = 365 * 24 * 3600;

/** A confirmation link lives as long as the longest hold could; the hold, not the link, decides. */
export const CONFIRM_TOKEN_TTL_SECONDS = 31 * 24 * 3600;

/** The mails about an enrollment; each is an outbox row (src/modules/notifications/templates.ts renders it). */
export type EnrollmentNoticeKind = 'CONFIRM_ENROLLMENT' | 'ENROLLMENT_CONFIRMED' | 'ALREADY_ENROLLED' | 'WAITLIST_PROMOTED';

export interface EnrolleeTokens {
  cancellationToken: string;
  /** A purpose of its own: the QR code shown at the door must not be able to cancel the seat. */
  checkInToken: string;
}

/**
 * Writes the mails about enrollments into the outbox, in the caller's transaction (the write and its
 * mail commit together), and signs the enrollee's tokens: they reach the person by mail, never
 * through the API (editors excepted).
 */
export class EnrollmentNotices {
  constructor(private readonly tokens: TokenSigner) {}

  enrolleeTokens(enrollmentId: string): EnrolleeTokens {
    return {
      cancellationToken: this.tokens.sign('enrollment:cancel', enrollmentId, ENROLLEE_TOKEN_TTL_SECONDS),
      checkInToken: this.tokens.sign('enrollment:check-in', enrollmentId, ENROLLEE_TOKEN_TTL_SECONDS),
    };
  }

  /** The link that turns a hold into an enrollment (single use: see EnrollmentsService.confirm). */
  requestConfirmation(tx: Prisma.TransactionClient, enrollment: Enrollment, workshop: Workshop) {
    const token = this.tokens.sign('enrollment:confirm', enrollment.id, CONFIRM_TOKEN_TTL_SECONDS);
    return this.write(tx, 'CONFIRM_ENROLLMENT', enrollment, workshop, token, { confirmBy: enrollment.holdExpiresAt?.toISOString() ?? null });
  }

  /** Enrolled (or waitlisted) for good: the check-in code and the cancellation link. */
  confirmed(tx: Prisma.TransactionClient, enrollment: Enrollment, workshop: Workshop) {
    return this.withEnrolleeLinks(tx, 'ENROLLMENT_CONFIRMED', enrollment, workshop);
  }

  /** Someone enrolled an address that already is: that person is told, with their links; nothing changed. */
  alreadyEnrolled(tx: Prisma.TransactionClient, enrollment: Enrollment, workshop: Workshop) {
    return this.withEnrolleeLinks(tx, 'ALREADY_ENROLLED', enrollment, workshop);
  }

  /** A seat freed up and the waitlist moved: the person now holds it. */
  promoted(tx: Prisma.TransactionClient, enrollment: Enrollment, workshop: Workshop) {
    return this.withEnrolleeLinks(tx, 'WAITLIST_PROMOTED', enrollment, workshop);
  }

  private withEnrolleeLinks(tx: Prisma.TransactionClient, kind: EnrollmentNoticeKind, enrollment: Enrollment, workshop: Workshop) {
    const { cancellationToken, checkInToken } = this.enrolleeTokens(enrollment.id);
    // The waitlisted cannot check in: no code for them.
    const seated = enrollment.status === 'ENROLLED' || enrollment.status === 'ATTENDED';
    return this.write(tx, kind, enrollment, workshop, cancellationToken, seated ? { checkInToken } : {});
  }

  private async write(tx: Prisma.TransactionClient, kind: EnrollmentNoticeKind, enrollment: Enrollment, workshop: Workshop, token: string, extra: Record<string, unknown>) {
    await tx.notification.create({
      data: {
        subscriberId: enrollment.subscriberId,
        kind,
        token,
        payload: {
          enrollmentId: enrollment.id,
          status: enrollment.status,
          slug: workshop.slug,
          titleEn: workshop.titleEn,
          titlePl: workshop.titlePl,
          startsAt: workshop.startsAt.toISOString(),
          location: workshop.location,
          onlineUrl: workshop.onlineUrl,
          ...extra,
        },
      },
    });
  }
}
