import { randomBytes } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createJobSystem, type JobSystem } from '../../src/infra/jobs/index.js';
import { createLogger } from '../../src/infra/logger.js';
import { connectRedis, type RedisClient } from '../../src/infra/redis.js';
import { dataOf, documentId, startTestApp, type TestApp } from '../testkit/app.js';
import { startTestBackground } from '../testkit/background.js';
import { createWorkshop, enroll } from '../testkit/factories.js';
import { startInstancePair, type InstancePair } from '../testkit/instance-pair.js';
import { waitFor } from '../testkit/processes.js';
import { startRedisCluster, type RedisClusterProcesses } from '../testkit/redis-cluster.js';
import { startSmtpServer, type TestSmtpServer } from '../testkit/smtp.js';
import { subscribe, type SseSubscription } from '../testkit/sse.js';

const TITLE = `query ($id: ID!) { workshop(id: $id) { id title } }`;
const UPDATE = `mutation ($id: ID!, $input: UpdateWorkshopInput!) { updateWorkshop(id: $id, input: $input) { id } }`;
const PING = `{ __typename }`;
const FOLLOW = `subscription ($id: ID!) { workshopChanged(id: $id) { id title } }`;
const SUBSCRIBE = `mutation ($input: SubscribeInput!) { subscribe(input: $input) { accepted } }`;
/** The partner tier's request budget here (LIMITS), against the instances' shared counter. */
const PARTNER_PER_MINUTE = 4;

/** `n` documents reading the same workshop, each its own cache entry (its own key, so its own shard). */
const variants = (n: number) => Array.from({ length: n }, (_, i) => `query ($id: ID!) { workshop(id: $id) { id v${i}: title } }`);

/**
 * The app on a real Redis Cluster (3 masters, each with a replica, from redis-server processes of
 * this spec): the response cache spread over the masters, invalidation between two instances, rate
 * limits, live updates, the job queues, and a master failover under load that loses no request.
 */
describe('Redis Cluster', () => {
  let cluster: RedisClusterProcesses;
  let pair: InstancePair<RedisClient>;
  let a: TestApp;
  let b: TestApp;
  const servers: Server[] = [];
  const open: SseSubscription[] = [];

  beforeAll(async () => {
    cluster = await startRedisCluster({ masters: 3, replicas: 1 });
    pair = await startInstancePair('cluster', {
      redis: { clusterNodes: cluster.nodes },
      persisted: { acme: [PING] },
      // A loaded machine can be late past the default 100 ms, which would count per instance (see enroll-limits.spec).
      env: { LIMITS: JSON.stringify({ partner: { requestsPerMinute: PARTNER_PER_MINUTE } }), ENROLLMENTS_PER_EMAIL_PER_HOUR: '2', REDIS_REQUEST_TIMEOUT_MS: '1000' },
    });
    ({ a, b } = pair);
  });
  afterAll(async () => {
    for (const subscription of open) subscription.close();
    for (const server of servers) await new Promise((resolve) => server.close(resolve));
    await pair?.close();
    await cluster?.stop();
  });

  const title = async (app: TestApp, id: string, document = TITLE) => Object.values(dataOf(await app.gql<any>(document, { id })).workshop).at(-1);
  const retitle = (id: string, en: string) => a.gql(UPDATE, { id, input: { title: { en } } }, { key: a.keys.editor }).then(dataOf);

  it('spreads cached answers over the masters, and a write on A reaches every one of them for B', async () => {
    const { id } = await createWorkshop(a);
    const documents = variants(24);
    for (const document of documents) {
      await title(a, id, document);
      await title(b, id, document); // B holds each in its local tier too
    }
    const masters = await cluster.masters();
    const holding = await Promise.all(masters.map(async (port) => (await cluster.keysOn(port, `{${pair.namespace}:*}:e:*`)).length));
    expect(holding.reduce((sum, n) => sum + n, 0)).toBe(documents.length);
    expect(holding.filter((n) => n > 0).length).toBeGreaterThan(1);

    // On a cluster the eviction reaches B's subscriber over the cluster bus, after A's own echo (README
    // "Redis Cluster"): B's next read is fresh once it has heard it.
    await retitle(id, 'Retitled on A');
    await waitFor('B hearing the eviction', async () => (await title(b, id, documents[0])) === 'Retitled on A', 2_000, 10);
    // Every entry, whichever shard it sits in, is gone from Redis and from B's local tier.
    for (const document of documents) expect(await title(b, id, document)).toBe('Retitled on A');
  });

  it('flushes every master: no entry is left in any shard, and both instances miss', async () => {
    const { id } = await createWorkshop(a);
    // Stored by A, the writer: a read on B may start before the creation's eviction reaches it (pub/sub
    // crosses the cluster bus), and then B rightly does not store its answer. B keeps each in its local tier.
    for (const document of variants(6)) {
      await title(a, id, document);
      await title(b, id, document);
    }
    const flushed = await a.cache.flush();
    expect(flushed.shared).toBe(true);
    expect(flushed.entries).toBeGreaterThanOrEqual(6);
    for (const port of await cluster.masters()) expect(await cluster.keysOn(port, `{${pair.namespace}:*}:e:*`)).toEqual([]);
    const misses = b.cache.stats.miss;
    await title(b, id, variants(1)[0]);
    expect(b.cache.stats.miss).toBe(misses + 1);
  });

  it('counts one rate limit across instances (request budget, enrollments per email)', async () => {
    const partner = (app: TestApp) =>
      app.yoga.fetch('http://localhost/graphql', {
        method: 'POST',
        headers: { 'content-type': 'application/json', accept: 'application/json', authorization: `Bearer ${a.keys.partner}` },
        body: JSON.stringify({ documentId: documentId(PING) }),
      });
    const statuses: number[] = [];
    for (let i = 0; i < PARTNER_PER_MINUTE; i++) statuses.push((await partner(i % 2 ? b : a)).status);
    expect(statuses).toEqual(Array(PARTNER_PER_MINUTE).fill(200));
    // Per instance, A has counted only half of them: only a counter shared in the cluster refuses this.
    expect((await partner(a)).status).toBe(429);

    const email = `cluster-${randomBytes(4).toString('hex')}@example.com`;
    const [w1, w2, w3] = await Promise.all([createWorkshop(a), createWorkshop(a), createWorkshop(a)]);
    expect((await enroll(a, w1!.id, email)).errors).toBeUndefined();
    expect((await enroll(b, w2!.id, email)).errors).toBeUndefined();
    expect((await enroll(a, w3!.id, email).catch((error: Error) => error.message))).toMatch(/HTTP 429.*RATE_LIMITED/);
  });

  it('delivers live updates between instances (subscriber on A, write on B)', async () => {
    const server = createServer(a.yoga);
    servers.push(server);
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const { id } = await createWorkshop(b);
    const live = await subscribe(`http://127.0.0.1:${(server.address() as AddressInfo).port}/graphql`, FOLLOW, { id });
    open.push(live);
    expect(dataOf(await live.next()).workshopChanged).toMatchObject({ id });
    await b.gql(UPDATE, { id, input: { title: { en: 'Live on the cluster' } } }, { key: b.keys.editor }).then(dataOf);
    expect(dataOf(await live.next()).workshopChanged).toMatchObject({ id, title: 'Live on the cluster' });
  });

  it('runs the job queues on the cluster: a confirmation mail reaches a real SMTP server', async () => {
    const logger = createLogger('silent');
    const smtp: TestSmtpServer = await startSmtpServer();
    const jobs: JobSystem = createJobSystem({ redis: { clusterNodes: cluster.nodes }, namespace: pair.namespace, backoffMs: 20, lockMs: 5000, logger });
    const redis = connectRedis({ clusterNodes: cluster.nodes }, logger)!;
    const app = await startTestApp({ jobs, redis, cacheNamespace: pair.namespace });
    const background = await startTestBackground(app, jobs, { SMTP_URL: smtp.url, OUTBOX_POLL_MS: '100' });
    try {
      const email = `cluster-mail-${randomBytes(4).toString('hex')}@example.com`;
      dataOf(await app.gql(SUBSCRIBE, { input: { email, locale: 'EN', topics: ['graphql'] } }));
      await waitFor('the confirmation mail', async () => smtp.received.some((mail) => mail.to.includes(email)), 20_000);
      // The queues' keys share one hash tag, so BullMQ's multi-key scripts run on one master.
      const jobsMaster = await cluster.masterOf(`{${pair.namespace}:jobs}:mail:id`);
      expect((await cluster.keysOn(jobsMaster, `{${pair.namespace}:jobs}:mail:*`)).length).toBeGreaterThan(0);
      expect((await jobs.counts()).mail).toMatchObject({ failed: 0, deadLettered: 0 });
    } finally {
      await background.close();
      await app.close();
      redis.disconnect();
      await smtp.close();
    }
  });

  it('loses no request while a master fails over (graceful) and another is killed', async () => {
    const workshops = await Promise.all(Array.from({ length: 4 }, () => createWorkshop(a)));
    const documents = variants(4);
    const failures: string[] = [];
    let answered = 0;
    // Bounded in count and time: until a second after both failovers, 30 s at most.
    let stopAt = Date.now() + 30_000;
    let sent = 0;
    let slowest = 0;
    const client = async (n: number) => {
      while (sent < 5000 && Date.now() < stopAt) {
        const i = sent++;
        const { id } = workshops[i % workshops.length]!;
        const started = Date.now();
        try {
          if (i % 25 === 0) await retitle(id, `Title ${i}`);
          else await title(n % 2 ? b : a, id, documents[i % documents.length]);
          answered++;
          slowest = Math.max(slowest, Date.now() - started);
        } catch (error) {
          failures.push((error as Error).message);
        }
      }
    };
    const load = Promise.all([0, 1, 2, 3].map(client));
    await new Promise((resolve) => setTimeout(resolve, 500));
    const [first, second] = await cluster.masters();
    await cluster.failover(first!);
    await cluster.kill(second!);
    expect(await cluster.masters()).not.toContain(first);
    expect(await cluster.masters()).not.toContain(second);
    stopAt = Math.min(stopAt, Date.now() + 1000);
    await load;
    expect(failures).toEqual([]);
    expect(answered).toBeGreaterThan(100);
    // Loosely: a request waits out the failover (about 2 s here: the node timeout, then the promotion), never hangs.
    expect(slowest).toBeLessThan(10_000);

    // Nothing is left stale: B serves A's next write (within 5 s of the cluster being whole again).
    const { id } = workshops[0]!;
    await title(b, id);
    await retitle(id, 'After the failover');
    await waitFor('B to serve the write', async () => (await title(b, id)) === 'After the failover', 5000);
  });
});
