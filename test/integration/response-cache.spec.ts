import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { dataOf, documentId, startSecondInstance, uniqueSlug, type TestApp } from '../testkit/app.js';
import { createLogger } from '../../src/infra/logger.js';
import { createServices } from '../../src/services.js';
import { decodeGlobalId } from '../../src/shared/ids.js';
import { TokenSigner } from '../../src/shared/tokens.js';
import { createWorkshop, enroll } from '../testkit/factories.js';
import { startInstancePair, type InstancePair } from '../testkit/instance-pair.js';


const PAGE = `query ($tag: String!) { workshops(first: 20, filter: { tag: $tag }) { totalCount edges { node { slug enrollmentCount } } } }`;
const BY_SLUG = `query ($slug: String!) { workshopBySlug(slug: $slug) { slug title } }`;
const MINE = `query ($t: String!) { mySubscription(token: $t) { name } }`;
const SEATS = `query ($slug: String!) { workshopBySlug(slug: $slug) { ...Seats } } fragment Seats on Workshop { slug seatsLeft }`;

const ENROLLEE_EMAILS = `query ($id: ID!) { workshop(id: $id) { enrollments(first: 5) { edges { node { subscriber { email } } } } } }`;

describe('response cache', () => {
  let pair: InstancePair;
  let a: TestApp;
  let b: TestApp;
  let redis: Redis;
  let namespace: string;

  beforeAll(async () => {
    pair = await startInstancePair('shared', { persisted: { web: [PAGE, BY_SLUG, MINE, SEATS], acme: [ENROLLEE_EMAILS] } });
    ({ a, b, redis, namespace } = pair);
  });
  afterAll(() => pair?.close());

  const slugsOf = (response: any) => response.workshops.edges.map((e: any) => e.node.slug);

  it('serves a repeated read from the cache without touching the database', async () => {
    const tag = 'testing';
    await createWorkshop(a, { tags: [tag] });
    dataOf(await a.gql(PAGE, { tag }));
    const statements = await a.statementsDuring(async () => dataOf(await a.gql(PAGE, { tag })));
    expect(statements).toEqual([]);
  });

  it('stores entries in Redis with millisecond TTLs, and tag sets that expire too', async () => {
    const tag = 'design';
    await createWorkshop(a, { tags: [tag] });
    dataOf(await a.gql(PAGE, { tag }));
    const entries = await redis.keys(`{${namespace}}:e:*`);
    expect(entries.length).toBeGreaterThan(0);
    const ttls = await Promise.all(entries.map((key) => redis.pttl(key)));
    // Workshop pages: 1 h, in milliseconds (a seconds/milliseconds mix-up would show 3.6 s or 41 days).
    expect(Math.max(...ttls)).toBeGreaterThan(59 * 60_000);
    expect(Math.max(...ttls)).toBeLessThanOrEqual(60 * 60_000);
    const tagSets = await redis.keys(`{${namespace}}:t:*`);
    expect(tagSets.length).toBeGreaterThan(0);
    for (const key of tagSets) expect(await redis.pttl(key)).toBeGreaterThan(0);
  });

  it('makes cached lists miss when a workshop is created, published, archived or deleted — even an empty list', async () => {
    const tag = 'devops';
    expect(dataOf(await a.gql(PAGE, { tag })).workshops.totalCount).toBe(0); // cached, empty
    const created = await createWorkshop(a, { tags: [tag] });
    expect(slugsOf(dataOf(await a.gql(PAGE, { tag })))).toEqual([created.slug]);
    expect(slugsOf(dataOf(await b.gql(PAGE, { tag })))).toEqual([created.slug]);

    dataOf(await a.gql(`mutation ($id: ID!) { archiveWorkshop(id: $id) { id } }`, { id: created.id }, { key: a.keys.editor }));
    expect(slugsOf(dataOf(await b.gql(PAGE, { tag })))).toEqual([]);
    dataOf(await a.gql(`mutation ($id: ID!) { publishWorkshop(id: $id) { id } }`, { id: created.id }, { key: a.keys.editor }));
    expect(slugsOf(dataOf(await b.gql(PAGE, { tag })))).toEqual([created.slug]);
    dataOf(await a.gql(`mutation ($id: ID!) { deleteWorkshop(id: $id) { id } }`, { id: created.id }, { key: a.keys.editor }));
    expect(slugsOf(dataOf(await b.gql(PAGE, { tag })))).toEqual([]);
  });

  it('never serves instance B a stale entry after a write on instance A', async () => {
    const { id } = await createWorkshop(a, { tags: ['frontend'], capacity: 50 });
    const q = `query ($id: ID!) { workshop(id: $id) { title enrollmentCount } }`;
    for (let round = 0; round < 10; round++) {
      // Both instances hold the entry in their local tier…
      dataOf(await a.gql(q, { id }));
      dataOf(await b.gql(q, { id }));
      // …A changes the workshop; B's next read must see it.
      await enroll(a, id, `round-${round}-${uniqueSlug()}@example.com`);
      dataOf(await a.gql(`mutation ($id: ID!, $t: String!) { updateWorkshop(id: $id, input: { title: { en: $t } }) { id } }`, { id, t: `Title ${round}` }, { key: a.keys.editor }));
      const seen = dataOf(await b.gql(q, { id })).workshop;
      expect(seen).toEqual({ title: `Title ${round}`, enrollmentCount: round + 1 });
    }
  });

  it('updates cached counts on every instance when someone enrolls (and nothing else changes)', async () => {
    const { id } = await createWorkshop(a, { tags: ['accessibility'], capacity: 50 });
    const q = `query ($id: ID!) { workshop(id: $id) { enrollmentCount } }`;
    for (let round = 1; round <= 5; round++) {
      dataOf(await a.gql(q, { id }));
      dataOf(await b.gql(q, { id }));
      await enroll(a, id, `count-${round}-${uniqueSlug()}@example.com`);
      expect(dataOf(await b.gql(q, { id })).workshop.enrollmentCount).toBe(round);
      expect(dataOf(await a.gql(q, { id })).workshop.enrollmentCount).toBe(round);
    }
  });

  it('invalidates on changes made through the service layer, not only through mutations', async () => {
    const { id, slug } = await createWorkshop(a, { tags: ['data'] });
    expect(dataOf(await b.gql(BY_SLUG, { slug })).workshopBySlug.title).toBe(`Workshop ${slug}`);
    // What a background job would do: call the service, with no GraphQL request around it.
    const services = createServices({ database: a.database, tokens: new TokenSigner('j'.repeat(32)), cache: a.cache, logger: createLogger('silent'), statisticsSchedule: null });
    const job = { kind: 'apiKey', keyId: 'job', name: 'job', role: 'ADMIN', client: null } as const;
    await services.workshops.update(job, decodeGlobalId(id).id, { title: { en: 'Changed by a job' } });
    expect(dataOf(await b.gql(BY_SLUG, { slug })).workshopBySlug.title).toBe('Changed by a job');
  });

  it('keeps volatile counts out of shared HTTP caches for long, though the server caches them for the hour', async () => {
    const { slug } = await createWorkshop(a, { tags: ['performance'] });
    const url = `http://localhost/graphql?documentId=${encodeURIComponent(documentId(SEATS))}&variables=${encodeURIComponent(JSON.stringify({ slug }))}`;
    await a.yoga.fetch(url, { headers: { accept: 'application/json' } }); // populate
    // seatsLeft (selected through a fragment) caps what browsers and CDNs may keep.
    const hit = await a.yoga.fetch(url, { headers: { accept: 'application/json' } });
    expect(hit.headers.get('cache-control')).toBe('public, max-age=30, stale-while-revalidate=30');
    const entries = await redis.keys(`{${namespace}}:e:*`);
    const ttls = await Promise.all(entries.map((key) => redis.pttl(key)));
    expect(Math.max(...ttls)).toBeGreaterThan(59 * 60_000); // server-side, the entry lives for the workshop's hour
  });

  it('never serves an answer cached by another build (the key holds the build and the schema hash)', async () => {
    const { slug } = await createWorkshop(a, { tags: ['backend'] });
    dataOf(await a.gql(BY_SLUG, { slug })); // cached in Redis by this build
    expect(await b.statementsDuring(() => b.gql(BY_SLUG, { slug }))).toEqual([]); // same build: a hit from Redis
    const next = await startSecondInstance(a, { redis, cacheNamespace: namespace, env: { BUILD_ID: 'the-next-deploy' } });
    try {
      expect(await next.statementsDuring(() => next.gql(BY_SLUG, { slug }))).not.toEqual([]);
    } finally {
      await next.close();
    }
  });

  it("refreshes hot preferences in the background and stores the fresh answer in Redis for every instance", async () => {
    const email = `hot-${uniqueSlug()}@example.com`;
    dataOf(await a.gql(`mutation ($input: SubscribeInput!) { subscribe(input: $input) { accepted } }`, { input: { email, locale: 'EN', topics: ['graphql'] } }));
    const { token } = await a.database.prisma.notification.findFirstOrThrow({ where: { subscriber: { email } } });
    const manage = dataOf(await a.gql(`mutation ($token: String!) { confirmSubscription(token: $token) { manageToken } }`, { token })).confirmSubscription.manageToken;
    const name = async (app: TestApp) => dataOf(await app.gql(MINE, { t: manage })).mySubscription.name;
    expect(await name(a)).toBeNull();
    await a.database.prisma.subscriber.update({ where: { email }, data: { name: 'Refreshed' } }); // no invalidation
    vi.useFakeTimers({ toFake: ['Date'] });
    try {
      vi.setSystemTime(Date.now() + 11 * 60_000);
      expect(await name(a)).toBeNull(); // served, and refreshed behind it
      let seen: string | null = null;
      for (let i = 0; i < 50 && seen !== 'Refreshed'; i++) {
        await new Promise((resolve) => setTimeout(resolve, 20));
        seen = await name(a);
      }
      expect(seen).toBe('Refreshed');
      // Instance B never read it: the refreshed entry comes from Redis, without touching the database.
      let fromB: string | null = null;
      expect(await b.statementsDuring(async () => void (fromB = await name(b)))).toEqual([]);
      expect(fromB).toBe('Refreshed');
    } finally {
      vi.useRealTimers();
    }
  });

  it('sends hits over HTTP as the stored bytes: same answer plain, gzipped, or as an event stream (for text/* too)', async () => {
    const tag = 'graphql';
    await createWorkshop(a, { tags: [tag] });
    const server = createServer(a.yoga);
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    try {
      const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/graphql`;
      const post = (headers: Record<string, string>) =>
        fetch(url, { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body: JSON.stringify({ query: PAGE, variables: { tag } }) });
      // The executed answer carries its cost report (extensions.cost); stored answers are the result alone.
      const { extensions, ...miss } = await (await post({ accept: 'application/json' })).json();
      expect(extensions.cost.requested).toBeGreaterThan(0);
      expect(miss.data.workshops.totalCount).toBeGreaterThan(0);
      const hit = await post({ accept: 'application/graphql-response+json', 'accept-encoding': 'gzip' });
      expect(hit.headers.get('etag')).toMatch(/^W\//);
      expect(await hit.json()).toEqual(miss); // fetch gunzips; a wrong length or encoding would fail here
      // Yoga answers `text/*` with an event stream too, and JSON whenever a JSON type is acceptable.
      for (const accept of ['text/event-stream', 'text/*']) {
        const stream = await post({ accept });
        expect(stream.headers.get('content-type')).toMatch(/text\/event-stream/);
        const event = /data: (.+)/.exec(await stream.text())?.[1];
        expect(JSON.parse(event!)).toEqual(miss);
      }
      const json = await post({ accept: 'multipart/mixed, application/json' });
      expect([json.headers.get('content-type'), await json.json()]).toEqual(['application/json; charset=utf-8', miss]);
    } finally {
      await new Promise((resolve) => server.close(resolve));
    }
  });

  it('keeps cached answers apart per locale taken from Accept-Language', async () => {
    const { slug } = await createWorkshop(a);
    const title = async (app: TestApp, language: string) => dataOf(await app.gql(BY_SLUG, { slug }, { headers: { 'accept-language': language } })).workshopBySlug.title;
    expect(await title(a, 'pl')).toBe(`Warsztat ${slug}`);
    expect(await title(a, 'en')).toBe(`Workshop ${slug}`);
    expect(await title(b, 'pl-PL,pl;q=0.9')).toBe(`Warsztat ${slug}`);
    expect(await title(b, 'de')).toBe(`Workshop ${slug}`);
  });

  it("never gives one principal's cached personal data to another", async () => {
    const { id } = await createWorkshop(a, { tags: ['security'] });
    await enroll(a, id, `private-${uniqueSlug()}@example.com`);
    const q = ENROLLEE_EMAILS;
    const editorView = dataOf(await a.gql(q, { id }, { key: a.keys.editor }));
    expect(JSON.stringify(editorView)).toContain('@example.com');
    for (const instance of [a, b]) {
      const anonymous = await instance.gql(q, { id });
      expect(JSON.stringify(anonymous)).not.toContain('@example.com');
      expect(anonymous.errors?.[0]?.extensions?.code).toBe('FORBIDDEN');
      // Through the partner's manifest: a document would stop at PERSISTED_QUERY_ONLY before any data.
      const partner = await instance.gql(q, { id }, { key: a.keys.partner, persisted: true });
      expect(JSON.stringify(partner)).not.toContain('@example.com');
      expect(partner.errors?.[0]?.extensions?.code).toBe('FORBIDDEN');
    }
  });

  it('sends a body-hash ETag, answers If-None-Match with 304, and a changed body gets a new ETag', async () => {
    const { id, slug } = await createWorkshop(a, { tags: ['product'] });
    const url = `http://localhost/graphql?documentId=${encodeURIComponent(documentId(BY_SLUG))}&variables=${encodeURIComponent(JSON.stringify({ slug }))}`;
    const get = (headers: Record<string, string> = {}) => a.yoga.fetch(url, { headers: { accept: 'application/json', ...headers } });
    await get(); // populate
    const first = await get();
    const etag = first.headers.get('etag')!;
    expect(etag).toMatch(/^W\/"/);
    const maxAge = Number(/public, max-age=(\d+)/.exec(first.headers.get('cache-control') ?? '')?.[1]);
    expect(maxAge).toBeGreaterThan(3500);
    expect(maxAge).toBeLessThanOrEqual(3600);
    expect(first.headers.get('vary')).toMatch(/Accept-Language, Authorization/);
    expect((await get({ 'if-none-match': etag })).status).toBe(304);

    dataOf(await a.gql(`mutation ($id: ID!) { updateWorkshop(id: $id, input: { title: { en: "New title" } }) { id } }`, { id }, { key: a.keys.editor }));
    const after = await get({ 'if-none-match': etag });
    expect(after.status).toBe(200);
    expect((await after.json()).data.workshopBySlug.title).toBe('New title');

    const authenticated = await a.yoga.fetch(url, { headers: { accept: 'application/json', authorization: `Bearer ${a.keys.editor}` } });
    expect(authenticated.headers.get('cache-control')).toBe('private, no-store');

    // A person's own data never goes to shared caches, though the request is anonymous and persisted.
    const email = `cdn-${uniqueSlug()}@example.com`;
    dataOf(await a.gql(`mutation ($input: SubscribeInput!) { subscribe(input: $input) { accepted } }`, { input: { email, locale: 'EN', topics: ['graphql'] } }));
    const { token } = await a.database.prisma.notification.findFirstOrThrow({ where: { subscriber: { email } } });
    const manage = dataOf(await a.gql(`mutation ($token: String!) { confirmSubscription(token: $token) { manageToken } }`, { token })).confirmSubscription.manageToken;
    const mine = `http://localhost/graphql?documentId=${encodeURIComponent(documentId(MINE))}&variables=${encodeURIComponent(JSON.stringify({ t: manage }))}`;
    for (let i = 0; i < 2; i++) {
      const personal = await a.yoga.fetch(mine, { headers: { accept: 'application/json' } });
      expect(personal.status).toBe(200);
      expect(personal.headers.get('cache-control')).toBe('private, no-store');
    }
  });
});
