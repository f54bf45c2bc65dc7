import { createServer, type Server } from 'node:http';
import { mkdtempSync, readdirSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { Redis } from 'ioredis';
import { startBackground } from '../../src/background.js';
import { createJobSystem, type JobSystem } from '../../src/infra/jobs/index.js';
import { createLogger } from '../../src/infra/logger.js';
import { postWebhook, WEBHOOK_SIGNATURE_HEADER, webhookSignature } from '../../src/infra/mail/transports.js';
import { dataOf, startTestApp, type TestApp } from '../testkit/app.js';
import { backgroundEnv, startTestBackground } from '../testkit/background.js';
import { waitFor } from '../testkit/processes.js';
import { startSmtpServer, type TestSmtpServer } from '../testkit/smtp.js';

const SUBSCRIBE = `mutation ($input: SubscribeInput!) { subscribe(input: $input) { accepted } }`;
const QUEUES = `{ jobQueues { name waiting active delayed failed deadLettered } }`;
const REDIS_URL = process.env.TEST_REDIS_URL ?? 'redis://127.0.0.1:6379';
const logger = createLogger('silent');

/**
 * The mail path end to end over a real SMTP server (TCP): subscribe → outbox row (same transaction)
 * → relay → `mail` job → SMTP → row marked sent; the links in the mail work; retries, dead letters.
 * Once with the in-process runner (no Redis) and once with BullMQ on a real Redis.
 */
describe.each(['in-process', 'bullmq'] as const)('mail delivery (%s jobs)', (kind) => {
  let app: TestApp;
  let smtp: TestSmtpServer;
  let jobs: JobSystem;
  let background: { close(): Promise<void> };
  const namespace = `mail-${randomBytes(4).toString('hex')}`;

  beforeAll(async () => {
    smtp = await startSmtpServer();
    jobs = createJobSystem({ redis: kind === 'bullmq' ? REDIS_URL : undefined, namespace, backoffMs: 20, lockMs: 5000, logger });
    app = await startTestApp({ jobs, env: { PUBLIC_URL: 'https://workshops.example/app' } });
    background = await startTestBackground(app, jobs, { SMTP_URL: smtp.url, OUTBOX_POLL_MS: '100', JOB_BACKOFF_MS: '20', PUBLIC_URL: 'https://workshops.example/app' });
  });
  afterAll(async () => {
    await background?.close();
    await app?.close();
    await smtp?.close();
    if (kind === 'bullmq') await deleteNamespace(namespace);
  });
  afterEach(() => {
    smtp.failNext(0);
    smtp.refuseAll(false);
  });

  const unique = () => `mail-${randomBytes(4).toString('hex')}@example.com`;
  const mailTo = async (email: string, count = 1) => {
    await waitFor(`${count} mail(s) to ${email}`, async () => smtp.received.filter((m) => m.to.includes(email)).length >= count, 20_000);
    return smtp.received.filter((m) => m.to.includes(email));
  };
  const rowOf = (email: string, kind = 'CONFIRM_SUBSCRIPTION') => app.database.prisma.notification.findFirstOrThrow({ where: { kind, subscriber: { email } } });

  it('sends the confirmation in the subscriber’s language, marks the row sent, and its link confirms (GET shows a button, POST acts)', async () => {
    const email = unique();
    dataOf(await app.gql(SUBSCRIBE, { input: { email, locale: 'PL', topics: ['graphql'] } }));
    const [mail] = await mailTo(email);
    expect(mail!.raw).toMatch(/^Subject: .*Potwierd/m);
    expect(mail!.raw).toMatch(/Content-Type: text\/plain/);
    expect(mail!.raw).toMatch(/Content-Type: text\/html/);
    const link = /https:\/\/workshops\.example\/app\/mail\/confirm\?token=[A-Za-z0-9_.%-]+/.exec(mail!.raw.replace(/=\r?\n/g, '').replace(/=3D/g, '='))?.[0];
    expect(link).toBeTruthy();
    await waitFor('row marked sent', async () => (await rowOf(email)).sentAt !== null);
    expect(await rowOf(email)).toMatchObject({ attempts: 1, lastError: null, failedAt: null });

    const path = link!.replace('https://workshops.example/app', 'http://localhost');
    const preview = await app.yoga.fetch(path);
    expect(preview.status).toBe(200);
    expect(await preview.text()).toContain('<form method="post"');
    expect((await app.database.prisma.subscriber.findUniqueOrThrow({ where: { email } })).status).toBe('PENDING');
    const confirmed = await app.yoga.fetch(path, { method: 'POST' });
    expect(confirmed.status).toBe(200);
    expect((await app.database.prisma.subscriber.findUniqueOrThrow({ where: { email } })).status).toBe('ACTIVE');
    expect((await app.yoga.fetch('http://localhost/mail/confirm?token=forged', { method: 'POST' })).status).toBe(400);
  });

  it('carries List-Unsubscribe with one-click POST (RFC 8058) to active subscribers, and the one-click POST unsubscribes', async () => {
    const email = unique();
    dataOf(await app.gql(SUBSCRIBE, { input: { email, locale: 'EN' } }));
    const [confirmMail] = await mailTo(email);
    expect(confirmMail!.raw).not.toMatch(/^List-Unsubscribe:/m);
    await app.yoga.fetch(linkIn(confirmMail!.raw, 'confirm'), { method: 'POST' });
    dataOf(await app.gql(SUBSCRIBE, { input: { email, locale: 'EN' } }));
    const [, already] = await mailTo(email, 2);
    expect(already!.raw).toMatch(/^Subject: You are already subscribed/m);
    expect(already!.raw).toMatch(/^List-Unsubscribe-Post: List-Unsubscribe=One-Click/m);
    const header = /^List-Unsubscribe:\s*<([^>]+)>/m.exec(already!.raw.replace(/\r?\n[ \t]+/g, ''))?.[1];
    expect(header).toMatch(/^https:\/\/workshops\.example\/app\/mail\/unsubscribe\?token=/);
    // What a mail client sends for one click: a form POST, no cookies, no CSRF header.
    const response = await app.yoga.fetch(header!.replace('https://workshops.example/app', 'http://localhost'), {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: 'List-Unsubscribe=One-Click',
    });
    expect(response.status).toBe(200);
    expect((await app.database.prisma.subscriber.findUniqueOrThrow({ where: { email } })).status).toBe('UNSUBSCRIBED');
  });

  it('a transport that fails 3 times then succeeds delivers one message, with the attempts and last error recorded', async () => {
    smtp.failNext(3);
    const email = unique();
    dataOf(await app.gql(SUBSCRIBE, { input: { email, locale: 'EN' } }));
    await mailTo(email);
    await waitFor('row marked sent', async () => (await rowOf(email)).sentAt !== null);
    // Give a (wrong) second delivery the time to show up.
    await new Promise((resolve) => setTimeout(resolve, 500));
    expect(smtp.received.filter((m) => m.to.includes(email))).toHaveLength(1);
    expect((await rowOf(email)).attempts).toBe(4);
  });

  it('dead-letters a message the server refuses on every attempt, shows it in jobQueues, and retryDeadLetters sends it once', async () => {
    smtp.refuseAll(true);
    const email = unique();
    dataOf(await app.gql(SUBSCRIBE, { input: { email, locale: 'EN' } }));
    await waitFor('row dead', async () => (await rowOf(email)).failedAt !== null, 30_000);
    const row = await rowOf(email);
    expect(row.attempts).toBe(8);
    expect(row.lastError).toMatch(/550|mailbox unavailable/);
    await waitFor('dead letter counted', async () => dataOf(await app.gql(QUEUES, {}, { key: app.keys.admin })).jobQueues.find((q: any) => q.name === 'MAIL').deadLettered === 1);
    expect((await app.gql(QUEUES, {}, { key: app.keys.editor })).errors?.[0]?.extensions?.code).toBe('FORBIDDEN');
    smtp.refuseAll(false);
    expect(dataOf(await app.gql(`mutation { retryDeadLetters(queue: MAIL) }`, {}, { key: app.keys.admin })).retryDeadLetters).toBe(1);
    await mailTo(email);
    await waitFor('row sent', async () => (await rowOf(email)).sentAt !== null);
    expect(smtp.received.filter((m) => m.to.includes(email))).toHaveLength(1);
    expect(dataOf(await app.gql(QUEUES, {}, { key: app.keys.admin })).jobQueues.find((q: any) => q.name === 'MAIL').deadLettered).toBe(0);
  });
});

describe('file transport and webhook transport', () => {
  let receiver: Server;
  const requests: { body: string; signature: string | undefined }[] = [];
  beforeAll(async () => {
    receiver = createServer((request, response) => {
      let body = '';
      request.on('data', (chunk) => (body += chunk));
      request.on('end', () => {
        requests.push({ body, signature: request.headers[WEBHOOK_SIGNATURE_HEADER] as string | undefined });
        response.writeHead(body.includes('fail') ? 500 : 204).end();
      });
    });
    await new Promise<void>((resolve) => receiver.listen(0, '127.0.0.1', resolve));
  });
  afterAll(() => new Promise<void>((resolve) => receiver.close(() => resolve())));

  it('signs the webhook body with HMAC-SHA256 in a header a receiver can verify, and treats a non-2xx answer as a failure', async () => {
    const url = `http://127.0.0.1:${(receiver.address() as { port: number }).port}/hook`;
    await postWebhook(url, 'w'.repeat(32), { text: 'New workshop: GraphQL' });
    const [request] = requests;
    expect(JSON.parse(request!.body)).toEqual({ text: 'New workshop: GraphQL', content: 'New workshop: GraphQL' });
    expect(request!.signature).toBe(webhookSignature('w'.repeat(32), request!.body));
    expect(request!.signature).not.toBe(webhookSignature('x'.repeat(32), request!.body));
    await expect(postWebhook(url, 'w'.repeat(32), { text: 'fail' })).rejects.toThrow(/500/);
  });

  it('writes each message as an .eml file in MAIL_DIR when no SMTP is configured (the development default)', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'mail-'));
    const jobs = createJobSystem({ namespace: 'file', backoffMs: 20, lockMs: 5000, logger });
    const app = await startTestApp({ jobs });
    const env = backgroundEnv(app, { MAIL_DIR: dir, OUTBOX_POLL_MS: '100' });
    expect(env.MAIL_TRANSPORT).toBe('file');
    const background = await startBackground({ env, database: app.database, services: app.services, jobs, logger });
    try {
      const email = `file-${randomBytes(4).toString('hex')}@example.com`;
      dataOf(await app.gql(SUBSCRIBE, { input: { email, locale: 'EN' } }));
      await waitFor('an .eml file', async () => readdirSync(dir).some((f) => f.endsWith('.eml')), 20_000);
      const file = readdirSync(dir).find((f) => f.endsWith('.eml'))!;
      expect(readFileSync(join(dir, file), 'utf8')).toMatch(new RegExp(`^To: ${email}`, 'm'));
    } finally {
      await background.close();
      await app.close();
    }
  });
});

async function deleteNamespace(namespace: string): Promise<void> {
  const redis = new Redis(REDIS_URL);
  try {
    const keys = await redis.keys(`{${namespace}:jobs}:*`);
    if (keys.length) await redis.del(...keys);
  } finally {
    redis.disconnect();
  }
}

function linkIn(raw: string, action: 'confirm' | 'unsubscribe'): string {
  const decoded = raw.replace(/=\r?\n/g, '').replace(/=3D/g, '=');
  const link = new RegExp(`https://workshops\\.example/app/mail/${action}\\?token=[A-Za-z0-9_.%-]+`).exec(decoded)?.[0];
  if (!link) throw new Error(`no ${action} link in the mail`);
  return link.replace('https://workshops.example/app', 'http://localhost');
}
