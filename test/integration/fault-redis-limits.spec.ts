import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connectRedis } from '../../src/infra/redis.js';
import { createLogger } from '../../src/infra/logger.js';
import { startTestApp, type TestApp } from '../testkit/app.js';
import { startRedisServer, type RedisServer } from '../testkit/processes.js';

const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)]!;

/**
 * Rate limits over a redis-server of the test's own (production's connection options), frozen and
 * killed under a request stream with the response cache off: nothing fails, and requests do not
 * wait out Redis's command timeout (the limiter's calls are bounded and behind a breaker).
 */
describe('rate limits while Redis is frozen or killed', () => {
  let redis: RedisServer;
  let app: TestApp;
  beforeAll(async () => {
    redis = await startRedisServer();
    app = await startTestApp({ redis: connectRedis(redis.url, createLogger('silent'))!, env: { RESPONSE_CACHE: 'false' } });
  });
  afterAll(async () => {
    await app?.close();
    await redis?.stop();
  });

  const stream = async (count: number) => {
    const times: number[] = [];
    const statuses: number[] = [];
    for (let i = 0; i < count; i++) {
      const started = performance.now();
      const response = await app.yoga.fetch('http://localhost/graphql', { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ query: '{ __typename }' }) });
      await response.text();
      statuses.push(response.status);
      times.push(performance.now() - started);
    }
    return { times, failed: statuses.filter((s) => s !== 200).length };
  };

  it('serves every request, at about the same median latency, while Redis is frozen and then killed', async () => {
    const before = await stream(40);
    redis.freeze();
    const frozen = await stream(40);
    redis.thaw();
    await redis.kill();
    const killed = await stream(40);
    await redis.start();
    expect([before.failed, frozen.failed, killed.failed]).toEqual([0, 0, 0]);
    expect(median(frozen.times)).toBeLessThan(median(before.times) + 50);
    expect(median(killed.times)).toBeLessThan(median(before.times) + 50);
  });
});
