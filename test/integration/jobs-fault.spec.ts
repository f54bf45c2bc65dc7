import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import pg from 'pg';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { createTestDatabase } from '../testkit/postgres.js';
import { freePort, startRedisServer, waitFor, type RedisServer } from '../testkit/processes.js';
import { ROOT } from '../testkit/server-process.js';
import { startSmtpServer, type TestSmtpServer } from '../testkit/smtp.js';

/** Bounded work: enough deliveries to be mid-batch at the fault, few enough for a loaded 2-core machine. */
const DELIVERIES = 300;
const STARTUP_MS = 90_000;
const TEST_MS = 180_000;

const METRICS_TOKEN = 'm'.repeat(40);

interface WorkerProcess {
  child: ChildProcess;
  metricsUrl: string;
  output(): string;
  kill(signal: NodeJS.Signals): Promise<void>;
}

/**
 * Nothing lost, nothing doubled: real worker processes (`node dist/worker.js`), a real Redis of the
 * test's own, a real SMTP server over TCP counting what it accepted. Each outbox row must be
 * accepted by the SMTP server exactly once (by its Message-ID) after the fault.
 */
describe('mail jobs survive faults', () => {
  let database: { url: string; drop: () => Promise<void> };
  let redis: RedisServer;
  let smtp: TestSmtpServer;
  let client: pg.Client;
  const workers: WorkerProcess[] = [];

  beforeAll(async () => {
    database = await createTestDatabase();
    redis = await startRedisServer();
    smtp = await startSmtpServer();
    client = new pg.Client({ connectionString: database.url });
    await client.connect();
  });
  afterAll(async () => {
    for (const worker of workers) await worker.kill('SIGKILL');
    await client?.end();
    await smtp?.close();
    await redis?.stop();
    await database?.drop();
  });
  beforeEach(() => void smtp.received.splice(0));

  /** DELIVERIES people with one unsent confirmation each; returns the expected Message-IDs. */
  async function seedOutbox(batch: string): Promise<Set<string>> {
    const rows = await client.query<{ id: string }>(
      `WITH people AS (
         INSERT INTO subscribers (id, email, locale, status, created_at, updated_at)
         SELECT gen_random_uuid(), 'fault-' || $1 || '-' || i || '@example.com', 'EN', 'PENDING', now(), now() FROM generate_series(1, $2) i
         RETURNING id)
       INSERT INTO notifications_outbox (id, subscriber_id, kind, token) SELECT gen_random_uuid(), id, 'CONFIRM_SUBSCRIPTION', 'token-' || id FROM people RETURNING id`,
      [batch, DELIVERIES],
    );
    return new Set(rows.rows.map((r) => `<${r.id}@workshops.example>`));
  }

  async function startWorker(): Promise<WorkerProcess> {
    const metricsPort = await freePort();
    const child = spawn(process.execPath, [join(ROOT, 'dist/worker.js')], {
      cwd: ROOT,
      env: {
        PATH: process.env.PATH,
        HOME: process.env.HOME,
        NODE_ENV: 'production',
        DATABASE_URL: database.url,
        REDIS_URL: redis.url,
        TOKEN_SECRET: 'a-production-secret-of-at-least-32-characters',
        PUBLIC_URL: 'https://workshops.example',
        SMTP_URL: smtp.url,
        CACHE_NAMESPACE: 'fault',
        // A dead worker's jobs are taken over 3 s after its last lock renewal (production: 90 s).
        JOB_LOCK_MS: '3000',
        JOB_BACKOFF_MS: '200',
        OUTBOX_POLL_MS: '200',
        // Rows the queue lost (Redis restarted empty) are enqueued again 3 s after the last time.
        OUTBOX_REQUEUE_AFTER_MS: '3000',
        LOG_LEVEL: 'info',
        WORKER_METRICS_PORT: String(metricsPort),
        METRICS_TOKEN,
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let output = '';
    child.stdout!.on('data', (chunk) => (output += chunk));
    child.stderr!.on('data', (chunk) => (output += chunk));
    const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
    const worker: WorkerProcess = {
      child,
      metricsUrl: `http://127.0.0.1:${metricsPort}/metrics`,
      output: () => output,
      async kill(signal) {
        if (child.exitCode === null && child.signalCode === null) child.kill(signal);
        await exited;
      },
    };
    workers.push(worker);
    await waitFor('the worker to start', async () => output.includes('"msg":"worker ready"'), STARTUP_MS).catch((error) => {
      throw new Error(`${(error as Error).message}\n${output}`);
    });
    return worker;
  }

  async function unsent(): Promise<number> {
    const { rows } = await client.query<{ n: number }>(`SELECT count(*)::int AS n FROM notifications_outbox WHERE sent_at IS NULL`);
    return rows[0]!.n;
  }

  function expectEachOnce(expected: Set<string>): void {
    const counts = smtp.countsByMessageId();
    const doubled = [...counts].filter(([id, n]) => expected.has(id) && n > 1);
    const missing = [...expected].filter((id) => !counts.has(id));
    expect({ doubled, missing }).toEqual({ doubled: [], missing: [] });
    expect(smtp.received.filter((m) => expected.has(m.messageId))).toHaveLength(expected.size);
  }

  it(
    'a worker SIGKILLed mid-batch and another started: every delivery accepted by the SMTP server exactly once',
    async () => {
      const expected = await seedOutbox(randomBytes(3).toString('hex'));
      const first = await startWorker();
      await waitFor('a third of the batch delivered', async () => smtp.received.length >= DELIVERIES / 3, TEST_MS / 2);
      // The server stops answering: the deliveries in flight now are unacknowledged when the worker dies.
      smtp.hold(true);
      await new Promise((resolve) => setTimeout(resolve, 1000));
      await first.kill('SIGKILL');
      const acceptedBeforeKill = smtp.received.length;
      expect(acceptedBeforeKill).toBeLessThan(DELIVERIES);
      smtp.hold(false);
      const second = await startWorker();
      await waitFor('every row sent', async () => (await unsent()) === 0, TEST_MS / 2);
      expectEachOnce(expected);
      // The worker's own /metrics (behind the token in production) counts the jobs it ran.
      expect((await fetch(second.metricsUrl)).status).toBe(403);
      const text = await (await fetch(second.metricsUrl, { headers: { authorization: `Bearer ${METRICS_TOKEN}` } })).text();
      expect(Number(/^job_duration_seconds_count\{queue="mail",outcome="completed"\} (\d+)/m.exec(text)?.[1])).toBeGreaterThan(0);
    },
    TEST_MS,
  );

  it(
    'Redis killed mid-run and restarted empty: the outbox re-enqueues what the queue lost, every delivery exactly once',
    async () => {
      const expected = await seedOutbox(randomBytes(3).toString('hex'));
      const [worker] = workers.filter((w) => w.child.exitCode === null && w.child.signalCode === null);
      expect(worker).toBeDefined();
      await waitFor('a third of the batch delivered', async () => smtp.received.length >= DELIVERIES / 3, TEST_MS / 2);
      await redis.kill();
      expect(smtp.received.length).toBeLessThan(DELIVERIES);
      await new Promise((resolve) => setTimeout(resolve, 1000));
      await redis.start();
      await waitFor('every row sent', async () => (await unsent()) === 0, TEST_MS / 2);
      expectEachOnce(expected);
      expect(worker!.child.exitCode).toBeNull();
    },
    TEST_MS,
  );
});
