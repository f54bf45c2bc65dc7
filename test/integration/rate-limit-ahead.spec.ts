import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestApp, type TestApp } from '../testkit/app.js';
import { startRedisServer, waitFor, type RedisServer } from '../testkit/processes.js';

/** 1 % of it (10 requests) may be admitted ahead of Redis per instance. */
const PER_MINUTE = 1000;
const AHEAD = PER_MINUTE / 100;

/**
 * A busy caller's requests are admitted from what Redis last answered plus what this instance
 * admitted since, and written to Redis every 100 ms (src/infra/rate-window.ts). Over a redis-server
 * of the test's own, so its command count is this test's alone.
 */
describe('rate limits counted ahead of Redis', () => {
  let server: RedisServer;
  let probe: Redis;
  const apps: TestApp[] = [];
  beforeAll(async () => {
    server = await startRedisServer();
    probe = new Redis(server.url);
  });
  afterAll(async () => {
    for (const app of apps) await app.close();
    probe?.disconnect();
    await server?.stop();
  });

  const instance = async () => {
    const app = await startTestApp({
      redis: new Redis(server.url),
      cacheNamespace: 'ahead',
      env: { RESPONSE_CACHE: 'false', LIMITS: JSON.stringify({ anonymous: { requestsPerMinute: PER_MINUTE, costPerMinute: 10 * PER_MINUTE } }) },
    });
    apps.push(app);
    return async (count: number) => {
      const statuses: number[] = [];
      for (let i = 0; i < count; i++) {
        const response = await app.yoga.fetch('http://localhost/graphql', { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ query: '{ __typename }' }) });
        await response.text();
        statuses.push(response.status);
      }
      return statuses;
    };
  };
  const limiterCalls = async () => {
    const stats = await probe.info('commandstats');
    return [...stats.matchAll(/^cmdstat_(?:eval|evalsha):calls=(\d+)/gm)].reduce((sum, [, calls]) => sum + Number(calls), 0);
  };
  const counted = async () => {
    const [key] = await probe.keys('ahead:rl:anonymous:*');
    return Number(await probe.get(key!));
  };

  it('costs Redis a fraction of a command per request, writes the exact count, and overshoots by at most 1 % per instance', async () => {
    const first = await instance();
    const before = await limiterCalls();
    expect(await first(500)).toEqual(Array(500).fill(200));
    // Request count and cost budget together: two windows, each counted by Redis about once per 1 % of its points.
    expect(await limiterCalls() - before).toBeLessThan(500 / 4);
    await waitFor('the count written', async () => (await counted()) === 500, 2_000);

    // Another instance on the same Redis starts from that count: it admits the other 500, exactly, then refuses.
    const second = await instance();
    const statuses = await second(501);
    expect(statuses.filter((s) => s === 200).length).toBe(500);
    expect(statuses.at(-1)).toBe(429);

    // The first still believes 500 were counted: it admits at most its 1 % ahead of Redis, then Redis refuses.
    const late = await first(AHEAD + 5);
    expect(late.filter((s) => s === 200).length).toBeLessThanOrEqual(AHEAD);
    expect(late.slice(-5)).toEqual(Array(5).fill(429));
    await waitFor('the overshoot written', async () => (await counted()) === PER_MINUTE + AHEAD + 5 + 1, 2_000);
  });
});
