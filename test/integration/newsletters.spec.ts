import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createJobSystem, type JobSystem } from '../../src/infra/jobs/index.js';
import { createLogger } from '../../src/infra/logger.js';
import { decodeGlobalId } from '../../src/shared/ids.js';
import { codesOf, dataOf, startTestApp, type TestApp } from '../testkit/app.js';
import { startTestBackground } from '../testkit/background.js';
import { createWorkshop } from '../testkit/factories.js';
import { waitFor } from '../testkit/processes.js';
import { startSmtpServer, type TestSmtpServer } from '../testkit/smtp.js';

const CREATE = `mutation ($input: NewsletterInput!) { createNewsletter(input: $input) { id status } }`;
const SCHEDULE = `mutation ($id: ID!, $at: DateTime!) { scheduleNewsletter(id: $id, at: $at) { id status scheduledAt } }`;
const PROGRESS = `query ($id: ID!) { node(id: $id) { ... on Newsletter { status progress { queued rendered sent failed skipped ratePerMinute } } } }`;
const logger = createLogger('silent');

/** Newsletters end to end: API → fan-out → one delivery per matching subscriber → SMTP (real, TCP) → tracking. */
describe('newsletters', () => {
  let app: TestApp;
  let smtp: TestSmtpServer;
  let jobs: JobSystem;
  let background: { close(): Promise<void> };

  beforeAll(async () => {
    smtp = await startSmtpServer();
    jobs = createJobSystem({ namespace: 'newsletters', backoffMs: 20, lockMs: 5000, logger });
    app = await startTestApp({ jobs });
    background = await startTestBackground(app, jobs, { SMTP_URL: smtp.url, OUTBOX_POLL_MS: '200', PUBLIC_URL: 'https://workshops.example' });
  });
  afterAll(async () => {
    await background?.close();
    await app?.close();
    await smtp?.close();
  });

  /** A topic of this test's own, and `count` ACTIVE subscribers following it (half in Polish). */
  async function audience(count: number, extra: { status?: string; topics?: string[] } = {}) {
    const topic = `t${randomBytes(4).toString('hex')}`;
    await app.database.prisma.topic.create({ data: { slug: topic, nameEn: topic } });
    const emails = Array.from({ length: count }, (_, i) => `nl-${topic}-${i}@example.com`);
    await app.database.prisma.subscriber.createMany({
      data: emails.map((email, i) => ({ email, locale: i % 2 ? 'PL' : 'EN', status: (extra.status ?? 'ACTIVE') as 'ACTIVE', topics: extra.topics ?? [topic], confirmedAt: new Date() })),
    });
    return { topic, emails };
  }
  const received = (email: string) => smtp.received.filter((m) => m.to.includes(email));
  async function newsletter(topics: string[]) {
    return dataOf(await app.gql(CREATE, { input: { subjectEn: 'This month', subjectPl: 'W tym miesiącu', introEn: 'Our picks.', introPl: 'Nasze propozycje.', topics } }, { key: app.keys.editor })).createNewsletter.id as string;
  }

  it('sends one message per matching ACTIVE subscriber, in their language, with the upcoming workshops of their topics, read once per locale', async () => {
    const { topic, emails } = await audience(10);
    const other = await audience(2);
    const pending = await audience(1, { status: 'PENDING' });
    await createWorkshop(app, { tags: [topic], titleEn: 'Schema design in practice', titlePl: 'Projektowanie schematów w praktyce' });
    const id = await newsletter([topic]);
    const statements = await app.statementsDuring(async () => {
      expect(dataOf(await app.gql(SCHEDULE, { id, at: new Date().toISOString() }, { key: app.keys.editor })).scheduleNewsletter.status).toBe('SCHEDULED');
      await waitFor('the newsletter sent', async () => dataOf(await app.gql(PROGRESS, { id }, { key: app.keys.editor })).node.status === 'SENT', 30_000);
    });
    for (const [i, email] of emails.entries()) {
      const mails = received(email);
      expect(mails).toHaveLength(1);
      expect(mails[0]!.raw).toMatch(i % 2 ? /Subject: =\?UTF-8\?Q\?W_tym_miesi|Subject: W tym miesi/ : /Subject: This month/);
      expect(mails[0]!.raw).toContain(i % 2 ? 'Projektowanie' : 'Schema design in practice');
      expect(mails[0]!.raw).toMatch(/^List-Unsubscribe-Post: List-Unsubscribe=One-Click/m);
    }
    for (const email of [...other.emails, ...pending.emails]) expect(received(email)).toHaveLength(0);
    const progress = dataOf(await app.gql(PROGRESS, { id }, { key: app.keys.editor })).node.progress;
    expect(progress).toMatchObject({ queued: 0, rendered: 0, sent: 10, failed: 0, skipped: 0 });
    expect(progress.ratePerMinute).toBeGreaterThan(0);
    // The content is read per locale and topic set (2 here), not per subscriber (10).
    const workshopReads = statements.filter((sql) => /FROM workshops\b/i.test(sql) && /starts_at > now\(\)/.test(sql));
    expect(workshopReads.length).toBeGreaterThan(0);
    expect(workshopReads.length).toBeLessThanOrEqual(2);
  });

  it('skips subscribers who unsubscribe before their delivery is sent, and a cancelled newsletter sends nothing more', async () => {
    const { topic, emails } = await audience(20);
    const id = await newsletter([topic]);
    smtp.hold(true);
    dataOf(await app.gql(SCHEDULE, { id, at: new Date().toISOString() }, { key: app.keys.editor }));
    await waitFor('deliveries written', async () => (await app.database.prisma.newsletterDelivery.count({ where: { newsletter: { id: decode(id) } } })) === 20);
    // The workers are all busy with deliveries the server holds; the rest wait in the queue.
    await waitFor('the workers busy', async () => (await app.database.prisma.newsletterDelivery.count({ where: { newsletterId: decode(id), attempts: { gt: 0 } } })) >= 5);
    await new Promise((resolve) => setTimeout(resolve, 500));
    // Those not handed to the SMTP server yet unsubscribe now.
    const waiting = await app.database.prisma.newsletterDelivery.findMany({ where: { newsletterId: decode(id), status: 'QUEUED', attempts: 0 }, select: { subscriberId: true } });
    expect(waiting.length).toBeGreaterThan(0);
    await app.database.prisma.subscriber.updateMany({ where: { id: { in: waiting.map((w) => w.subscriberId) } }, data: { status: 'UNSUBSCRIBED' } });
    smtp.hold(false);
    await waitFor('the newsletter sent', async () => dataOf(await app.gql(PROGRESS, { id }, { key: app.keys.editor })).node.status === 'SENT', 30_000);
    const progress = dataOf(await app.gql(PROGRESS, { id }, { key: app.keys.editor })).node.progress;
    expect(progress).toMatchObject({ sent: 20 - waiting.length, skipped: waiting.length, queued: 0 });
    expect(emails.filter((e) => received(e).length === 1)).toHaveLength(20 - waiting.length);

    const later = await newsletter([topic]);
    dataOf(await app.gql(SCHEDULE, { id: later, at: new Date(Date.now() + 3600_000).toISOString() }, { key: app.keys.editor }));
    const cancel = `mutation ($id: ID!) { cancelNewsletter(id: $id) { status } }`;
    expect(dataOf(await app.gql(cancel, { id: later }, { key: app.keys.editor })).cancelNewsletter.status).toBe('CANCELLED');
    expect(codesOf(await app.gql(cancel, { id: later }, { key: app.keys.editor }))).toEqual(['CONFLICT']);
  });

  it('records opens (pixel) and clicks (signed redirect) as analytics events; a forged link is refused', async () => {
    const { topic, emails } = await audience(1);
    const workshop = await createWorkshop(app, { tags: [topic] });
    const id = await newsletter([topic]);
    dataOf(await app.gql(SCHEDULE, { id, at: new Date().toISOString() }, { key: app.keys.editor }));
    await waitFor('the mail', async () => received(emails[0]!).length === 1, 30_000);
    const raw = received(emails[0]!)[0]!.raw.replace(/=\r?\n/g, '').replace(/=3D/g, '=');
    const pixel = /https:\/\/workshops\.example\/n\/open\?[^"\s]+/.exec(raw)![0].replace(/&amp;/g, '&');
    const click = /https:\/\/workshops\.example\/n\/click\?[^"\s]+/.exec(raw)![0].replace(/&amp;/g, '&');
    const local = (url: string) => url.replace('https://workshops.example', 'http://localhost');
    const gif = await app.yoga.fetch(local(pixel));
    expect(gif.headers.get('content-type')).toBe('image/gif');
    const redirect = await app.yoga.fetch(local(click), { redirect: 'manual' });
    expect(redirect.status).toBe(302);
    expect(redirect.headers.get('location')).toBe(`https://workshops.example/workshops/${workshop.slug}`);
    const forged = new URL(local(click));
    forged.searchParams.set('u', 'https://evil.example/');
    expect((await app.yoga.fetch(forged.toString(), { redirect: 'manual' })).status).toBe(400);
    await waitFor('open and click recorded', async () => {
      const delivery = await app.database.prisma.newsletterDelivery.findFirst({ where: { newsletterId: decode(id) } });
      return Boolean(delivery?.openedAt && delivery?.clickedAt);
    });
    const events = await app.database.prisma.$queryRaw<{ type: string }[]>`
      SELECT type FROM analytics.analytics_events e JOIN subscribers s ON s.id = e.subscriber_id WHERE s.email = ${emails[0]} ORDER BY type`;
    expect(events.map((e) => e.type)).toEqual(['NEWSLETTER_CLICK', 'NEWSLETTER_OPEN']);
  });

  it('is for editors and admins only', async () => {
    const input = { subjectEn: 'x', introEn: 'y' };
    expect(codesOf(await app.gql(CREATE, { input }))).toEqual(['FORBIDDEN']);
    expect(codesOf(await app.gql(`{ newsletters { id } }`))).toEqual(['FORBIDDEN']);
    const id = dataOf(await app.gql(CREATE, { input }, { key: app.keys.admin })).createNewsletter.id;
    expect(dataOf(await app.gql(`query ($id: ID!) { node(id: $id) { id } }`, { id })).node).toBeNull();
    expect(codesOf(await app.gql(CREATE, { input: { ...input, topics: ['astrology'] } }, { key: app.keys.editor }))).toEqual(['BAD_USER_INPUT']);
  });
});

const decode = (globalId: string) => decodeGlobalId(globalId).id;
