import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { documentId } from '../testkit/app.js';
import { startPostgresCluster, waitFor, type PostgresCluster } from '../testkit/processes.js';
import { startServerProcess, type ServerProcess } from '../testkit/server-process.js';
import { readFileSync } from 'node:fs';
import { PRODUCTION_MAIL_ENV } from '../testkit/production-env.js';

/** The web app's upcoming-workshops page, as production lets anonymous callers run it (persisted). */
const UPCOMING = Object.values(JSON.parse(readFileSync(new URL('../../persisted/web.json', import.meta.url), 'utf8')) as Record<string, string>).find((doc) =>
  doc.includes('query UpcomingWorkshops'),
)!;

/**
 * The real server process over a Postgres cluster of its own, which the tests stop and freeze.
 * Timeouts are set low so a frozen database is noticed well inside the 2 s every request must take.
 */
describe('Postgres outages', () => {
  let pg: PostgresCluster;
  let server: ServerProcess;

  beforeAll(async () => {
    pg = await startPostgresCluster();
    server = await startServerProcess({
      NODE_ENV: 'production',
      ...PRODUCTION_MAIL_ENV,
      LOG_LEVEL: 'info',
      TOKEN_SECRET: 'fault-test-secret-fault-test-secret-0123',
      DATABASE_URL: pg.url,
      RESPONSE_CACHE: 'false',
      DB_STATEMENT_TIMEOUT_MS: '800',
      DB_QUERY_TIMEOUT_MS: '900',
      DB_CONNECT_TIMEOUT_MS: '500',
      STATS_REFRESH_DEBOUNCE_MS: '0',
      LIMITS: JSON.stringify({ anonymous: { requestsPerMinute: 100_000, costPerMinute: 100_000_000 } }),
    });
  }, 180_000);

  afterAll(async () => {
    await server?.stop('SIGKILL');
    pg?.destroy();
  });

  const upcoming = async () => {
    const started = performance.now();
    const response = await fetch(`${server.baseUrl}/graphql`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ documentId: documentId(UPCOMING), variables: { first: 3 } }),
    });
    const body = await response.text();
    return { status: response.status, retryAfter: response.headers.get('retry-after'), body, ms: performance.now() - started };
  };
  const ready = async () => (await fetch(`${server.baseUrl}/ready`)).status;

  it('answers 503 SERVICE_UNAVAILABLE with Retry-After while Postgres is stopped, and recovers without a restart', async () => {
    expect((await upcoming()).status).toBe(200);
    pg.stop();
    try {
      const during = await upcoming();
      expect(during.status).toBe(503);
      expect(Number(during.retryAfter)).toBeGreaterThan(0);
      const body = JSON.parse(during.body);
      expect(body.errors.map((e: { extensions: { code: string } }) => e.extensions.code)).toEqual(['SERVICE_UNAVAILABLE']);
      expect(during.body).not.toMatch(/\n\s+at /);
      expect(await ready()).toBe(503);
    } finally {
      pg.start();
    }
    await waitFor('the API answering again', async () => (await upcoming()).status === 200, 20_000);
    expect(await ready()).toBe(200);
  });

  it('answers every request within 2 s while Postgres is frozen (503, never a hang), and recovers', async () => {
    expect((await upcoming()).status).toBe(200);
    pg.freeze();
    let answers: Awaited<ReturnType<typeof upcoming>>[];
    let readyMs: number;
    try {
      // A few waves of concurrent requests over ~3 s of freeze: the pool's clients hang, time out, reconnect.
      const waves = await Promise.all(
        [0, 1000, 2000].map(async (delay) => {
          await new Promise((resolve) => setTimeout(resolve, delay));
          return Promise.all(Array.from({ length: 8 }, () => upcoming()));
        }),
      );
      answers = waves.flat();
      const started = performance.now();
      expect(await ready()).toBe(503);
      readyMs = performance.now() - started;
    } finally {
      pg.thaw();
    }
    expect(answers.map((a) => a.status).filter((s) => s !== 503)).toEqual([]);
    expect(Math.max(...answers.map((a) => a.ms))).toBeLessThan(2000);
    expect(readyMs).toBeLessThan(2000);
    await waitFor('the API answering again', async () => (await upcoming()).status === 200, 20_000);
  });
});
