import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { decodeGlobalId } from '../../src/shared/ids.js';
import { codesOf, dataOf, startTestApp, type TestApp } from '../testkit/app.js';
import { createWorkshop, enrollAsEditor, enrollConfirmed } from '../testkit/factories.js';

const CHECK_IN = `mutation ($id: ID!) { checkIn(enrollmentId: $id) { id status checkedInAt } }`;
const UNDO = `mutation ($id: ID!) { undoCheckIn(enrollmentId: $id) { id status checkedInAt } }`;
const BY_TOKEN = `mutation ($token: String!) { checkInByToken(token: $token) { id status checkedInAt } }`;
const CANCEL = `mutation ($id: ID!, $token: String) { cancelEnrollment(id: $id, token: $token) { id status } }`;
const SEATS = `query ($id: ID!) { workshop(id: $id) { enrollmentCount waitlistCount seatsLeft } }`;
const STATS = `query ($id: ID!) { workshop(id: $id) { statistics { enrollments attendanceRate } } }`;

const HOUR = 3600_000;
const DAY = 24 * HOUR;

describe('check-in', () => {
  let app: TestApp;
  beforeAll(async () => {
    app = await startTestApp({ persisted: { acme: [CHECK_IN, UNDO] } });
  });
  afterAll(() => app?.close());

  const email = () => `guest-${randomBytes(4).toString('hex')}@example.com`;
  const rowId = (globalId: string) => decodeGlobalId(globalId).id;
  /** Moves a workshop in time (enrolling is only possible before the start, so tests enroll first). */
  async function schedule(workshopId: string, startsAt: Date, endsAt = new Date(startsAt.getTime() + 3 * HOUR)) {
    await app.database.prisma.workshop.update({ where: { id: rowId(workshopId) }, data: { startsAt, endsAt } });
    await app.cache.invalidate([{ typename: 'Workshop' }]);
  }
  async function enrolled(workshopId: string) {
    return enrollConfirmed(app, workshopId, email());
  }

  it('lets editors check people in from an hour before the start, and undo it; twice is harmless', async () => {
    const workshop = await createWorkshop(app, { startsInDays: 30 / (24 * 60) });
    const guest = await enrolled(workshop.id);
    const checked = dataOf(await app.gql(CHECK_IN, { id: guest.enrollment.id }, { key: app.keys.editor })).checkIn;
    expect(checked.status).toBe('ATTENDED');
    expect(new Date(checked.checkedInAt).getTime()).toBeGreaterThan(Date.now() - 60_000);
    const again = dataOf(await app.gql(CHECK_IN, { id: guest.enrollment.id }, { key: app.keys.admin })).checkIn;
    expect(again).toEqual(checked);
    const undone = dataOf(await app.gql(UNDO, { id: guest.enrollment.id }, { key: app.keys.editor })).undoCheckIn;
    expect(undone).toMatchObject({ status: 'ENROLLED', checkedInAt: null });
    expect((await app.database.prisma.enrollment.findUniqueOrThrow({ where: { id: rowId(guest.enrollment.id) } })).status).toBe('ENROLLED');
  });

  it('checks the enrollee in with their own QR token, which cannot cancel and no other token can replace', async () => {
    const workshop = await createWorkshop(app, { startsInDays: 10 / (24 * 60) });
    const guest = await enrolled(workshop.id);
    const other = await enrolled(workshop.id);
    // The cancellation token is for another purpose, and a forged one fails its signature.
    expect(codesOf(await app.gql(BY_TOKEN, { token: guest.cancellationToken }))).toEqual(['BAD_USER_INPUT']);
    expect(codesOf(await app.gql(BY_TOKEN, { token: `${guest.checkInToken.split('.')[0]}.AAAA` }))).toEqual(['BAD_USER_INPUT']);
    expect(codesOf(await app.gql(CANCEL, { id: guest.enrollment.id, token: guest.checkInToken }))).toEqual(['BAD_USER_INPUT']);
    const checked = dataOf(await app.gql(BY_TOKEN, { token: guest.checkInToken })).checkInByToken;
    expect(checked).toMatchObject({ id: guest.enrollment.id, status: 'ATTENDED' });
    expect((await app.database.prisma.enrollment.findUniqueOrThrow({ where: { id: rowId(other.enrollment.id) } })).status).toBe('ENROLLED');
  });

  it('refuses check-in before the window opens and after the workshop ended, saying when', async () => {
    const early = await createWorkshop(app, { startsInDays: 2 });
    const guest = await enrolled(early.id);
    const tooEarly = await app.gql(CHECK_IN, { id: guest.enrollment.id }, { key: app.keys.editor });
    expect(codesOf(tooEarly)).toEqual(['CONFLICT']);
    expect(tooEarly.errors![0]!.message).toMatch(/opens at .* an hour before/);
    expect(codesOf(await app.gql(BY_TOKEN, { token: guest.checkInToken }))).toEqual(['CONFLICT']);
    await schedule(early.id, new Date(Date.now() - 4 * HOUR), new Date(Date.now() - HOUR));
    const tooLate = await app.gql(CHECK_IN, { id: guest.enrollment.id }, { key: app.keys.editor });
    expect(codesOf(tooLate)).toEqual(['CONFLICT']);
    expect(tooLate.errors![0]!.message).toMatch(/closed when the workshop ended/);
    expect((await app.database.prisma.enrollment.findUniqueOrThrow({ where: { id: rowId(guest.enrollment.id) } })).status).toBe('ENROLLED');
  });

  it('refuses waitlisted and cancelled people, and keeps an attended seat from being cancelled', async () => {
    const workshop = await createWorkshop(app, { capacity: 1, startsInDays: 1 });
    const seated = await enrolled(workshop.id);
    // Enrolled by an editor, whose answer carries the check-in token even for the waitlisted (their mail does not).
    const waiting = await enrollAsEditor(app, workshop.id, email());
    const leaving = await enrollAsEditor(app, workshop.id, email());
    expect(waiting.enrollment.status).toBe('WAITLISTED');
    dataOf(await app.gql(CANCEL, { id: leaving.enrollment.id, token: leaving.cancellationToken }));
    await schedule(workshop.id, new Date(Date.now() + 30 * 60_000));
    for (const [who, status] of [[waiting, 'WAITLISTED'], [leaving, 'CANCELLED']] as const) {
      const refused = await app.gql(CHECK_IN, { id: who.enrollment.id }, { key: app.keys.editor });
      expect(codesOf(refused)).toEqual(['CONFLICT']);
      expect(refused.errors![0]!.message).toContain(status);
      expect(codesOf(await app.gql(BY_TOKEN, { token: who.checkInToken }))).toEqual(['CONFLICT']);
    }
    dataOf(await app.gql(CHECK_IN, { id: seated.enrollment.id }, { key: app.keys.editor }));
    expect(codesOf(await app.gql(CANCEL, { id: seated.enrollment.id }, { key: app.keys.editor }))).toEqual(['CONFLICT']);
  });

  it('counts a checked-in person as a seat taken: seats, the waitlist and enrolling agree', async () => {
    const workshop = await createWorkshop(app, { capacity: 2, startsInDays: 1 });
    const [first, second] = [await enrolled(workshop.id), await enrolled(workshop.id)];
    await schedule(workshop.id, new Date(Date.now() + 20 * 60_000));
    expect(dataOf(await app.gql(SEATS, { id: workshop.id })).workshop).toEqual({ enrollmentCount: 2, waitlistCount: 0, seatsLeft: 0 });
    dataOf(await app.gql(CHECK_IN, { id: first.enrollment.id }, { key: app.keys.editor }));
    // Still full: the next person waits, and the counts (after the check-in's cache invalidation) agree.
    expect((await enrolled(workshop.id)).enrollment.status).toBe('WAITLISTED');
    expect(dataOf(await app.gql(SEATS, { id: workshop.id })).workshop).toEqual({ enrollmentCount: 2, waitlistCount: 1, seatsLeft: 0 });
    // Undoing a check-in frees nobody's seat either.
    dataOf(await app.gql(UNDO, { id: first.enrollment.id }, { key: app.keys.editor }));
    expect(dataOf(await app.gql(SEATS, { id: workshop.id })).workshop).toEqual({ enrollmentCount: 2, waitlistCount: 1, seatsLeft: 0 });
    expect(second.enrollment.status).toBe('ENROLLED');
  });

  it('makes attendanceRate real once the workshop has ended, even when the statistics were refreshed before the end', async () => {
    const workshop = await createWorkshop(app, { capacity: 10, startsInDays: 1 });
    const guests = [await enrolled(workshop.id), await enrolled(workshop.id), await enrolled(workshop.id), await enrolled(workshop.id)];
    await schedule(workshop.id, new Date(Date.now() + 30 * 60_000));
    for (const guest of guests.slice(0, 3)) dataOf(await app.gql(BY_TOKEN, { token: guest.checkInToken }));
    dataOf(await app.gql(UNDO, { id: guests[2]!.enrollment.id }, { key: app.keys.editor }));
    dataOf(await app.gql(`mutation { refreshStatistics }`, {}, { key: app.keys.admin }));
    // Refreshed while the workshop has not ended: no rate yet.
    expect(dataOf(await app.gql(STATS, { id: workshop.id }, { key: app.keys.editor })).workshop.statistics).toEqual({ enrollments: 4, attendanceRate: null });
    // It ends; no refresh happens in between (nothing changed), and the rate shows: 2 of 4 seats.
    await schedule(workshop.id, new Date(Date.now() - 4 * HOUR), new Date(Date.now() - 60_000));
    expect(dataOf(await app.gql(STATS, { id: workshop.id }, { key: app.keys.editor })).workshop.statistics).toEqual({ enrollments: 4, attendanceRate: 0.5 });
  });

  it('lets only editors and admins check in by enrollment id', async () => {
    const workshop = await createWorkshop(app, { startsInDays: 20 / (24 * 60) });
    const guest = await enrolled(workshop.id);
    // Partners run their manifest's persisted operations, so the refusal comes from authorization, not the safelist.
    for (const caller of [{}, { key: app.keys.partner, persisted: true }]) {
      for (const mutation of [CHECK_IN, UNDO]) {
        const refused = await app.gql(mutation, { id: guest.enrollment.id }, caller);
        expect(codesOf(refused)).toEqual(['FORBIDDEN']);
      }
    }
    expect((await app.database.prisma.enrollment.findUniqueOrThrow({ where: { id: rowId(guest.enrollment.id) } })).status).toBe('ENROLLED');
    expect(codesOf(await app.gql(CHECK_IN, { id: guest.enrollment.id.replace(/.$/, 'x') }, { key: app.keys.editor }))[0]).toMatch(/BAD_USER_INPUT|NOT_FOUND/);
  });

  it('is not allowed for a deleted workshop', async () => {
    const workshop = await createWorkshop(app, { startsInDays: 1 });
    const guest = await enrolled(workshop.id);
    await app.database.prisma.workshop.update({ where: { id: rowId(workshop.id) }, data: { deletedAt: new Date(), startsAt: new Date(Date.now() + DAY / 48) } });
    expect(codesOf(await app.gql(CHECK_IN, { id: guest.enrollment.id }, { key: app.keys.editor }))).toEqual(['NOT_FOUND']);
  });
});
