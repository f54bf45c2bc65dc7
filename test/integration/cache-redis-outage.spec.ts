import { randomBytes } from 'node:crypto';
import { createServer, connect, type Server, type Socket } from 'node:net';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { dataOf, startSecondInstance, startTestApp, type TestApp } from '../testkit/app.js';
import { createWorkshop } from '../testkit/factories.js';

const REDIS = new URL(process.env.TEST_REDIS_URL ?? 'redis://127.0.0.1:6379');

/** A loopback TCP proxy to Redis that the test can cut and restore, like a network partition. */
class CuttableProxy {
  private server: Server | null = null;
  private readonly sockets = new Set<Socket>();
  port = 0;

  async open(): Promise<void> {
    this.server = createServer((client) => {
      const upstream = connect(Number(REDIS.port || 6379), REDIS.hostname);
      for (const socket of [client, upstream]) {
        this.sockets.add(socket);
        socket.on('close', () => this.sockets.delete(socket));
        socket.on('error', () => socket.destroy());
      }
      client.pipe(upstream).pipe(client);
    });
    await new Promise<void>((resolve) => this.server!.listen(this.port, '127.0.0.1', resolve));
    this.port = (this.server.address() as { port: number }).port;
  }

  async cut(): Promise<void> {
    for (const socket of this.sockets) socket.destroy();
    await new Promise<void>((resolve) => this.server?.close(() => resolve()));
    this.server = null;
  }
}

describe('response cache while Redis is down', () => {
  const proxy = new CuttableProxy();
  const namespace = `test-outage-${randomBytes(4).toString('hex')}`;
  const clients: Redis[] = [];
  let a: TestApp;
  let b: TestApp;

  beforeAll(async () => {
    await proxy.open();
    const viaProxy = new Redis(proxy.port, '127.0.0.1', {
      maxRetriesPerRequest: 0,
      enableOfflineQueue: false,
      commandTimeout: 300,
      retryStrategy: () => 200,
    });
    viaProxy.on('error', () => {});
    const direct = new Redis(REDIS.toString());
    clients.push(viaProxy, direct);
    a = await startTestApp({ redis: viaProxy, cacheNamespace: namespace });
    b = await startSecondInstance(a, { redis: direct, cacheNamespace: namespace });
  });
  afterAll(async () => {
    await b?.close();
    await a?.close();
    await proxy.cut();
    for (const client of clients) client.disconnect();
  });

  const TITLE = `query ($id: ID!) { workshop(id: $id) { title } }`;
  const setTitle = (id: string, title: string) =>
    a.gql(`mutation ($id: ID!, $t: String!) { updateWorkshop(id: $id, input: { title: { en: $t } }) { id } }`, { id, t: title }, { key: a.keys.editor });

  it('keeps answering from the database, opens the breaker, and recovers without stale entries', async () => {
    const { id } = await createWorkshop(a);
    expect(dataOf(await a.gql(TITLE, { id })).workshop.title).toMatch(/^Workshop/);
    expect(dataOf(await b.gql(TITLE, { id })).workshop.title).toMatch(/^Workshop/); // B holds it locally too

    await proxy.cut();
    for (let i = 0; i < 10; i++) {
      const response = await a.gql(`{ workshops(first: ${i + 1}) { totalCount } }`);
      expect(response.errors).toBeUndefined();
    }
    expect(a.cache.breakerState).toBe('open');
    // A write while Redis is unreachable: A's own tier is invalidated at once…
    dataOf(await setTitle(id, 'Written during the outage'));
    expect(dataOf(await a.gql(TITLE, { id })).workshop.title).toBe('Written during the outage');

    // …and once Redis is back, the missed invalidation is replayed to Redis and to B.
    await proxy.open();
    for (let attempt = 0; attempt < 50 && a.cache.breakerState !== 'closed'; attempt++) {
      await new Promise((resolve) => setTimeout(resolve, 200));
      await a.gql(`{ topics { slug } }`);
    }
    expect(a.cache.breakerState).toBe('closed');
    for (let attempt = 0; attempt < 10; attempt++) {
      const seen = dataOf(await b.gql(TITLE, { id })).workshop.title;
      if (seen === 'Written during the outage') break;
      expect(attempt).toBeLessThan(9); // pub/sub reaches B within a second
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  }, 30_000);
});
