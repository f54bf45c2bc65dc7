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
  async function serve(options: { redis?: Redis; trustProxy?: string; limits?: Record<string, Record<string, number>> }) {
    const app = await startTestApp({
      redis: options.redis,
      env: {
        ...(options.trustProxy ? { TRUST_PROXY: options.trustProxy } : {}),
        LIMITS: JSON.stringify(options.limits ?? { anonymous: { requestsPerMinute: perMinute }, editor: { requestsPerMinute: 1000 } }),
      },
    });
    apps.push(app);
    const server = createServer(app.yoga);
    servers.push(server);
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/graphql`;
    const send = (headers: Record<string, string> = {}, query = '{ __typename }') =>
      fetch(url, { method: 'POST', headers: { 'content-type': 'application/json', accept: 'application/json', ...headers }, body: JSON.stringify({ query }) });
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

  it('answers a bad API key with 401, counts it against the address, and looks each key up once', async () => {
    const { app, send } = await serve({});
    const made = () => `wk_${Math.random().toString(36).slice(2)}`;
    const editor = { authorization: `Bearer ${app.keys.editor}` };
    expect((await send(editor)).status).toBe(200);
    const first = made();
    const lookups = await app.statementsDuring(async () => {
      const refused = await send({ authorization: `Bearer ${first}` });
      expect(refused.status).toBe(401);
      expect(refused.headers.get('www-authenticate')).toBe('Bearer');
      expect((await refused.json()).errors[0].extensions.code).toBe('UNAUTHENTICATED');
    });
    expect(lookups.length).toBe(1);
    // The same bad key again: remembered, no lookup; and it used the address's budget.
    expect(await app.statementsDuring(async () => expect((await send({ authorization: `Bearer ${first}` })).status).toBe(401))).toEqual([]);
    expect((await send({ authorization: 'Basic eDp5' })).status).toBe(401);
    // The address has spent its 3 requests on bad keys: a new made-up key is refused before any lookup.
    expect(await app.statementsDuring(async () => expect((await send({ authorization: `Bearer ${made()}` })).status).toBe(429))).toEqual([]);
    expect((await send()).status).toBe(429);
    // A known key still works (its own budget), still from the key cache: bad keys are remembered apart.
    expect(await app.statementsDuring(async () => expect((await send(editor)).status).toBe(200))).toEqual([]);
  });

  it('charges each executed operation its cost against a per-minute budget, reported in extensions.cost', async () => {
    // { workshops(first: 10) { edges { node { id title } } } } costs 1 + 10 × (1 + 1 + 2) = 41 or so; a budget of 100 fits two.
    const { send } = await serve({ limits: { anonymous: { costPerMinute: 100 } } });
    // Named apart, so that none is answered from the response cache (cached answers cost nothing).
    const query = (name: string) => `query ${name} { workshops(first: 10) { edges { node { id title } } } }`;
    const first = await (await send({}, query('A'))).json();
    expect(first.errors).toBeUndefined();
    const { requested, remaining, resetAt } = first.extensions.cost;
    expect(requested).toBeGreaterThan(20);
    expect(remaining).toBe(100 - requested);
    expect(Date.parse(resetAt) - Date.now()).toBeGreaterThan(0);
    expect(Date.parse(resetAt) - Date.now()).toBeLessThanOrEqual(60_000);
    const second = await (await send({}, query('B'))).json();
    expect(second.extensions.cost.remaining).toBe(100 - 2 * requested);
    // The third does not fit: refused before execution, with the seconds until the window resets.
    const limited = await send({}, query('C'));
    expect(limited.status).toBe(429);
    expect(Number(limited.headers.get('retry-after'))).toBeGreaterThan(0);
    const body = await limited.json();
    expect(body.data).toBeUndefined();
    expect(body.errors[0].extensions.code).toBe('RATE_LIMITED');
    // A cheap query still fits what is left.
    expect((await send({}, '{ __typename }')).status).toBe(200);
  });
});
