import { randomBytes } from 'node:crypto';
import { once } from 'node:events';
import type { Redis } from 'ioredis';
import { createLogger } from '../../src/infra/logger.js';
import { connectRedis } from '../../src/infra/redis.js';
import { startSecondInstance, startTestApp, writeManifests, type TestApp } from './app.js';

const REDIS_URL = process.env.TEST_REDIS_URL ?? 'redis://127.0.0.1:6379';

export interface InstancePair {
  a: TestApp;
  b: TestApp;
  redis: Redis;
  namespace: string;
  close(): Promise<void>;
}

/**
 * Two instances of one deployment: one database, one Redis connection with production's options (no
 * offline queue: each subscriber must still end up listening) and one cache namespace of their own.
 */
export async function startInstancePair(name: string, options: { persisted?: Record<string, string[]> } = {}): Promise<InstancePair> {
  const namespace = `test-${name}-${randomBytes(4).toString('hex')}`;
  const redis = connectRedis(REDIS_URL, createLogger('silent'))!;
  await once(redis, 'ready');
  const a = await startTestApp({ redis, cacheNamespace: namespace, persisted: options.persisted });
  const b = await startSecondInstance(a, { redis, cacheNamespace: namespace, env: { PERSISTED_OPERATIONS_DIR: writeManifests(options.persisted ?? {}) } });
  return {
    a,
    b,
    redis,
    namespace,
    async close() {
      await b.close();
      await a.close();
      const keys = await redis.keys(`{${namespace}}:*`); // test clean-up only
      if (keys.length) await redis.del(...keys);
      redis.disconnect();
    },
  };
}
