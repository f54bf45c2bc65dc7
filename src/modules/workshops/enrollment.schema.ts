import { builder } from '../../builder.js';
import type { Enrollment } from '../../generated/prisma/client.js';
import { LocaleEnum } from '../../shared/locale-enum.js';
import { assertPageSize, encodeCursor, resolveCursorConnection, resolveTotalCount } from '../../shared/pagination.js';
import { isEditor, MATCH_NOTHING } from '../auth/principal.js';
import { SubscriberRef } from '../subscribers/subscriber.schema.js';
import type { EnrollResult } from './enrollments-service.js';
import { includedSubscriber, type EnrollmentCounts } from './workshop-loaders.js';
import { workshopVisibility } from './workshop-visibility.js';
import { WorkshopRef } from './workshop.schema.js';

export const EnrollmentStatusEnum = builder.enumType('EnrollmentStatus', {
  values: {
    ENROLLED: { description: 'Holds a seat.' },
    WAITLISTED: { description: 'Waits for a seat, in joining order.' },
    CANCELLED: { description: 'Cancelled, or released because it was never confirmed.' },
    ATTENDED: { description: 'Checked in at the door; still holds the seat.' },
    PENDING: { description: 'Holds a seat until the person confirms from the mail; released when `confirmBy` passes unconfirmed.' },
  } as const,
});

export const EnrollmentRef = builder.prismaNode('Enrollment', {
  id: { field: 'id' },
  nullable: true,
  // Enrollments are looked up by id only by editors; the enrollee sees theirs in the `enroll` payload.
  findUnique: (id, ctx) => (isEditor(ctx.principal) ? { id } : { id, ...MATCH_NOTHING }),
  fields: (t) => ({
    status: t.expose('status', { type: EnrollmentStatusEnum }),
    createdAt: t.expose('createdAt', { type: 'DateTime', description: 'When the person joined (or re-joined) the list.' }),
    updatedAt: t.expose('updatedAt', { type: 'DateTime' }),
    cancelledAt: t.expose('cancelledAt', { type: 'DateTime', nullable: true }),
    checkedInAt: t.expose('checkedInAt', { type: 'DateTime', nullable: true, description: 'When the person was checked in (status ATTENDED).' }),
    confirmBy: t.expose('holdExpiresAt', {
      type: 'DateTime',
      nullable: true,
      description: 'Unconfirmed (PENDING, or WAITLISTED from an unverified address): released at this time unless the person confirms from the mail. Null once confirmed.',
    }),
    workshop: t.field({
      type: WorkshopRef,
      nullable: true,
      description: 'Null once the workshop is deleted (or when the caller may not see it).',
      resolve: async (enrollment, _args, ctx) => workshopVisibility(ctx.principal).visible(await ctx.loaders.workshops.byId.load(enrollment.workshopId)),
    }),
    subscriber: t.field({
      type: SubscriberRef,
      nullable: true,
      authScopes: { editor: true },
      // Synchronous when the enrollment came with its person (an enrollment page): no promise per row.
      resolve: (enrollment, _args, ctx) => includedSubscriber(enrollment) ?? ctx.loaders.subscribers.byId.load(enrollment.subscriberId),
    }),
  }),
});

const EnrollInput = builder.inputType('EnrollInput', {
  fields: (t) => ({
    workshopId: t.id({ required: true }),
    email: t.string({ required: true }),
    name: t.string(),
    locale: t.field({ type: LocaleEnum }),
    manageToken: t.string({
      description:
        'The confirmed subscriber’s manage token (from their preferences or unsubscribe link): proves the caller is that person, so the enrollment skips the hold. Typing a subscriber’s email alone proves nothing.',
    }),
  }),
});

const EnrollPayload = builder.objectRef<EnrollResult>('EnrollPayload').implement({
  description:
    'The same for everyone but editors, whatever the address’s state: the person’s links (confirmation, check-in code, cancellation) travel in the mail, never in the answer.',
  fields: (t) => ({
    accepted: t.exposeBoolean('accepted', { description: 'Always true: the request was taken and a mail is on its way.' }),
    enrollment: t.field({
      type: EnrollmentRef,
      nullable: true,
      description: 'Editors only (null for others): the enrollment, ENROLLED or WAITLISTED (editors skip the hold).',
      resolve: (payload) => payload.enrollment,
    }),
    cancellationToken: t.exposeString('cancellationToken', {
      nullable: true,
      description: 'Editors only (null for others; the enrollee gets it by mail): lets the enrollee cancel with `cancelEnrollment(id, token)`.',
    }),
    checkInToken: t.exposeString('checkInToken', {
      nullable: true,
      description: 'Editors only (null for others; the enrollee gets it by mail): for the enrollee’s QR code, `checkInByToken(token)`. It cannot cancel.',
    }),
  }),
});

builder.mutationFields((t) => ({
  enroll: t.field({
    type: EnrollPayload,
    description:
      'Enrolls a person by email. From an unverified address (anyone can type anyone’s email) it holds a seat as PENDING, or a waitlist place, until the person confirms from the mail, and is released after ENROLLMENT_HOLD_HOURS; editors’ enrollments and a subscriber who presents their `manageToken` skip the hold. The answer is the same whether or not the address was already enrolled (that person gets a mail instead). Anyone may enroll.',
    args: { input: t.arg({ type: EnrollInput, required: true }) },
    resolve: async (_root, { input }, ctx) => {
      // Bounded per client address (anonymous) and per email (anyone but editors): each may send a mail.
      if (!isEditor(ctx.principal)) await ctx.rateLimits.countEnrollment(ctx.principal.kind === 'anonymous' ? ctx.clientAddress : null, input.email);
      return ctx.services.enrollments.enroll(ctx.principal, input);
    },
  }),
  confirmEnrollment: t.field({
    type: EnrollmentRef,
    description:
      'The link in the enrollment mail: a PENDING enrollment becomes ENROLLED (a waitlisted one stays in line, confirmed) and the check-in code and cancellation link are mailed. Single use: CONFLICT once confirmed, or when the hold was released; BAD_USER_INPUT for an invalid token.',
    args: { token: t.arg.string({ required: true }) },
    resolve: (_root, { token }, ctx) => ctx.services.enrollments.confirm(token),
  }),
  cancelEnrollment: t.field({
    type: EnrollmentRef,
    description: 'Cancels an enrollment (editors, or the enrollee with their token) and seats the oldest waitlisted person.',
    args: {
      id: t.arg.globalID({ required: true, for: EnrollmentRef }),
      token: t.arg.string(),
    },
    resolve: (_root, { id, token }, ctx) => ctx.services.enrollments.cancel(ctx.principal, id.id, token),
  }),
  checkIn: t.field({
    type: EnrollmentRef,
    description:
      'Marks an ENROLLED person as ATTENDED (editors), from an hour before the start to the end; CONFLICT outside that window or for any other status. Checking in twice is harmless.',
    args: { enrollmentId: t.arg.globalID({ required: true, for: EnrollmentRef }) },
    resolve: (_root, { enrollmentId }, ctx) => ctx.services.enrollments.checkIn(ctx.principal, enrollmentId.id),
  }),
  undoCheckIn: t.field({
    type: EnrollmentRef,
    description: 'Undoes a check-in (editors): the person is ENROLLED again and keeps their seat.',
    args: { enrollmentId: t.arg.globalID({ required: true, for: EnrollmentRef }) },
    resolve: (_root, { enrollmentId }, ctx) => ctx.services.enrollments.undoCheckIn(ctx.principal, enrollmentId.id),
  }),
  checkInByToken: t.field({
    type: EnrollmentRef,
    description: 'Self-service check-in with the enrollee’s `checkInToken` (their QR code); the same window and rules as `checkIn`.',
    args: { token: t.arg.string({ required: true }) },
    resolve: (_root, { token }, ctx) => ctx.services.enrollments.checkInByToken(token),
  }),
}));

builder.objectField(WorkshopRef, 'enrollments', (t) =>
  t.connection(
    {
      type: EnrollmentRef,
      nullable: true,
      description: 'Enrollments in joining order (editors only: they lead to personal data).',
      authScopes: { editor: true },
      args: { status: t.arg({ type: EnrollmentStatusEnum }) },
      resolve: async (workshop, args, ctx) => {
        assertPageSize(args);
        // One loader per page shape: every workshop in the parent page shares one statement, which also
        // brings the people (included in each enrollment) and the counts per status (kept for totalCount
        // and primed for the seat counts, so they cost no statement of their own).
        let counts: EnrollmentCounts | undefined;
        const page = await resolveCursorConnection<Enrollment>(
          { args, toCursor: (node) => encodeCursor(node.createdAt, node.id) },
          async ({ after, before, limit, inverted }) => {
            const loaded = await ctx.loaders.workshops.enrollmentPage({ limit, after, before, inverted, status: args.status }).load(workshop.id);
            counts = loaded.counts;
            ctx.loaders.workshops.enrollmentCounts.prime(workshop.id, loaded.counts);
            return loaded.enrollments;
          },
        );
        // `counts` is set: the page was read above.
        return { ...page, totalCount: () => (args.status ? counts![args.status] : Object.values(counts!).reduce((a, b) => a + b, 0)) };
      },
    },
    {
      name: 'WorkshopEnrollmentConnection',
      fields: (c) => ({ totalCount: c.int({ resolve: resolveTotalCount }) }),
    },
  ),
);
