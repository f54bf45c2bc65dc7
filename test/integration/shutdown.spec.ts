import { get } from 'node:http';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestDatabase } from '../testkit/postgres.js';
import { startServerProcess, type ServerProcess } from '../testkit/server-process.js';
import { subscribe } from '../testkit/sse.js';

/** A GET on a connection of its own: the status, or the connection error's code (ECONNREFUSED…). */
function probe(baseUrl: string, path: string): Promise<number | string> {
  return new Promise((resolve) => {
    get(`${baseUrl}${path}`, { agent: false, timeout: 5000 }, (response) => {
      response.resume();
      resolve(response.statusCode ?? 0);
    }).on('error', (error: NodeJS.ErrnoException) => resolve(error.code ?? error.message));
  });
}

/** Polls `check` every 50 ms until it returns true, failing after `timeoutMs`. */
async function until(what: string, check: () => Promise<boolean>, timeoutMs: number): Promise<void> {
  const started = Date.now();
  while (!(await check())) {
    if (Date.now() - started > timeoutMs) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

/**
 * SIGTERM to the real server process (`node dist/index.js`) while requests are in flight. The requests
 * are held in the database by a lock this test takes on `topics`, so they are provably still running
 * when the signal arrives, and are let go once the server has stopped accepting.
 */
describe('graceful shutdown of the server process', () => {
  let database: Awaited<ReturnType<typeof createTestDatabase>>;
  let locker: pg.Client;
  let server: ServerProcess | undefined;

  const start = (env: Record<string, string>) =>
    startServerProcess({
      DATABASE_URL: database.url,
      TOKEN_SECRET: 'shutdown-test-token-secret-0123456789',
      // The held requests are anonymous ad-hoc documents.
      DEVELOPMENT_RELAXATIONS: 'true',
      LOG_LEVEL: 'info',
      // Every held request keeps a connection waiting on the lock; no response cache, so each one queries.
      DB_POOL_MAX: '30',
      DB_STATEMENT_TIMEOUT_MS: '60000',
      RESPONSE_CACHE: 'false',
      STATS_REFRESH_DEBOUNCE_MS: '0',
      ...env,
    });

  /** Starts `count` topic queries and resolves once each is waiting on the lock inside the server. */
  async function holdRequests(baseUrl: string, count: number) {
    const requests = Array.from({ length: count }, () =>
      fetch(`${baseUrl}/graphql`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', accept: 'application/json' },
        body: JSON.stringify({ query: '{ topics { slug } }' }),
      }).then(async (response) => ({ status: response.status, connection: response.headers.get('connection'), body: await response.json() })),
    );
    for (const request of requests) request.catch(() => {}); // awaited by the test; some are expected to fail
    const waiting = async () => {
      const { rows } = await locker.query<{ n: number }>(`SELECT count(*)::int AS n FROM pg_locks WHERE NOT granted AND relation = 'topics'::regclass`);
      return rows[0]!.n >= count;
    };
    await until(`${count} requests waiting on the lock`, waiting, 30_000);
    return requests;
  }

  beforeAll(async () => {
    database = await createTestDatabase();
    locker = new pg.Client({ connectionString: database.url });
    await locker.connect();
  });

  afterAll(async () => {
    await locker?.query('ROLLBACK').catch(() => {});
    await locker?.end();
    await server?.stop('SIGKILL');
    await database?.drop();
  });

  it('answers /ready 503 at once, refuses new connections, finishes every request in flight and exits 0', async () => {
    server = await start({ SHUTDOWN_DELAY_MS: '1500' });
    const { baseUrl } = server;
    expect(await probe(baseUrl, '/ready')).toBe(200);

    await locker.query('BEGIN');
    await locker.query('LOCK TABLE topics IN ACCESS EXCLUSIVE MODE');
    const inFlight = await holdRequests(baseUrl, 20);

    const signalledAt = Date.now();
    server.process.kill('SIGTERM');
    // Readiness fails first (the signal arrives asynchronously, hence the short poll); the process stays alive.
    await until('/ready to answer 503', async () => (await probe(baseUrl, '/ready')) === 503, 1000);
    expect(Date.now() - signalledAt).toBeLessThan(1500);
    expect(await probe(baseUrl, '/health')).toBe(200);
    // After the delay the listening socket closes while the held requests still run.
    await until('new connections to be refused', async () => (await probe(baseUrl, '/health')) === 'ECONNREFUSED', 10_000);
    expect(server.process.exitCode).toBeNull();

    await locker.query('COMMIT');
    const responses = await Promise.all(inFlight);
    for (const response of responses) {
      expect(response).toEqual({ status: 200, connection: 'close', body: expect.objectContaining({ data: { topics: expect.any(Array) } }) });
    }
    expect(await server.exited).toBe(0);
    // Bounded by SHUTDOWN_TIMEOUT_MS (default 10 s), with room for a loaded machine.
    expect(Date.now() - signalledAt).toBeLessThan(10_000 + 5000);
    expect(server.output()).toContain('"msg":"shut down"');
  }, 90_000);

  it('ends live subscriptions first (their streams complete), then shuts down in time and exits 0', async () => {
    server = await start({ SHUTDOWN_DELAY_MS: '200' });
    const { baseUrl } = server;
    const created = await fetch(`${baseUrl}/graphql`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ query: '{ workshops(first: 1) { edges { node { id } } } }' }),
    }).then((response) => response.json() as Promise<{ data: { workshops: { edges: { node: { id: string } }[] } } }>);
    const id = created.data.workshops.edges[0]?.node.id;
    const query = id ? 'subscription ($id: ID!) { workshopChanged(id: $id) { id seatsLeft } }' : 'subscription { workshopsChanged { id } }';
    const streams = [await subscribe(`${baseUrl}/graphql`, query, id ? { id } : {}), await subscribe(`${baseUrl}/graphql`, 'subscription { workshopsChanged { id } }')];
    for (const stream of streams) expect(stream.contentType).toMatch(/text\/event-stream/);
    const signalledAt = Date.now();
    server.process.kill('SIGTERM');
    // Without this step the HTTP server would wait for the never-ending streams until SHUTDOWN_TIMEOUT_MS and exit 1.
    await Promise.all(streams.map((stream) => stream.ended));
    expect(await server.exited).toBe(0);
    expect(Date.now() - signalledAt).toBeLessThan(10_000);
    expect(server.output()).toContain('"msg":"shut down"');
  }, 90_000);

  it('cuts what is left at SHUTDOWN_TIMEOUT_MS and exits 1', async () => {
    server = await start({ SHUTDOWN_TIMEOUT_MS: '1500' });
    await locker.query('BEGIN');
    await locker.query('LOCK TABLE topics IN ACCESS EXCLUSIVE MODE');
    const inFlight = await holdRequests(server.baseUrl, 3);

    const signalledAt = Date.now();
    server.process.kill('SIGTERM');
    expect(await server.exited).toBe(1);
    // The timeout plus the closers' 2 s grace, with room for a loaded machine.
    expect(Date.now() - signalledAt).toBeLessThan(1500 + 2000 + 5000);
    for (const request of inFlight) await expect(request).rejects.toThrow();
    expect(server.output()).toContain('shutdown timed out');
    await locker.query('ROLLBACK');
  }, 90_000);
});
