import { once } from 'node:events';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { createLogger } from '../../src/infra/logger.js';
import { connectRedis } from '../../src/infra/redis.js';
import { codesOf, dataOf, documentId, startTestApp, uniqueSlug, type TestApp } from '../testkit/app.js';
import { createWorkshop } from '../testkit/factories.js';
import { waitFor } from '../testkit/processes.js';
import { PRODUCTION_MAIL_ENV } from '../testkit/production-env.js';

const REDIS_URL = process.env.TEST_REDIS_URL ?? 'redis://127.0.0.1:6379';

const PAGE = `query TaggedPage($tag: String!) { workshops(first: 20, filter: { tag: $tag }) { totalCount edges { node { slug title description startsAt } } } }`;
const BY_SLUG = `query WorkshopBySlug($slug: String!) { workshopBySlug(slug: $slug) { slug title } }`;
const MINE = `query MySubscription($t: String!) { mySubscription(token: $t) { name } }`;
const PARTNER_LIST = `query PartnerList { workshops(first: 2) { totalCount } }`;
const PERSISTED = { web: [PAGE, BY_SLUG, MINE], acme: [PARTNER_LIST] };

/** The anonymous persisted GET the web app sends. */
const pageUrl = (base: string, document: string, variables?: Record<string, unknown>) =>
  `${base}/graphql?documentId=${encodeURIComponent(documentId(document))}${variables ? `&variables=${encodeURIComponent(JSON.stringify(variables))}` : ''}`;

/**
 * The same request as `accept` asks, answered by the whole pipeline: an Accept that also names
 * text/event-stream keeps it off the fast lane, and Yoga still answers with the JSON type of the
 * first entry (its JSON result processor is tried last and takes the first entry it matches).
 */
const throughThePipeline = (accept = '*/*') => ({ accept: `${accept}, text/event-stream` });

/** How many answers the fast lane has sent (response_cache_early_answers_total). */
async function earlyAnswers(app: TestApp): Promise<number> {
  const text = await (await app.yoga.fetch('http://localhost/metrics', { headers: { authorization: `Bearer ${app.keys.admin}` } })).text();
  return Number(/^response_cache_early_answers_total (\d+)/m.exec(text)?.[1]);
}

/** Runs `work` and returns how many answers the fast lane sent meanwhile. */
async function earlyDuring(app: TestApp, work: () => Promise<unknown>): Promise<number> {
  const before = await earlyAnswers(app);
  await work();
  return (await earlyAnswers(app)) - before;
}

type Line = Record<string, any>;

async function listen(app: TestApp): Promise<{ server: Server; base: string }> {
  const server = createServer(app.yoga);
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  return { server, base: `http://127.0.0.1:${(server.address() as AddressInfo).port}` };
}

/** The headers both lanes must agree on; max-age counts down in whole seconds between two requests. */
function comparable(response: Response) {
  const header = (name: string) => response.headers.get(name);
  return {
    status: response.status,
    contentType: header('content-type'),
    cacheControl: header('cache-control')?.replace(/max-age=\d+/, 'max-age=N'),
    vary: header('vary'),
    etag: header('etag'),
    contentEncoding: header('content-encoding'),
    requestId: header('x-request-id'),
  };
}

describe('response cache fast lane (anonymous persisted GET hits)', () => {
  let redis: Redis;
  let app: TestApp;
  let base: string;
  let server: Server;
  const log: Line[] = [];
  const accessLines = () => log.filter((line) => line.msg === 'graphql request');

  beforeAll(async () => {
    redis = connectRedis(REDIS_URL, createLogger('silent'))! as Redis;
    await once(redis, 'ready');
    app = await startTestApp({ redis, persisted: PERSISTED, logger: createLogger('info', { write: (line: string) => void log.push(JSON.parse(line)) }) });
    ({ server, base } = await listen(app));
  });
  afterAll(async () => {
    await new Promise((resolve) => server?.close(resolve));
    await app?.close();
    redis?.disconnect();
  });

  it('answers a hit with the bytes and headers the whole pipeline sends, for each Accept Yoga answers with JSON, without SQL', async () => {
    const tag = 'testing'; // no other test here uses this topic
    for (let i = 0; i < 8; i++) await createWorkshop(app, { tags: [tag], descriptionEn: `A hands-on session, part ${i}, long enough to make the page worth compressing.` });
    const url = pageUrl(base, PAGE, { tag });
    const first = await fetch(url, { headers: { accept: 'application/json' } });
    expect(first.status).toBe(200);
    expect((await first.json()).data.workshops.totalCount).toBe(8); // a miss: executed and stored

    const accepts = [undefined, '*/*', 'application/json', 'application/graphql-response+json', 'application/graphql-response+json, application/json', 'application/json;q=0.9, application/graphql-response+json', 'application/*'];
    for (const accept of accepts) {
      for (const encoding of ['identity', 'gzip']) {
        const headers = { ...(accept ? { accept } : {}), 'accept-encoding': encoding, 'x-request-id': `req-${encoding}` };
        let full!: Response;
        let early!: Response;
        expect(await earlyDuring(app, async () => (full = await fetch(url, { headers: { ...headers, ...throughThePipeline(accept) } })))).toBe(0);
        let statements: string[] = [];
        expect(await earlyDuring(app, async () => (statements = await app.statementsDuring(async () => (early = await fetch(url, { headers })))))).toBe(1);
        expect(statements).toEqual([]);
        expect({ accept, encoding, ...comparable(early) }).toEqual({ accept, encoding, ...comparable(full) });
        expect(await early.text()).toBe(await full.text());
        if (encoding === 'gzip') expect(early.headers.get('content-encoding')).toBe('gzip');
        expect(early.headers.get('cache-control')).toMatch(/^public, max-age=\d+$/);
      }
    }
    // And the media type is Yoga's: application/json for wildcards, else the first JSON type asked for.
    const typeFor = async (accept: string) => (await fetch(url, { headers: { accept } })).headers.get('content-type');
    expect(await typeFor('*/*')).toBe('application/json; charset=utf-8');
    expect(await typeFor('application/graphql-response+json, application/json')).toBe('application/graphql-response+json; charset=utf-8');
  });

  it('compresses hits on both lanes with br and gzip, and an entry stored after a write is compressed anew', async () => {
    const tag = 'security'; // no other test here uses this topic
    for (let i = 0; i < 6; i++) await createWorkshop(app, { tags: [tag], descriptionEn: `Threat modelling, part ${i}, long enough to make the page worth compressing.` });
    const url = pageUrl(base, PAGE, { tag });
    const hitsCompressed = async (totalCount: number) => {
      await fetch(url).then((miss) => miss.text()); // executed (with its cost) and stored
      const plain = await fetch(url, { headers: { 'accept-encoding': 'identity' } });
      expect(plain.headers.get('content-encoding')).toBeNull();
      const body = await plain.text();
      expect(JSON.parse(body).data.workshops.totalCount).toBe(totalCount);
      for (const encoding of ['br', 'gzip', 'br']) {
        for (const lane of [{}, throughThePipeline()]) {
          const response = await fetch(url, { headers: { 'accept-encoding': encoding, ...lane } });
          expect(response.headers.get('content-encoding')).toBe(encoding);
          expect(Number(response.headers.get('content-length'))).toBeLessThan(body.length / 2);
          expect(await response.text()).toBe(body); // decompressed by fetch
        }
      }
    };
    await hitsCompressed(6);
    await createWorkshop(app, { tags: [tag] }); // evicts the page: the next read stores a new entry
    await hitsCompressed(7);
  });

  it('leaves streamed answers, POSTs and keyed requests to the pipeline, and never serves a keyed request the anonymous entry', async () => {
    const { slug } = await createWorkshop(app);
    const url = pageUrl(base, BY_SLUG, { slug });
    await fetch(url, { headers: { accept: 'application/json' } }).then((r) => r.text()); // populate the anonymous entry
    expect(await earlyDuring(app, () => fetch(url, { headers: { accept: 'text/event-stream' } }).then((r) => r.text()))).toBe(0);
    expect(await earlyDuring(app, () => app.gql(BY_SLUG, { slug }, { persisted: true }))).toBe(0);

    let keyed!: Response;
    let statements: string[] = [];
    const early = await earlyDuring(app, async () => {
      statements = await app.statementsDuring(async () => (keyed = await fetch(url, { headers: { accept: 'application/json', authorization: `Bearer ${app.keys.editor}` } })));
    });
    expect(early).toBe(0);
    expect(statements).not.toEqual([]); // the key's own scope: a miss, executed
    expect(keyed.headers.get('cache-control')).toBe('private, no-store');
    expect((await keyed.json()).extensions.cost.requested).toBeGreaterThan(0);
  });

  it("never answers an anonymous caller with a partner's operation, though the anonymous scope holds its answer", async () => {
    // Relaxed, anonymous callers may send the document itself: that stores an answer under the very key
    // the partner's persisted id would look up for them.
    dataOf(await app.gql(PARTNER_LIST));
    expect(await app.statementsDuring(() => app.gql(PARTNER_LIST))).toEqual([]);
    const url = pageUrl(base, PARTNER_LIST);
    let early!: Response;
    expect(await earlyDuring(app, async () => (early = await fetch(url, { headers: { accept: 'application/json' } })))).toBe(0);
    const full = await fetch(url, { headers: throughThePipeline('application/json') });
    const body = await early.json();
    expect(codesOf(body)).toEqual(['PERSISTED_QUERY_NOT_FOUND']);
    expect(body).toEqual(await full.json());
    expect(early.status).toBe(full.status);
  });

  it('answers If-None-Match with 304', async () => {
    const { slug } = await createWorkshop(app);
    const url = pageUrl(base, BY_SLUG, { slug });
    await fetch(url, { headers: { accept: 'application/json' } }).then((r) => r.text()); // populate
    const etag = (await fetch(url, { headers: { accept: 'application/json' } })).headers.get('etag')!;
    expect(etag).toMatch(/^W\/"/);
    let revalidated!: Response;
    expect(await earlyDuring(app, async () => (revalidated = await fetch(url, { headers: { accept: 'application/json', 'if-none-match': etag } })))).toBe(1);
    expect(revalidated.status).toBe(304);
    expect(revalidated.headers.get('etag')).toBe(etag);
    expect(revalidated.headers.get('cache-control')).toMatch(/^public, max-age=\d+$/);
    expect(await revalidated.text()).toBe('');
  });

  it("answers each locale's entry as Accept-Language picks it", async () => {
    const { slug } = await createWorkshop(app);
    const url = pageUrl(base, BY_SLUG, { slug });
    const title = async (language: string) => (await (await fetch(url, { headers: { accept: 'application/json', 'accept-language': language } })).json()).data.workshopBySlug.title;
    expect(await title('pl')).toBe(`Warsztat ${slug}`); // populate both
    expect(await title('en')).toBe(`Workshop ${slug}`);
    let titles: string[] = [];
    const early = await earlyDuring(app, async () => (titles = [await title('pl-PL,pl;q=0.9'), await title('en-GB'), await title('de')]));
    expect(early).toBe(3);
    expect(titles).toEqual([`Warsztat ${slug}`, `Workshop ${slug}`, `Workshop ${slug}`]);
  });

  it('logs and measures an early answer as a cache hit of the persisted operation, like the pipeline does', async () => {
    const { slug } = await createWorkshop(app);
    const url = pageUrl(base, BY_SLUG, { slug });
    await fetch(url, { headers: { accept: 'application/json' } }).then((r) => r.text());
    expect(await earlyDuring(app, () => fetch(url, { headers: { ...throughThePipeline('application/json'), 'x-request-id': 'through-pipeline' } }).then((r) => r.text()))).toBe(0);
    expect(await earlyDuring(app, () => fetch(url, { headers: { accept: 'application/json', 'x-request-id': 'fast-lane' } }).then((r) => r.text()))).toBe(1);
    const byId = (id: string) => accessLines().find((line) => line.reqId === id)!;
    const { ms: _a, reqId: _b, time: _c, ...early } = byId('fast-lane');
    const { ms: _d, reqId: _e, time: _f, ...full } = byId('through-pipeline');
    expect(early).toMatchObject({ msg: 'graphql request', method: 'GET', operation: 'web/WorkshopBySlug', status: 200, cache: 'hit', principal: 'anonymous' });
    expect(early).toEqual(full);
    const metrics = await (await app.yoga.fetch('http://localhost/metrics', { headers: { authorization: `Bearer ${app.keys.admin}` } })).text();
    expect(metrics).toMatch(/^graphql_request_duration_seconds_count\{operation="web\/WorkshopBySlug",status="200"\} [1-9]/m);
  });

  it('refreshes a hit due for refresh-ahead in the background', async () => {
    const email = `hot-${uniqueSlug()}@example.com`;
    dataOf(await app.gql(`mutation ($input: SubscribeInput!) { subscribe(input: $input) { accepted } }`, { input: { email, locale: 'EN', topics: ['graphql'] } }));
    const { token } = await app.database.prisma.notification.findFirstOrThrow({ where: { subscriber: { email } } });
    const manage = dataOf(await app.gql(`mutation ($token: String!) { confirmSubscription(token: $token) { manageToken } }`, { token })).confirmSubscription.manageToken;
    const url = pageUrl(base, MINE, { t: manage });
    const name = async () => (await (await fetch(url, { headers: { accept: 'application/json' } })).json()).data.mySubscription.name;
    expect(await name()).toBeNull();
    await app.database.prisma.subscriber.update({ where: { email }, data: { name: 'Refreshed' } }); // no invalidation
    vi.useFakeTimers({ toFake: ['Date'] });
    try {
      vi.setSystemTime(Date.now() + 11 * 60_000);
      let first: string | null = 'unset';
      expect(await earlyDuring(app, async () => (first = await name()))).toBe(1);
      expect(first).toBeNull(); // served, and refreshed behind it
      await waitFor('the background refresh', async () => (await name()) === 'Refreshed', 1000, 20);
    } finally {
      vi.useRealTimers();
    }
  });
});

describe('response cache fast lane: the checks before it', () => {
  let redis: Redis;
  beforeAll(async () => {
    redis = connectRedis(REDIS_URL, createLogger('silent'))! as Redis;
    await once(redis, 'ready');
  });
  afterAll(() => redis?.disconnect());

  it('counts an early answer against the anonymous request budget, a miss it leaves to the pipeline once, and refuses past it as the pipeline does', async () => {
    const app = await startTestApp({ redis, persisted: PERSISTED, env: { LIMITS: JSON.stringify({ anonymous: { requestsPerMinute: 4 } }) } });
    const { server, base } = await listen(app);
    try {
      const { slug } = await createWorkshop(app);
      const url = pageUrl(base, BY_SLUG, { slug });
      const get = (headers: Record<string, string> = {}) => fetch(url, { headers: { accept: 'application/json', ...headers } });
      // 1 miss (looked up by the fast lane, then executed by the pipeline) + 3 early answers: 4 requests, each counted once.
      expect((await get()).status).toBe(200);
      let statuses: number[] = [];
      expect(await earlyDuring(app, async () => (statuses = [(await get()).status, (await get()).status, (await get()).status]))).toBe(3);
      expect(statuses).toEqual([200, 200, 200]);
      // The budget is used up: refused, with what the pipeline answers.
      let refused!: Response;
      expect(await earlyDuring(app, async () => (refused = await get()))).toBe(0);
      const full = await get(throughThePipeline('application/json'));
      expect(refused.status).toBe(429);
      expect(Number(refused.headers.get('retry-after'))).toBeGreaterThan(0);
      const body = await refused.json();
      expect(codesOf(body)).toEqual(['RATE_LIMITED']);
      expect(full.status).toBe(429);
      expect(body).toEqual(await full.json());
    } finally {
      await new Promise((resolve) => server.close(resolve));
      await app.close();
    }
  });

  // Production mode (CSRF prevention on) needs a DATABASE_URL: the embedded database is always relaxed.
  it.skipIf(process.env.TEST_DB === 'embedded')('refuses a GET without the CSRF header as before, though its answer is cached', async () => {
    const app = await startTestApp({ redis, persisted: PERSISTED, env: { NODE_ENV: 'production', ...PRODUCTION_MAIL_ENV, TOKEN_SECRET: 'p'.repeat(40) } });
    const { server, base } = await listen(app);
    try {
      const { slug } = await createWorkshop(app);
      const url = pageUrl(base, BY_SLUG, { slug });
      const get = (headers: Record<string, string> = {}) => fetch(url, { headers: { accept: 'application/json', ...headers } });
      expect((await get({ 'x-graphql-csrf': '1' })).status).toBe(200); // populate
      expect(await earlyDuring(app, () => get({ 'x-graphql-csrf': '1' }).then((r) => r.text()))).toBe(1);
      let refused!: Response;
      expect(await earlyDuring(app, async () => (refused = await get()))).toBe(0);
      const full = await get(throughThePipeline('application/json'));
      expect(refused.status).toBe(403);
      expect(full.status).toBe(403);
      expect(await refused.text()).toBe(await full.text());
    } finally {
      await new Promise((resolve) => server.close(resolve));
      await app.close();
    }
  });
});
