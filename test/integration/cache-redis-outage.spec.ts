import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { once } from 'node:events';
import { mkdtempSync, rmSync } from 'node:fs';
import { connect, createServer, type Server, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createLogger } from '../../src/infra/logger.js';
import { connectRedis } from '../../src/infra/redis.js';
import { dataOf, startSecondInstance, startTestApp, type TestApp } from '../testkit/app.js';
import { createWorkshop } from '../testkit/factories.js';

const REDIS = new URL(process.env.TEST_REDIS_URL ?? 'redis://127.0.0.1:6379');
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

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

/** A redis-server of the test's own on a free loopback port, frozen, killed and restarted by pid. */
class OwnRedis {
  private process: ChildProcess | null = null;
  port = 0;
  private readonly dir = mkdtempSync(`${tmpdir()}/redis-outage-`);

  async start(): Promise<void> {
    if (!this.port) this.port = await freePort();
    this.process = spawn('redis-server', ['--bind', '127.0.0.1', '--port', String(this.port), '--save', '', '--appendonly', 'no', '--dir', this.dir], { stdio: 'ignore' });
    for (let i = 0; i < 100; i++) {
      if (await answers(this.port)) return;
      await sleep(50);
    }
    throw new Error('redis-server did not start');
  }

  freeze(): void {
    this.process!.kill('SIGSTOP');
  }

  thaw(): void {
    this.process!.kill('SIGCONT');
  }

  async kill(): Promise<void> {
    const exited = once(this.process!, 'exit');
    this.process!.kill('SIGKILL');
    await exited;
    this.process = null;
  }

  async stop(): Promise<void> {
    if (this.process) {
      this.thaw();
      await this.kill();
    }
    rmSync(this.dir, { recursive: true, force: true });
  }
}

async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  await new Promise((resolve) => server.close(resolve));
  return port;
}

async function answers(port: number): Promise<boolean> {
  const probe = new Redis(port, '127.0.0.1', { lazyConnect: true, maxRetriesPerRequest: 0, retryStrategy: () => null });
  probe.on('error', () => {});
  try {
    await probe.connect();
    return (await probe.ping()) === 'PONG';
  } catch {
    return false;
  } finally {
    probe.disconnect();
  }
}

const TITLE = `query ($id: ID!) { workshop(id: $id) { title } }`;
const setTitle = (app: TestApp, id: string, title: string) =>
  app.gql(`mutation ($id: ID!, $t: String!) { updateWorkshop(id: $id, input: { title: { en: $t } }) { id } }`, { id, t: title }, { key: app.keys.editor });
const titleOn = async (app: TestApp, id: string) => dataOf(await app.gql(TITLE, { id })).workshop.title as string;

/** Polls B until it serves `title`; returns how long that took. */
async function freshAfter(b: TestApp, id: string, title: string, limitMs: number): Promise<number> {
  const started = Date.now();
  while (Date.now() - started < limitMs) {
    if ((await titleOn(b, id)) === title) return Date.now() - started;
    await sleep(50);
  }
  return Infinity;
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

  it('keeps answering from the database, opens the breaker, and recovers without stale entries', async () => {
    const { id } = await createWorkshop(a);
    expect(await titleOn(a, id)).toMatch(/^Workshop/);
    expect(await titleOn(b, id)).toMatch(/^Workshop/); // B holds it locally too

    await proxy.cut();
    for (let i = 0; i < 10; i++) {
      const response = await a.gql(`{ workshops(first: ${i + 1}) { totalCount } }`);
      expect(response.errors).toBeUndefined();
    }
    expect(a.cache.breakerState).toBe('open');
    // A write while Redis is unreachable: A's own tier is invalidated at once…
    dataOf(await setTitle(a, id, 'Written during the outage'));
    expect(await titleOn(a, id)).toBe('Written during the outage');

    // …and once Redis is back, the missed invalidation is replayed to Redis and to B.
    await proxy.open();
    for (let attempt = 0; attempt < 50 && a.cache.breakerState !== 'closed'; attempt++) {
      await sleep(200);
      await a.gql(`{ topics { slug } }`);
    }
    expect(a.cache.breakerState).toBe('closed');
    expect(await freshAfter(b, id, 'Written during the outage', 1000)).toBeLessThan(1000);
  }, 30_000);
});

/**
 * Two instances sharing a redis-server of the test's own (production's connection options). A write
 * on A while Redis is frozen (SIGSTOP: connections stay open, nothing answers) or dead cannot be
 * published; A queues it and replays it when Redis answers again, whether or not its breaker tripped.
 */
describe('other instances are fresh soon after Redis returns', () => {
  const redis = new OwnRedis();
  const namespace = `test-return-${randomBytes(4).toString('hex')}`;
  const clients: Redis[] = [];
  let a: TestApp;
  let b: TestApp;

  beforeAll(async () => {
    await redis.start();
    const url = `redis://127.0.0.1:${redis.port}`;
    const [forA, forB] = [connectRedis(url, createLogger('silent'))!, connectRedis(url, createLogger('silent'))!];
    clients.push(forA, forB);
    await Promise.all([once(forA, 'ready'), once(forB, 'ready')]);
    a = await startTestApp({ redis: forA, cacheNamespace: namespace });
    b = await startSecondInstance(a, { redis: forB, cacheNamespace: namespace });
  });
  afterAll(async () => {
    await b?.close();
    await a?.close();
    for (const client of clients) client.disconnect();
    await redis.stop();
  });

  /** Both instances hold the workshop in their local tier. */
  async function cachedEverywhere(): Promise<string> {
    const { id } = await createWorkshop(a);
    expect(await titleOn(a, id)).toMatch(/^Workshop/);
    expect(await titleOn(b, id)).toMatch(/^Workshop/);
    return id;
  }

  it('after a freeze (SIGSTOP … SIGCONT): B serves A’s write within 2 s', async () => {
    const id = await cachedEverywhere();
    redis.freeze();
    try {
      dataOf(await setTitle(a, id, 'Written while Redis was frozen'));
    } finally {
      redis.thaw();
    }
    expect(await freshAfter(b, id, 'Written while Redis was frozen', 5000)).toBeLessThan(2000);
  }, 30_000);

  it('after a crash (SIGKILL, restarted on the same port): B serves A’s write within 2 s', async () => {
    const id = await cachedEverywhere();
    await redis.kill();
    dataOf(await setTitle(a, id, 'Written while Redis was dead'));
    await sleep(1000); // clients back off while it is gone
    await redis.start();
    expect(await freshAfter(b, id, 'Written while Redis was dead', 5000)).toBeLessThan(2000);
  }, 30_000);
});
