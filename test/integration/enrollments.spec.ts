import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { codesOf, dataOf, startTestApp, type TestApp } from '../testkit/app.js';
import { createWorkshop, enroll, enrollAsEditor, enrollConfirmed } from '../testkit/factories.js';

const CANCEL = `mutation ($id: ID!, $token: String) { cancelEnrollment(id: $id, token: $token) { id status } }`;
const COUNTS = `query ($id: ID!) { workshop(id: $id) { enrollmentCount waitlistCount seatsLeft } }`;

describe('enrollments', () => {
  let app: TestApp;
  beforeAll(async () => {
    app = await startTestApp({ persisted: { acme: [CANCEL] } });
  });
  afterAll(() => app?.close());

  it('enrolls until full, then waitlists; cancelling a seat promotes the oldest waitlisted', async () => {
    const { id } = await createWorkshop(app, { capacity: 2 });
    const a = await enrollConfirmed(app, id, 'a@example.com');
    const b = await enrollConfirmed(app, id, 'B@Example.com ');
    const c = await enrollConfirmed(app, id, 'c@example.com');
    const d = await enrollConfirmed(app, id, 'd@example.com');
    expect([a, b, c, d].map((e) => e.enrollment.status)).toEqual(['ENROLLED', 'ENROLLED', 'WAITLISTED', 'WAITLISTED']);
    expect(dataOf(await app.gql(COUNTS, { id })).workshop).toEqual({ enrollmentCount: 2, waitlistCount: 2, seatsLeft: 0 });

    // The enrollee cancels with their own token; the first waitlisted person takes the seat.
    const cancelled = dataOf(await app.gql(CANCEL, { id: a.enrollment.id, token: a.cancellationToken })).cancelEnrollment;
    expect(cancelled.status).toBe('CANCELLED');
    const statuses = await app.database.prisma.enrollment.findMany({ where: { subscriber: { email: { in: ['c@example.com', 'd@example.com'] } } }, include: { subscriber: true } });
    expect(Object.fromEntries(statuses.map((s) => [s.subscriber.email, s.status]))).toEqual({ 'c@example.com': 'ENROLLED', 'd@example.com': 'WAITLISTED' });

    // Cancelling again is idempotent; raising capacity seats the rest of the waitlist.
    expect(dataOf(await app.gql(CANCEL, { id: a.enrollment.id }, { key: app.keys.editor })).cancelEnrollment.status).toBe('CANCELLED');
    dataOf(await app.gql(`mutation ($id: ID!) { updateWorkshop(id: $id, input: { capacity: 5 }) { id } }`, { id }, { key: app.keys.editor }));
    expect(dataOf(await app.gql(COUNTS, { id })).workshop).toEqual({ enrollmentCount: 3, waitlistCount: 0, seatsLeft: 2 });
  });

  it('pages enrollments forward and backward in joining order', async () => {
    const { id } = await createWorkshop(app, { capacity: 10 });
    const emails = ['p1', 'p2', 'p3', 'p4', 'p5'].map((name) => `${name}@example.com`);
    for (const email of emails) await enrollAsEditor(app, id, email);
    const PAGE = `query ($id: ID!, $first: Int, $after: String, $last: Int, $before: String) {
      workshop(id: $id) { enrollments(first: $first, after: $after, last: $last, before: $before) {
        totalCount edges { cursor node { subscriber { email } } } pageInfo { hasNextPage hasPreviousPage startCursor endCursor } } } }`;
    const page = async (vars: Record<string, unknown>) => dataOf(await app.gql(PAGE, { id, ...vars }, { key: app.keys.editor })).workshop.enrollments;
    const emailsOf = (p: { edges: { node: { subscriber: { email: string } } }[] }) => p.edges.map((e) => e.node.subscriber.email);

    const first = await page({ first: 2 });
    expect(emailsOf(first)).toEqual(emails.slice(0, 2));
    expect(first.pageInfo).toMatchObject({ hasNextPage: true, hasPreviousPage: false });
    const second = await page({ first: 2, after: first.pageInfo.endCursor });
    expect(emailsOf(second)).toEqual(emails.slice(2, 4));

    const last = await page({ last: 2 });
    expect(emailsOf(last)).toEqual(emails.slice(3));
    expect(last.pageInfo).toMatchObject({ hasNextPage: false, hasPreviousPage: true });
    const beforeLast = await page({ last: 2, before: last.pageInfo.startCursor });
    expect(emailsOf(beforeLast)).toEqual(emails.slice(1, 3));
    expect(beforeLast.totalCount).toBe(5);
    expect(codesOf(await app.gql(PAGE, { id, first: 2, after: 'not-a-cursor' }, { key: app.keys.editor }))).toEqual(['BAD_USER_INPUT']);
  });

  it('stores emails normalized; a second enrollment of the same person changes nothing (editors are told: CONFLICT)', async () => {
    const { id } = await createWorkshop(app);
    await enrollConfirmed(app, id, 'Same.Person@Example.com');
    expect(dataOf(await enroll(app, id, '  same.person@example.COM')).enroll).toEqual({ accepted: true, enrollment: null, cancellationToken: null, checkInToken: null });
    expect(codesOf(await enroll(app, id, 'same.person@example.com', { key: app.keys.editor }))).toEqual(['CONFLICT']);
    expect(await app.database.prisma.subscriber.count({ where: { email: 'same.person@example.com' } })).toBe(1);
    expect(await app.database.prisma.enrollment.count({ where: { subscriber: { email: 'same.person@example.com' } } })).toBe(1);
  });

  it('validates input and writes nothing on bad input', async () => {
    const { id } = await createWorkshop(app);
    const before = await app.database.prisma.enrollment.count();
    expect(codesOf(await enroll(app, id, 'not-an-email'))).toEqual(['BAD_USER_INPUT']);
    expect(codesOf(await enroll(app, 'bad-id', 'x@example.com'))).toEqual(['BAD_USER_INPUT']);
    const draft = await createWorkshop(app, { publish: false });
    expect(codesOf(await enroll(app, draft.id, 'x@example.com'))).toEqual(['NOT_FOUND']);
    const past = await createWorkshop(app, { startsInDays: -1 });
    expect(codesOf(await enroll(app, past.id, 'x@example.com'))).toEqual(['CONFLICT']);
    expect(await app.database.prisma.enrollment.count()).toBe(before);
  });

  it('lets only editors or the enrollee (by token) cancel', async () => {
    const { id } = await createWorkshop(app);
    const mine = await enrollConfirmed(app, id, 'mine@example.com');
    const other = await enrollConfirmed(app, id, 'other@example.com');
    expect(codesOf(await app.gql(CANCEL, { id: mine.enrollment.id }))).toEqual(['FORBIDDEN']);
    expect(codesOf(await app.gql(CANCEL, { id: mine.enrollment.id }, { key: app.keys.partner, persisted: true }))).toEqual(['FORBIDDEN']);
    expect(codesOf(await app.gql(CANCEL, { id: mine.enrollment.id, token: other.cancellationToken }))).toEqual(['FORBIDDEN']);
    const forged = `${mine.cancellationToken.split('.')[0]}.AAAA`;
    expect(codesOf(await app.gql(CANCEL, { id: mine.enrollment.id, token: forged }))).toEqual(['BAD_USER_INPUT']);
    expect(dataOf(await app.gql(CANCEL, { id: mine.enrollment.id }, { key: app.keys.editor })).cancelEnrollment.status).toBe('CANCELLED');
  });

  it('keeps personal data from anonymous callers', async () => {
    const { id } = await createWorkshop(app);
    const mine = await enrollConfirmed(app, id, 'private@example.com');
    // Anonymous callers get no enrollment back at all (it travels by mail), so nothing of the person either.
    const response = await app.gql(`mutation { enroll(input: { workshopId: "${id}", email: "p2@example.com" }) { accepted enrollment { status subscriber { email } } } }`);
    expect(dataOf(response).enroll).toEqual({ accepted: true, enrollment: null });
    const listing = await app.gql(`query ($id: ID!) { workshop(id: $id) { enrollments(first: 5) { edges { node { subscriber { email } } } } } }`, { id });
    expect(codesOf(listing)).toEqual(['FORBIDDEN']);
    expect(JSON.stringify(listing.data)).not.toContain('@example.com');
    expect(dataOf(await app.gql(`query ($id: ID!) { node(id: $id) { id } }`, { id: mine.enrollment.id })).node).toBeNull();
    expect(dataOf(await app.gql(`query ($id: ID!) { node(id: $id) { id } }`, { id: mine.enrollment.id }, { key: app.keys.editor })).node).not.toBeNull();
  });

  it("shows no deleted workshop behind an enrollment, to editors either", async () => {
    const { id } = await createWorkshop(app);
    const { enrollment } = await enrollAsEditor(app, id, `deleted-${Date.now()}@example.com`);
    dataOf(await app.gql(`mutation ($id: ID!) { deleteWorkshop(id: $id) { id } }`, { id }, { key: app.keys.editor }));
    const node = dataOf(await app.gql(`query ($id: ID!) { node(id: $id) { ... on Enrollment { status workshop { id } } } }`, { id: enrollment.id }, { key: app.keys.editor })).node;
    expect(node).toEqual({ status: 'ENROLLED', workshop: null });
  });

  it('refuses to cancel once the workshop has started, so nobody is promoted into a past event', async () => {
    const { id } = await createWorkshop(app, { capacity: 1 });
    const seated = await enrollConfirmed(app, id, `started-a-${Date.now()}@example.com`);
    await enrollConfirmed(app, id, `started-b-${Date.now()}@example.com`);
    await app.database.prisma.workshop.update({ where: { id: Buffer.from(id, 'base64').toString().split(':')[1]! }, data: { startsAt: new Date(Date.now() - 60_000) } });
    expect(codesOf(await app.gql(CANCEL, { id: seated.enrollment.id, token: seated.cancellationToken }))).toEqual(['CONFLICT']);
    expect(codesOf(await app.gql(CANCEL, { id: seated.enrollment.id }, { key: app.keys.editor }))).toEqual(['CONFLICT']);
    expect(dataOf(await app.gql(COUNTS, { id }, { key: app.keys.editor })).workshop).toEqual({ enrollmentCount: 1, waitlistCount: 1, seatsLeft: 0 });
  });

  it('lets one new person enroll in two workshops at the same moment', async () => {
    const [first, second] = await Promise.all([createWorkshop(app), createWorkshop(app)]);
    const email = `simultaneous-${Date.now()}@example.com`;
    const results = await Promise.all([enrollConfirmed(app, first.id, email), enrollConfirmed(app, second.id, email)]);
    expect(results.map((r) => r.enrollment.status)).toEqual(['ENROLLED', 'ENROLLED']);
    expect(await app.database.prisma.subscriber.count({ where: { email } })).toBe(1);
  });

  it('gives exactly one of two racing enrollments the last seat', async () => {
    for (let round = 0; round < 5; round++) {
      const { id } = await createWorkshop(app, { capacity: 1 });
      const emails = [`racer-a-${round}@example.com`, `racer-b-${round}@example.com`];
      for (const response of await Promise.all(emails.map((email) => enroll(app, id, email)))) expect(dataOf(response).enroll.accepted).toBe(true);
      // The one seat is held (PENDING) for exactly one of them; the other waits.
      const rows = await app.database.prisma.enrollment.findMany({ where: { subscriber: { email: { in: emails } } } });
      expect(rows.map((r) => r.status).sort()).toEqual(['PENDING', 'WAITLISTED']);
    }
  });
});
