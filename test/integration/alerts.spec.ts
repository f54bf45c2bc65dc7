import { createServer, type Server } from 'node:http';
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createJobSystem, type JobSystem } from '../../src/infra/jobs/index.js';
import { createLogger } from '../../src/infra/logger.js';
import { WEBHOOK_SIGNATURE_HEADER, webhookSignature } from '../../src/infra/mail/transports.js';
import { quietHoursDelay } from '../../src/modules/notifications/alerts.js';
import { dataOf, startTestApp, type TestApp } from '../testkit/app.js';
import { startTestBackground } from '../testkit/background.js';
import { createWorkshop } from '../testkit/factories.js';
import { startRedisServer, waitFor, type RedisServer } from '../testkit/processes.js';
import { startSmtpServer, type TestSmtpServer } from '../testkit/smtp.js';

const logger = createLogger('silent');
const PUBLISH = `mutation ($id: ID!) { publishWorkshop(id: $id) { id } }`;
const ARCHIVE = `mutation ($id: ID!) { archiveWorkshop(id: $id) { id } }`;
const SECRET = 'h'.repeat(40);

/** Publishing a workshop alerts its topics' followers who chose instant alerts: by mail (real SMTP) and the team's signed webhook. */
describe('instant alerts on publish', () => {
  let app: TestApp;
  let smtp: TestSmtpServer;
  let jobs: JobSystem;
  let background: { close(): Promise<void> };
  let hook: Server;
  const posts: { body: string; signature?: string }[] = [];

  beforeAll(async () => {
    smtp = await startSmtpServer();
    hook = createServer((request, response) => {
      let body = '';
      request.on('data', (c) => (body += c));
      request.on('end', () => (posts.push({ body, signature: request.headers[WEBHOOK_SIGNATURE_HEADER] as string }), response.writeHead(200).end('ok')));
    });
    await new Promise<void>((resolve) => hook.listen(0, '127.0.0.1', resolve));
    const webhook = `http://127.0.0.1:${(hook.address() as { port: number }).port}/slack`;
    jobs = createJobSystem({ namespace: 'alerts', backoffMs: 20, lockMs: 5000, logger });
    app = await startTestApp({ jobs });
    background = await startTestBackground(app, jobs, { SMTP_URL: smtp.url, PUBLIC_URL: 'https://workshops.example', ALERT_WEBHOOK_URL: webhook, WEBHOOK_SECRET: SECRET });
  });
  afterAll(async () => {
    await background?.close();
    await app?.close();
    await smtp?.close();
    await new Promise((resolve) => hook?.close(resolve));
  });

  it('sends one alert within 30 s to each follower who chose instant alerts, at most once per workshop, and posts the signed webhook once', async () => {
    const topic = `a${randomBytes(4).toString('hex')}`;
    await app.database.prisma.topic.create({ data: { slug: topic, nameEn: topic } });
    const person = (name: string, preferences: object, status = 'ACTIVE', topics = [topic]) =>
      app.database.prisma.subscriber.create({ data: { email: `${name}-${topic}@example.com`, locale: name.endsWith('pl') ? 'PL' : 'EN', status: status as 'ACTIVE', topics, preferences } });
    await person('instant-en', { alerts: 'INSTANT' });
    await person('instant-pl', { alerts: 'INSTANT' });
    await person('digest', { frequency: 'WEEKLY' });
    await person('pending', { alerts: 'INSTANT' }, 'PENDING');
    await person('elsewhere', { alerts: 'INSTANT' }, 'ACTIVE', ['graphql']);
    const workshop = await createWorkshop(app, { tags: [topic], publish: false, titleEn: 'Federation deep dive', titlePl: 'Federacja od środka' });
    const published = Date.now();
    dataOf(await app.gql(PUBLISH, { id: workshop.id }, { key: app.keys.editor }));
    const to = (name: string) => smtp.received.filter((m) => m.to.includes(`${name}-${topic}@example.com`));
    await waitFor('both alerts', async () => to('instant-en').length === 1 && to('instant-pl').length === 1, 30_000);
    expect(Date.now() - published).toBeLessThan(30_000);
    expect(to('instant-en')[0]!.raw).toMatch(/Subject: New workshop: Federation deep dive/);
    expect(to('instant-pl')[0]!.raw).toMatch(/Federacja/);
    expect(to('instant-en')[0]!.raw).toContain(`https://workshops.example/workshops/${workshop.slug}`);
    await waitFor('the webhook', async () => posts.length === 1);
    expect(posts[0]!.signature).toBe(webhookSignature(SECRET, posts[0]!.body));
    expect(JSON.parse(posts[0]!.body).text).toContain('Federation deep dive');

    // Archived and published again: nobody is alerted twice.
    dataOf(await app.gql(ARCHIVE, { id: workshop.id }, { key: app.keys.editor }));
    dataOf(await app.gql(PUBLISH, { id: workshop.id }, { key: app.keys.editor }));
    await new Promise((resolve) => setTimeout(resolve, 1500));
    for (const name of ['instant-en', 'instant-pl']) expect(to(name)).toHaveLength(1);
    for (const name of ['digest', 'pending', 'elsewhere']) expect(to(name)).toHaveLength(0);
    expect(posts).toHaveLength(1);
  });

  it('holds an alert until the end of the quiet hours, in the person’s time zone', () => {
    const at = new Date('2026-12-01T22:30:00Z'); // 23:30 in Warsaw
    expect(quietHoursDelay({ start: '22:00', end: '07:00' }, 'UTC', at)).toBe(8.5 * 3600_000);
    expect(quietHoursDelay({ start: '22:00', end: '07:00' }, 'Europe/Warsaw', at)).toBe(7.5 * 3600_000);
    expect(quietHoursDelay({ start: '08:00', end: '20:00' }, 'UTC', at)).toBe(0);
    expect(quietHoursDelay(null, undefined, at)).toBe(0);
    expect(quietHoursDelay({ start: '22:00', end: '07:00' }, 'Not/AZone', at)).toBe(8.5 * 3600_000);
  });

  it('delays the alert of a person in quiet hours instead of sending it now', async () => {
    const topic = `q${randomBytes(4).toString('hex')}`;
    await app.database.prisma.topic.create({ data: { slug: topic, nameEn: topic } });
    // Quiet for the whole day but the next minute or two: the alert waits in the queue.
    const now = new Date();
    const hhmm = (d: Date) => d.toISOString().slice(11, 16);
    const quietHours = { start: hhmm(new Date(now.getTime() + 3 * 60_000)), end: hhmm(new Date(now.getTime() + 2 * 60_000)) };
    const sleeper = await app.database.prisma.subscriber.create({ data: { email: `sleeper-${topic}@example.com`, status: 'ACTIVE', topics: [topic], preferences: { alerts: 'INSTANT', quietHours, timeZone: 'UTC' } } });
    const workshop = await createWorkshop(app, { tags: [topic], publish: false });
    dataOf(await app.gql(PUBLISH, { id: workshop.id }, { key: app.keys.editor }));
    await waitFor('the alert delayed', async () => (await jobs.counts()).alerts.delayed >= 1);
    expect(smtp.received.filter((m) => m.to.includes(sleeper.email))).toHaveLength(0);
  });
});

/** The publish and its alerts commit together (the outbox): Redis down at publish time delays the alerts, never loses them. */
describe('instant alerts when Redis is down at publish', () => {
  let app: TestApp;
  let smtp: TestSmtpServer;
  let redis: RedisServer;
  let jobs: JobSystem;
  let background: { close(): Promise<void> };

  beforeAll(async () => {
    [smtp, redis] = await Promise.all([startSmtpServer(), startRedisServer()]);
    jobs = createJobSystem({ redis: redis.url, namespace: `alerts-${randomBytes(3).toString('hex')}`, backoffMs: 20, lockMs: 5000, logger });
    app = await startTestApp({ jobs });
    background = await startTestBackground(app, jobs, { SMTP_URL: smtp.url, PUBLIC_URL: 'https://workshops.example', OUTBOX_POLL_MS: '200' });
  });
  afterAll(async () => {
    await background?.close();
    await app?.close();
    await smtp?.close();
    await redis?.stop();
  });

  it('publishes while Redis is gone and alerts the follower once Redis is back', async () => {
    const topic = `r${randomBytes(4).toString('hex')}`;
    await app.database.prisma.topic.create({ data: { slug: topic, nameEn: topic } });
    const follower = await app.database.prisma.subscriber.create({ data: { email: `outage-${topic}@example.com`, status: 'ACTIVE', topics: [topic], preferences: { alerts: 'INSTANT' } } });
    const workshop = await createWorkshop(app, { tags: [topic], publish: false, titleEn: 'Published during an outage' });
    await redis.kill();
    expect(dataOf(await app.gql<{ publishWorkshop: { id: string } }>(PUBLISH, { id: workshop.id }, { key: app.keys.editor })).publishWorkshop.id).toBe(workshop.id);
    // Several relay polls fail meanwhile.
    await new Promise((resolve) => setTimeout(resolve, 1000));
    await redis.start();
    const received = () => smtp.received.filter((m) => m.to.includes(follower.email));
    await waitFor('the alert after Redis came back', async () => received().length === 1, 20_000);
    expect(received()[0]!.raw).toMatch(/Subject: New workshop: Published during an outage/);
    expect((await app.database.prisma.workshop.findUniqueOrThrow({ where: { slug: workshop.slug } })).alertsDueAt).toBeNull();
  });
});
