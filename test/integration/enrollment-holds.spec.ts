import { randomBytes } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Queue } from 'bullmq';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createJobSystem, type JobSystem } from '../../src/infra/jobs/index.js';
import { createLogger } from '../../src/infra/logger.js';
import { connectRedis } from '../../src/infra/redis.js';
import { decodeGlobalId } from '../../src/shared/ids.js';
import { codesOf, dataOf, startTestApp, type TestApp } from '../testkit/app.js';
import { startTestBackground } from '../testkit/background.js';
import { createWorkshop, ENROLL } from '../testkit/factories.js';
import { waitFor } from '../testkit/processes.js';
import { startSmtpServer, type TestSmtpServer } from '../testkit/smtp.js';
import { subscribe } from '../testkit/sse.js';

const REDIS_URL = process.env.TEST_REDIS_URL ?? 'redis://127.0.0.1:6379';
const PUBLIC_URL = 'https://workshops.example/app';
const COUNTS = `query ($id: ID!) { workshop(id: $id) { enrollmentCount waitlistCount seatsLeft } }`;
const CONFIRM = `mutation ($token: String!) { confirmEnrollment(token: $token) { status confirmBy } }`;
const logger = createLogger('silent');

/**
 * Enrollments confirmed by mail, end to end on real Postgres, Redis (BullMQ jobs, rate limits) and a
 * real SMTP server: an unverified address holds its seat as PENDING until the person confirms from
 * the mail; the maintenance job releases unconfirmed holds and promotes the waitlist; the answer to
 * `enroll` never tells a stranger anything.
 */
describe('enrollments confirmed by mail', () => {
  let app: TestApp;
  let smtp: TestSmtpServer;
  let jobs: JobSystem;
  let redis: Redis;
  let background: { close(): Promise<void> };
  let server: Server;
  let url: string;
  const namespace = `holds-${randomBytes(4).toString('hex')}`;

  beforeAll(async () => {
    smtp = await startSmtpServer();
    redis = connectRedis(REDIS_URL, logger)!;
    jobs = createJobSystem({ redis: REDIS_URL, namespace, backoffMs: 20, lockMs: 5000, logger });
    app = await startTestApp({ jobs, redis, cacheNamespace: namespace, env: { PUBLIC_URL, ENROLLMENTS_PER_EMAIL_PER_HOUR: '4' } });
    background = await startTestBackground(app, jobs, { SMTP_URL: smtp.url, OUTBOX_POLL_MS: '100', JOB_BACKOFF_MS: '20', PUBLIC_URL });
    server = createServer(app.yoga);
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/graphql`;
  });
  afterAll(async () => {
    server?.closeAllConnections();
    await new Promise((resolve) => server?.close(resolve));
    await background?.close();
    await app?.close();
    await smtp?.close();
    const keys = await redis.keys(`{${namespace}:jobs}:*`);
    if (keys.length) await redis.del(...keys);
    redis?.disconnect();
  });

  const unique = (name = 'person') => `${name}-${randomBytes(4).toString('hex')}@example.com`;
  const mailsTo = (email: string) => smtp.received.filter((m) => m.to.includes(email)).map((m) => ({ ...m, text: decode(m.raw) }));
  const waitForMails = async (email: string, count: number) => {
    await waitFor(`${count} mail(s) to ${email}`, async () => mailsTo(email).length >= count, 20_000);
    return mailsTo(email);
  };
  /**
   * The HTTP answer to an enroll, byte for byte, less the caller's cost budget (`extensions.cost`,
   * which every request changes, whatever it does).
   */
  const enrollRaw = async (workshopId: string, email: string, locale = 'EN', key?: string) => {
    const response = await app.yoga.fetch('http://localhost/graphql', {
      method: 'POST',
      headers: { 'content-type': 'application/json', accept: 'application/json', ...(key ? { authorization: `Bearer ${key}` } : {}) },
      body: JSON.stringify({ query: ENROLL, variables: { input: { workshopId, email, name: 'Ada', locale } } }),
    });
    const text = await response.text();
    const withoutBudget = text.replace(/,"extensions":\{"cost":\{[^{}]*\}\}\}$/, '}');
    return { status: response.status, body: withoutBudget };
  };
  const rowOf = (workshopId: string, email: string) =>
    app.database.prisma.enrollment.findFirstOrThrow({ where: { workshopId: decodeGlobalId(workshopId).id, subscriber: { email } } });
  const counts = async (id: string) => dataOf(await app.gql(COUNTS, { id })).workshop;
  const post = (link: string) => app.yoga.fetch(link, { method: 'POST' });

  it('holds the seat of an anonymous enrollment as PENDING and sends one mail with a confirmation link; the answer carries nothing', async () => {
    const { id } = await createWorkshop(app, { capacity: 3 });
    const email = unique();
    const answer = await enrollRaw(id, email);
    expect(JSON.parse(answer.body)).toEqual({ data: { enroll: { accepted: true, enrollment: null, cancellationToken: null, checkInToken: null } } });
    const row = await rowOf(id, email);
    expect(row.status).toBe('PENDING');
    // Held for ENROLLMENT_HOLD_HOURS (24 by default).
    expect(Math.abs(row.holdExpiresAt!.getTime() - (row.createdAt.getTime() + 24 * 3600_000))).toBeLessThan(1000);
    expect(await counts(id)).toEqual({ enrollmentCount: 1, waitlistCount: 0, seatsLeft: 2 });

    const [mail, ...more] = await waitForMails(email, 1);
    expect(more).toEqual([]);
    expect(mail!.text).toMatch(/^Subject: Confirm your seat: Workshop /m);
    expect(linkIn(mail!.text, 'confirm-enrollment')).toBeTruthy();
    // Nothing else was mailed to that address meanwhile (no check-in code before confirming).
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect(mailsTo(email)).toHaveLength(1);
  });

  it('confirms from the link (GET shows a button, POST acts): ENROLLED and a notice with the check-in code; a second confirm is refused clearly', async () => {
    const { id } = await createWorkshop(app, { capacity: 3 });
    const email = unique();
    await enrollRaw(id, email);
    const [request] = await waitForMails(email, 1);
    const link = linkIn(request!.text, 'confirm-enrollment');

    const preview = await app.yoga.fetch(link);
    expect(await preview.text()).toContain('<form method="post"');
    expect((await rowOf(id, email)).status).toBe('PENDING');
    const confirmed = await post(link);
    expect(confirmed.status).toBe(200);
    expect(await rowOf(id, email)).toMatchObject({ status: 'ENROLLED', holdExpiresAt: null });
    expect(await counts(id)).toEqual({ enrollmentCount: 1, waitlistCount: 0, seatsLeft: 2 });

    const [, notice] = await waitForMails(email, 2);
    expect(notice!.text).toMatch(/^Subject: You are enrolled: Workshop /m);
    const checkIn = linkIn(notice!.text, 'check-in');
    const token = new URL(checkIn).searchParams.get('token')!;
    expect(notice!.text).toContain(`Your check-in code`);
    expect(linkIn(notice!.text, 'cancel-enrollment')).toBeTruthy();
    // The code is the enrollee's check-in token: check-in is not open yet (10 days ahead), and says so.
    expect(codesOf(await app.gql(`mutation ($token: String!) { checkInByToken(token: $token) { status } }`, { token }))).toEqual(['CONFLICT']);

    const again = await post(link);
    expect(again.status).toBe(409);
    expect(await again.text()).toContain('already confirmed');
    const replay = await app.gql(CONFIRM, { token: new URL(link).searchParams.get('token')! });
    expect(codesOf(replay)).toEqual(['CONFLICT']);
    expect(replay.errors![0]!.message).toBe('This enrollment is already confirmed');
    expect(codesOf(await app.gql(CONFIRM, { token: 'forged.token' }))).toEqual(['BAD_USER_INPUT']);
    expect(mailsTo(email)).toHaveLength(2);

    // The mail's other links: checking in says why not yet; cancelling frees the seat.
    const early = await post(checkIn);
    expect(early.status).toBe(409);
    expect(await early.text()).toContain('Check-in opens at');
    expect((await post(linkIn(notice!.text, 'cancel-enrollment'))).status).toBe(200);
    expect((await rowOf(id, email)).status).toBe('CANCELLED');
    expect(await counts(id)).toEqual({ enrollmentCount: 0, waitlistCount: 0, seatsLeft: 3 });
  });

  it('releases an unconfirmed hold through the maintenance job, promotes the first waitlisted person (mailed in their language), and live seats and cached counts follow', async () => {
    const { id } = await createWorkshop(app, { capacity: 1 });
    const live = await subscribe(url, `subscription ($id: ID!) { workshopChanged(id: $id) { seatsLeft waitlistCount } }`, { id });
    expect(dataOf(await live.next()).workshopChanged).toEqual({ seatsLeft: 1, waitlistCount: 0 });
    const [holder, waiting] = [unique('holder'), unique('waiting')];
    await enrollRaw(id, holder);
    expect(dataOf(await live.next()).workshopChanged).toEqual({ seatsLeft: 0, waitlistCount: 0 });
    await enrollRaw(id, waiting, 'PL');
    expect(dataOf(await live.next()).workshopChanged).toEqual({ seatsLeft: 0, waitlistCount: 1 });
    expect((await rowOf(id, waiting)).status).toBe('WAITLISTED');

    // The waitlisted person confirms their place (the confirmation publishes too: a change event arrives).
    const [request] = await waitForMails(waiting, 1);
    expect(request!.text).toMatch(/^Subject: Potwierdź miejsce na liście rezerwowej: Warsztat /m);
    expect((await post(linkIn(request!.text, 'confirm-enrollment'))).status).toBe(200);
    expect(dataOf(await live.next()).workshopChanged).toEqual({ seatsLeft: 0, waitlistCount: 1 });
    expect(await rowOf(id, waiting)).toMatchObject({ status: 'WAITLISTED', holdExpiresAt: null });
    await waitForMails(waiting, 2);

    // The holder never confirms: their hold ran out a minute ago (the clock moved through the row, not by waiting).
    const [holderMail] = await waitForMails(holder, 1);
    const held = await rowOf(id, holder);
    await app.database.prisma.enrollment.update({ where: { id: held.id }, data: { createdAt: new Date(Date.now() - 25 * 3600_000), holdExpiresAt: new Date(Date.now() - 60_000) } });
    expect(await counts(id)).toEqual({ enrollmentCount: 1, waitlistCount: 1, seatsLeft: 0 });
    await jobs.enqueue('maintenance', [{ name: 'enrollment-holds', id: `holds-${randomBytes(4).toString('hex')}`, data: {} }]);
    await waitFor('the hold released', async () => (await rowOf(id, holder)).status === 'CANCELLED');

    expect(await rowOf(id, waiting)).toMatchObject({ status: 'ENROLLED' });
    expect(dataOf(await live.next()).workshopChanged).toEqual({ seatsLeft: 0, waitlistCount: 0 });
    // The anonymous read cached above is evicted by the release.
    expect(await counts(id)).toEqual({ enrollmentCount: 1, waitlistCount: 0, seatsLeft: 0 });
    const [, , promoted] = await waitForMails(waiting, 3);
    expect(promoted!.text).toMatch(/^Subject: Masz miejsce: Warsztat /m);
    expect(linkIn(promoted!.text, 'check-in')).toBeTruthy();
    expect(linkIn(promoted!.text, 'cancel-enrollment')).toBeTruthy();
    live.close();

    // The holder's link is dead now, and says why.
    const late = await post(linkIn(holderMail!.text, 'confirm-enrollment'));
    expect(late.status).toBe(409);
    expect(await late.text()).toContain('not confirmed in time');
  });

  it('never holds a seat past the start: the hold of a workshop starting sooner than ENROLLMENT_HOLD_HOURS ends when it starts', async () => {
    const { id } = await createWorkshop(app, { startsInDays: 2 / 24 });
    const email = unique();
    await enrollRaw(id, email);
    const workshop = await app.database.prisma.workshop.findUniqueOrThrow({ where: { id: decodeGlobalId(id).id } });
    expect((await rowOf(id, email)).holdExpiresAt).toEqual(workshop.startsAt);
  });

  it('schedules the release once for the whole fleet (a BullMQ job scheduler)', async () => {
    const queue = new Queue('maintenance', { connection: redis.duplicate(), prefix: `{${namespace}:jobs}` });
    try {
      expect(await queue.getJobScheduler('enrollment-holds')).toMatchObject({ every: 60_000 });
    } finally {
      await queue.close();
    }
  });

  it('answers the same, byte for byte, whether or not the address is enrolled; takes no second seat; mails the person instead, bounded per email', async () => {
    const { id } = await createWorkshop(app, { capacity: 5 });
    const email = unique();
    const first = await enrollRaw(id, email);
    const [request] = await waitForMails(email, 1);
    const pending = await enrollRaw(id, email);
    expect(pending).toEqual(first);
    // Still pending: the same confirmation link comes again.
    const [, reminder] = await waitForMails(email, 2);
    expect(reminder!.text).toMatch(/^Subject: Confirm your seat/m);
    expect((await post(linkIn(request!.text, 'confirm-enrollment'))).status).toBe(200);
    await waitForMails(email, 3);

    const enrolled = await enrollRaw(id, email);
    expect(enrolled).toEqual(first);
    expect(await enrollRaw(id, unique('stranger'))).toEqual(first);
    expect(await app.database.prisma.enrollment.count({ where: { workshopId: decodeGlobalId(id).id, subscriber: { email } } })).toBe(1);
    expect(await counts(id)).toEqual({ enrollmentCount: 2, waitlistCount: 0, seatsLeft: 3 });
    const [, , , already] = await waitForMails(email, 4);
    expect(already!.text).toMatch(/^Subject: You are already enrolled: Workshop /m);
    expect(linkIn(already!.text, 'check-in')).toBeTruthy();
    expect(linkIn(already!.text, 'cancel-enrollment')).toBeTruthy();

    // ENROLLMENTS_PER_EMAIL_PER_HOUR is 4 here: the fourth try was the last one to mail anybody.
    await enrollRaw(id, email);
    const limited = await enrollRaw(id, email);
    expect(limited.status).toBe(429);
    await waitForMails(email, 5);
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect(mailsTo(email)).toHaveLength(5);
  });

  it('lets editors enroll without a hold, with the detailed answer; the person gets their notice', async () => {
    const { id } = await createWorkshop(app, { capacity: 3 });
    const email = unique('door');
    const answer = JSON.parse((await enrollRaw(id, email, 'EN', app.keys.editor)).body).data.enroll;
    expect(answer).toMatchObject({ accepted: true, enrollment: { status: 'ENROLLED' }, cancellationToken: expect.any(String), checkInToken: expect.any(String) });
    expect(await rowOf(id, email)).toMatchObject({ status: 'ENROLLED', holdExpiresAt: null });
    const [notice] = await waitForMails(email, 1);
    expect(notice!.text).toMatch(/^Subject: You are enrolled/m);
    // Editors are still told about a duplicate.
    expect(JSON.parse((await enrollRaw(id, email, 'EN', app.keys.editor)).body).errors[0].extensions.code).toBe('CONFLICT');
    // And they see the holds: PENDING with its deadline.
    await enrollRaw(id, unique('held'));
    const list = dataOf(await app.gql(`query ($id: ID!) { workshop(id: $id) { enrollments(first: 5, status: PENDING) { edges { node { status confirmBy } } } } }`, { id }, { key: app.keys.editor }));
    expect(list.workshop.enrollments.edges).toEqual([{ node: { status: 'PENDING', confirmBy: expect.any(String) } }]);
  });

  it('skips the hold for a confirmed subscriber who presents their manage token, and not for one whose email is merely typed', async () => {
    const { id } = await createWorkshop(app, { capacity: 5 });
    const email = unique('subscriber');
    dataOf(await app.gql(`mutation ($input: SubscribeInput!) { subscribe(input: $input) { accepted } }`, { input: { email, locale: 'EN' } }));
    const [confirmMail] = await waitForMails(email, 1);
    const subscribeToken = new URL(linkIn(confirmMail!.text, 'confirm')).searchParams.get('token')!;
    const { manageToken } = dataOf(await app.gql(`mutation ($token: String!) { confirmSubscription(token: $token) { manageToken } }`, { token: subscribeToken })).confirmSubscription;

    // Anyone can type a confirmed subscriber's email: that proves nothing.
    const { id: other } = await createWorkshop(app, { capacity: 5 });
    await enrollRaw(other, email);
    expect((await rowOf(other, email)).status).toBe('PENDING');

    const withToken = (token: string) => app.gql(ENROLL, { input: { workshopId: id, email, manageToken: token } });
    expect(dataOf(await withToken(manageToken)).enroll).toEqual({ accepted: true, enrollment: null, cancellationToken: null, checkInToken: null });
    expect(await rowOf(id, email)).toMatchObject({ status: 'ENROLLED', holdExpiresAt: null });
    // Someone else's token (or a forged one) is refused, and takes nothing.
    const { id: third } = await createWorkshop(app, { capacity: 5 });
    const response = await app.gql(ENROLL, { input: { workshopId: third, email: unique('impostor'), manageToken } });
    expect(codesOf(response)).toEqual(['BAD_USER_INPUT']);
    expect(await app.database.prisma.enrollment.count({ where: { workshopId: decodeGlobalId(third).id } })).toBe(0);
  });
});

/** The mail as text: headers unfolded, encoded words and quoted-printable undone (UTF-8). */
function decode(raw: string): string {
  const [head = '', ...body] = raw.split(/\r?\n\r?\n/);
  const headers = head.replace(/\r?\n[ \t]+/g, ' ').replace(/=\?UTF-8\?([QB])\?([^?]*)\?=\s*/gi, (_, kind: string, text: string) =>
    kind.toUpperCase() === 'B' ? Buffer.from(text, 'base64').toString('utf8') : qp(text.replace(/_/g, ' ')),
  );
  return `${headers}\n\n${qp(body.join('\n\n').replace(/=\r?\n/g, ''))}`;
}

function qp(text: string): string {
  return Buffer.from(text.replace(/=([0-9A-F]{2})/g, (_, hex: string) => String.fromCharCode(parseInt(hex, 16))), 'latin1').toString('utf8');
}

/** The first link to PUBLIC_URL/mail/<action> in a mail, as a path on the in-process app. */
function linkIn(text: string, action: string): string {
  const link = new RegExp(`https://workshops\\.example/app/mail/${action}\\?token=[A-Za-z0-9_.%-]+`).exec(text)?.[0];
  if (!link) throw new Error(`no ${action} link in the mail:\n${text}`);
  return link.replace(PUBLIC_URL, 'http://localhost');
}
