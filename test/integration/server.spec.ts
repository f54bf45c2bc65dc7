import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DEVELOPMENT_ADMIN_KEY } from '../../src/modules/auth/api-keys-service.js';
import { ROOT, startServerProcess, type ServerProcess } from '../testkit/server-process.js';

/**
 * `npm start` as a user runs it: no DATABASE_URL, no REDIS_URL, no secrets. Only the data folder
 * and port are moved aside so the test never touches a developer's .data/ or port 4000.
 */
/** package.json's `start` script as argv, run directly (npm would not pass our SIGTERM on). */
function npmStartCommand(): string[] {
  const { scripts } = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { scripts: { start: string } };
  const [program, ...args] = scripts.start.split(' ');
  expect(program).toBe('node');
  return [process.execPath, ...args];
}

describe('the server process with no configuration', () => {
  let server: ServerProcess;
  let baseUrl: string;
  let output = () => '';
  const dataDir = mkdtempSync(join(tmpdir(), 'workshops-server-'));

  beforeAll(async () => {
    server = await startServerProcess({ DATA_DIR: join(dataDir, 'pglite') }, { command: npmStartCommand() });
    ({ baseUrl, output } = server);
  }, 120_000);

  afterAll(async () => {
    await server?.stop();
    rmSync(dataDir, { recursive: true, force: true });
  });

  it('is alive and ready', async () => {
    expect((await fetch(`${baseUrl}/health`)).status).toBe(200);
    expect((await fetch(`${baseUrl}/ready`)).status).toBe(200);
  });

  it('serves GraphiQL to browsers', async () => {
    const response = await fetch(`${baseUrl}/graphql`, { headers: { accept: 'text/html' } });
    expect(response.status).toBe(200);
    expect(await response.text()).toContain('UpcomingWorkshops');
  });

  it('answers queries over HTTP from the seeded demo data', async () => {
    const response = await fetch(`${baseUrl}/graphql`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', accept: 'application/json' },
      body: JSON.stringify({ query: '{ workshops(first: 3) { totalCount edges { node { slug title(locale: PL) seatsLeft } } } }' }),
    });
    expect(response.status).toBe(200);
    const body = await response.json();
    expect(body.errors).toBeUndefined();
    expect(body.data.workshops.totalCount).toBeGreaterThan(20);
    expect(body.data.workshops.edges).toHaveLength(3);
  });

  it('prints and accepts the documented development admin key', async () => {
    expect(output()).toContain(DEVELOPMENT_ADMIN_KEY);
    const response = await fetch(`${baseUrl}/graphql`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', accept: 'application/json', authorization: `Bearer ${DEVELOPMENT_ADMIN_KEY}` },
      body: JSON.stringify({ query: '{ workshops(first: 1, filter: { status: DRAFT }) { totalCount } }' }),
    });
    const body = await response.json();
    expect(body.data.workshops.totalCount).toBeGreaterThan(0);
  });

  it('refuses a second server on the same data folder with one clear line and exit code 1', async () => {
    const second = startServerProcess({ DATA_DIR: join(dataDir, 'pglite') }, { command: npmStartCommand(), timeoutMs: 60_000 });
    const error = (await second.then(() => expect.unreachable('the second server started'), (e: Error) => e)) as Error;
    expect(error.message).toMatch(/server exited with 1:[\s\S]*is in use by process \d+/);
    expect(error.message).not.toMatch(/\n\s+at /); // no stack trace
    expect((await fetch(`${baseUrl}/ready`)).status).toBe(200); // the first one is untouched
  }, 90_000);

  it('never answers bad requests with a 5xx or a stack trace', async () => {
    const cases: RequestInit[] = [
      { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{not json' },
      { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ query: '{ workshops(' }) },
      { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ query: '{ node(id: "%%%") { id } }' }) },
      { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ query: 42 }) },
      { method: 'GET' },
    ];
    for (const init of cases) {
      const response = await fetch(`${baseUrl}/graphql`, { ...init, headers: { accept: 'application/json', ...(init.headers as object) } });
      expect(response.status).toBeLessThan(500);
      expect(await response.text()).not.toMatch(/\bat .+\.(ts|js):\d+/);
    }
  });
});
