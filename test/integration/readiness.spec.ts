import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseEnv } from '../../src/env.js';
import { openDatabase, type Database } from '../../src/infra/db.js';
import { TwoTierCache } from '../../src/infra/cache/two-tier-cache.js';
import { createLogger } from '../../src/infra/logger.js';
import { createMetrics } from '../../src/infra/metrics.js';
import { createApp } from '../../src/yoga.js';
import { createTestDatabase } from '../testkit/postgres.js';

const REDIS_URL = process.env.TEST_REDIS_URL ?? 'redis://127.0.0.1:6379';

describe('/health and /ready', () => {
  let pg: Awaited<ReturnType<typeof createTestDatabase>>;
  let database: Database;
  const redisClients: Redis[] = [];
  beforeAll(async () => {
    pg = await createTestDatabase();
    database = await openDatabase({ url: pg.url, dataDir: '', poolMax: 2, statementTimeoutMs: 5000 });
  });
  afterAll(async () => {
    for (const r of redisClients) r.disconnect();
    await database?.close();
    await pg?.drop();
  });

  const logger = createLogger('silent');
  const cache = () => new TwoTierCache({ maxBytes: 1024 * 1024, namespace: 'test', redis: null, subscriber: null, logger });
  const appWith = (redis: Redis | null) => createApp({ env: parseEnv({ NODE_ENV: 'test' }), database, redis, cache: cache(), metrics: createMetrics(), logger }).yoga;
  const redis = (url: string) => {
    const client = new Redis(url, { maxRetriesPerRequest: 0, enableOfflineQueue: false, lazyConnect: true, retryStrategy: () => null });
    client.on('error', () => {});
    redisClients.push(client);
    return client;
  };

  it('is ready when Postgres and Redis answer', async () => {
    const client = redis(REDIS_URL);
    await client.connect();
    const yoga = appWith(client);
    expect((await yoga.fetch('http://localhost/health')).status).toBe(200);
    const ready = await yoga.fetch('http://localhost/ready');
    expect(ready.status).toBe(200);
    expect(await ready.json()).toEqual({ status: 'ready', database: 'up', redis: 'up' });
  });

  it('stays ready while the configured Redis is down (every instance serves without it), and says so', async () => {
    const metrics = createMetrics();
    const yoga = createApp({ env: parseEnv({ NODE_ENV: 'test' }), database, redis: redis('redis://127.0.0.1:1'), cache: cache(), metrics, logger }).yoga;
    const ready = await yoga.fetch('http://localhost/ready');
    expect(ready.status).toBe(200);
    expect(await ready.json()).toEqual({ status: 'ready', database: 'up', redis: 'down' });
    expect(await metrics.registry.getSingleMetricAsString('redis_up')).toMatch(/^redis_up 0$/m);
    expect((await yoga.fetch('http://localhost/health')).status).toBe(200);
  });

  it('answers 503 when the database is unreachable', async () => {
    const unreachable = await openDatabase({ url: 'postgres://postgres@127.0.0.1:1/none', dataDir: '', poolMax: 1, statementTimeoutMs: 1000 });
    try {
      const yoga = createApp({ env: parseEnv({ NODE_ENV: 'test' }), database: unreachable, redis: null, cache: cache(), metrics: createMetrics(), logger }).yoga;
      const ready = await yoga.fetch('http://localhost/ready');
      expect(ready.status).toBe(503);
      expect(await ready.json()).toMatchObject({ status: 'unavailable', database: 'down' });
    } finally {
      await unreachable.close();
    }
  });
});
