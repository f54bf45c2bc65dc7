import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Redis } from 'ioredis';
import { afterAll, describe, expect, it } from 'vitest';
import { startTestApp, type TestApp } from '../testkit/app.js';

const REDIS_URL = process.env.TEST_REDIS_URL ?? 'redis://127.0.0.1:6379';

/**
 * Over real HTTP, so the socket peer (127.0.0.1, standing in for the load balancer) is what the
 * limiter sees; X-Forwarded-For is what a client and a proxy in front of us would write.
 */
describe('rate limits', () => {
  const apps: TestApp[] = [];
  const servers: Server[] = [];
  const clients: Redis[] = [];
  afterAll(async () => {
    for (const server of servers) server.close();
    for (const app of apps) await app.close();
    for (const client of clients) client.disconnect();
  });

  const perMinute = 3;
  async function serve(options: { redis?: Redis; trustProxy?: string }) {
    const app = await startTestApp({
      redis: options.redis,
      env: {
        ...(options.trustProxy ? { TRUST_PROXY: options.trustProxy } : {}),
        LIMITS: JSON.stringify({ anonymous: { requestsPerMinute: perMinute }, editor: { requestsPerMinute: 1000 } }),
      },
    });
    apps.push(app);
    const server = createServer(app.yoga);
    servers.push(server);
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/graphql`;
    const send = (headers: Record<string, string> = {}) =>
      fetch(url, { method: 'POST', headers: { 'content-type': 'application/json', accept: 'application/json', ...headers }, body: JSON.stringify({ query: '{ __typename }' }) });
    return { app, send };
  }
  /** What a client cannot help writing: a different left-most X-Forwarded-For entry on every request. */
  const spoofed = () => `203.0.113.${Math.floor(Math.random() * 250)}, 10.${Math.floor(Math.random() * 250)}.0.1`;

  for (const store of ['redis', 'memory'] as const) {
    it(`answers 429 with Retry-After and RATE_LIMITED past the limit, whatever the client writes in X-Forwarded-For (${store})`, async () => {
      let redis: Redis | undefined;
      if (store === 'redis') {
        redis = new Redis(REDIS_URL);
        clients.push(redis);
      }
      // One trusted hop: the load balancer appended the client's real address (the right-most entry).
      const { app, send } = await serve({ redis, trustProxy: '1' });
      const from = (client: string) => ({ 'x-forwarded-for': `${spoofed()}, ${client}` });
      const statuses: number[] = [];
      for (let i = 0; i < perMinute; i++) statuses.push((await send(from('198.51.100.7'))).status);
      expect(statuses).toEqual([200, 200, 200]);
      const limited = await send(from('198.51.100.7'));
      expect(limited.status).toBe(429);
      const retryAfter = Number(limited.headers.get('retry-after'));
      expect(retryAfter).toBeGreaterThan(0);
      expect(retryAfter).toBeLessThanOrEqual(60);
      const body = await limited.json();
      expect(body.errors[0].extensions).toMatchObject({ code: 'RATE_LIMITED', retryAfter });
      // Another address, and API keys, have budgets of their own.
      expect((await send(from('198.51.100.8'))).status).toBe(200);
      expect((await send({ ...from('198.51.100.7'), authorization: `Bearer ${app.keys.editor}` })).status).toBe(200);
    });
  }

  it('ignores X-Forwarded-For without TRUST_PROXY: the socket peer is the client', async () => {
    const { send } = await serve({});
    const statuses: number[] = [];
    for (let i = 0; i <= perMinute; i++) statuses.push((await send({ 'x-forwarded-for': spoofed() })).status);
    expect(statuses).toEqual([200, 200, 200, 429]);
  });

  it('trusts only the listed proxies: an untrusted hop is the client', async () => {
    // Loopback (our load balancer) is trusted, 10.0.0.0/8 is not, so 10.1.1.1 is where counting stops.
    const { send } = await serve({ trustProxy: 'loopback' });
    const statuses: number[] = [];
    for (let i = 0; i <= perMinute; i++) statuses.push((await send({ 'x-forwarded-for': `${spoofed()}, 10.1.1.1` })).status);
    expect(statuses).toEqual([200, 200, 200, 429]);
  });

  it('counts an IPv6 client by its /64: rotating the interface id gets no fresh budget', async () => {
    const { send } = await serve({ trustProxy: '1' });
    const statuses: number[] = [];
    for (let i = 1; i <= perMinute + 1; i++) statuses.push((await send({ 'x-forwarded-for': `2001:db8:1:2::${i.toString(16)}` })).status);
    expect(statuses).toEqual([200, 200, 200, 429]);
    expect((await send({ 'x-forwarded-for': '2001:db8:1:3::1' })).status).toBe(200);
  });
});
