import { Redis } from 'ioredis';
import { afterAll, describe, expect, it } from 'vitest';
import { startTestApp, type TestApp } from '../testkit/app.js';

const REDIS_URL = process.env.TEST_REDIS_URL ?? 'redis://127.0.0.1:6379';

describe('rate limits', () => {
  const apps: TestApp[] = [];
  const clients: Redis[] = [];
  afterAll(async () => {
    for (const app of apps) await app.close();
    for (const client of clients) client.disconnect();
  });

  for (const store of ['redis', 'memory'] as const) {
    it(`answers 429 with Retry-After and RATE_LIMITED past the limit (${store})`, async () => {
      let redis: Redis | undefined;
      if (store === 'redis') {
        redis = new Redis(REDIS_URL);
        clients.push(redis);
      }
      const perMinute = 3;
      const app = await startTestApp({
        redis,
        env: { TRUST_PROXY: 'true', LIMITS: JSON.stringify({ anonymous: { requestsPerMinute: perMinute }, editor: { requestsPerMinute: 1000 } }) },
      });
      apps.push(app);
      // A fresh client address per run: Redis windows outlive a run, and runs may overlap.
      const ip = `198.51.100.${Math.floor(Math.random() * 250)}-${Date.now()}`;
      const send = (headers: Record<string, string> = {}) =>
        app.yoga.fetch('http://localhost/graphql', {
          method: 'POST',
          headers: { 'content-type': 'application/json', accept: 'application/json', 'x-forwarded-for': ip, ...headers },
          body: JSON.stringify({ query: '{ __typename }' }),
        });
      const statuses: number[] = [];
      for (let i = 0; i < perMinute; i++) statuses.push((await send()).status);
      expect(statuses).toEqual([200, 200, 200]);
      const limited = await send();
      expect(limited.status).toBe(429);
      const retryAfter = Number(limited.headers.get('retry-after'));
      expect(retryAfter).toBeGreaterThan(0);
      expect(retryAfter).toBeLessThanOrEqual(60);
      const body = await limited.json();
      expect(body.errors[0].extensions).toMatchObject({ code: 'RATE_LIMITED', retryAfter });
      // Another address, and API keys, have budgets of their own.
      expect((await send({ 'x-forwarded-for': `${ip}-other` })).status).toBe(200);
      expect((await send({ authorization: `Bearer ${app.keys.editor}` })).status).toBe(200);
    });
  }
});
