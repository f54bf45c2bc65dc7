import { randomBytes } from 'node:crypto';
import { once } from 'node:events';
import type { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createLogger } from '../../src/infra/logger.js';
import { connectRedis } from '../../src/infra/redis.js';
import { documentId, startSecondInstance, startTestApp, writeManifests, type TestApp } from '../testkit/app.js';
import { createWorkshop } from '../testkit/factories.js';

const ENROLL = `mutation ($input: EnrollInput!) { enroll(input: $input) { accepted } }`;
// The bounds are shared through Redis; a loaded test machine (PGlite runs in this process) can be late
// past the default 100 ms, which would count per instance and let the shared bound pass.
const LIMITS = { ENROLLMENTS_PER_IP_PER_HOUR: '3', ENROLLMENTS_PER_EMAIL_PER_HOUR: '2', REDIS_REQUEST_TIMEOUT_MS: '3000' };

/** Anyone may enroll anyone: anonymous enrollments are bounded per client address and per email, across instances (Redis). */
describe('enrollment bounds', () => {
  let a: TestApp;
  let b: TestApp;
  let redis: Redis;
  let workshops: string[];
  beforeAll(async () => {
    const namespace = `test-enroll-${randomBytes(4).toString('hex')}`;
    redis = connectRedis(process.env.TEST_REDIS_URL ?? 'redis://127.0.0.1:6379', createLogger('silent'))!;
    await once(redis, 'ready');
    a = await startTestApp({ redis, cacheNamespace: namespace, env: LIMITS, persisted: { acme: [ENROLL] } });
    b = await startSecondInstance(a, { redis, cacheNamespace: namespace, env: { ...LIMITS, PERSISTED_OPERATIONS_DIR: writeManifests({}), DEVELOPMENT_RELAXATIONS: 'true' } });
    workshops = await Promise.all(Array.from({ length: 4 }, async () => (await createWorkshop(a, { capacity: 50 })).id));
  });
  afterAll(async () => {
    await b?.close();
    await a?.close();
    redis?.disconnect();
  });

  /** An enrollment from `address` (as the socket peer), through instance `app`; HTTP status and error codes. */
  const enroll = async (app: TestApp, address: string, workshopId: string, email: string, key?: string) => {
    // The third argument is the server context the HTTP adapter would pass: the socket's peer address.
    const fetchWithPeer = app.yoga.fetch as unknown as (url: string, init: RequestInit, serverContext: unknown) => Promise<Response>;
    const response = await fetchWithPeer(
      'http://localhost/graphql',
      {
        method: 'POST',
        headers: { 'content-type': 'application/json', accept: 'application/graphql-response+json', ...(key ? { authorization: `Bearer ${key}` } : {}) },
        // Partners run persisted operations only.
        body: JSON.stringify({ ...(key === app.keys.partner ? { documentId: documentId(ENROLL) } : { query: ENROLL }), variables: { input: { workshopId, email, name: 'Someone', locale: 'EN' } } }),
      },
      { req: { socket: { remoteAddress: address } } },
    );
    const body = (await response.json()) as { errors?: { extensions?: { code?: string } }[] };
    return { status: response.status, codes: (body.errors ?? []).map((e) => e.extensions?.code) };
  };
  const ok = { status: 200, codes: [] };
  const limited = { status: 429, codes: ['RATE_LIMITED'] };
  const email = () => `bound-${randomBytes(4).toString('hex')}@example.com`;

  it('refuses the enrollments of one client address past its hourly bound, on any instance', async () => {
    const address = '198.51.100.7';
    expect(await enroll(a, address, workshops[0]!, email())).toEqual(ok);
    expect(await enroll(b, address, workshops[0]!, email())).toEqual(ok);
    expect(await enroll(a, address, workshops[1]!, email())).toEqual(ok);
    expect(await enroll(b, address, workshops[1]!, email())).toEqual(limited);
    expect(await enroll(a, '198.51.100.8', workshops[1]!, email())).toEqual(ok);
  });

  it('refuses enrollments naming one email past its hourly bound, whatever the address', async () => {
    const person = email();
    expect(await enroll(a, '203.0.113.1', workshops[0]!, person)).toEqual(ok);
    expect(await enroll(b, '203.0.113.2', workshops[1]!, person.toUpperCase())).toEqual(ok);
    expect(await enroll(a, '203.0.113.3', workshops[2]!, ` ${person}`)).toEqual(limited);
  });

  it('bounds partners per email (every enrollment may mail that address), not per address (their server enrolls many people)', async () => {
    const address = '192.0.2.44';
    for (let i = 0; i < 4; i++) expect(await enroll(a, address, workshops[i % 4]!, email(), a.keys.partner)).toEqual(ok);
    const person = email();
    expect(await enroll(a, address, workshops[0]!, person, a.keys.partner)).toEqual(ok);
    expect(await enroll(a, address, workshops[1]!, person, a.keys.partner)).toEqual(ok);
    expect(await enroll(a, address, workshops[2]!, person, a.keys.partner)).toEqual(limited);
  });

  it('does not bound editors enrolling people', async () => {
    const person = email();
    for (const workshop of workshops) expect(await enroll(a, '192.0.2.9', workshop, person, a.keys.editor)).toEqual(ok);
  });
});
