import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestDatabase } from '../testkit/postgres.js';
import { ROOT, startServerProcess, type ServerProcess } from '../testkit/server-process.js';
import { PRODUCTION_MAIL_ENV } from '../testkit/production-env.js';

/**
 * The production start: the compiled server (`npm run build` → `node dist/index.js`, no tsx) in
 * production mode against a fresh database, and the compiled key CLI operators run in the image.
 */
describe('the production build', () => {
  let database: Awaited<ReturnType<typeof createTestDatabase>>;
  let server: ServerProcess;
  const env = () => ({ NODE_ENV: 'production', ...PRODUCTION_MAIL_ENV, DATABASE_URL: database.url, TOKEN_SECRET: 'a-production-secret-of-at-least-32-characters', LOG_LEVEL: 'info' });

  beforeAll(async () => {
    database = await createTestDatabase();
    server = await startServerProcess(env());
  }, 120_000);

  afterAll(async () => {
    await server?.stop();
    await database?.drop();
  });

  it('runs as plain node on compiled JavaScript and answers /health and /ready', async () => {
    expect(server.process.spawnargs.slice(1)).toEqual([join(ROOT, 'dist/index.js')]);
    expect((await fetch(`${server.baseUrl}/health`)).status).toBe(200);
    expect((await fetch(`${server.baseUrl}/ready`)).status).toBe(200);
  });

  it('serves queries to a key made with the compiled CLI (node dist/cli/apikey.js)', async () => {
    const { stdout } = await promisify(execFile)(process.execPath, ['dist/cli/apikey.js', 'create', '--role', 'ADMIN', '--name', 'ops'], {
      cwd: ROOT,
      env: { PATH: process.env.PATH, ...env() },
    });
    const key = /wk_\S+/.exec(stdout)?.[0];
    expect(key).toBeDefined();
    const response = await fetch(`${server.baseUrl}/graphql`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', accept: 'application/json', authorization: `Bearer ${key}` },
      body: JSON.stringify({ query: '{ workshops(first: 1) { totalCount } }' }),
    });
    expect((await response.json()).data).toEqual({ workshops: { totalCount: 0 } });
  });
});
