import { randomBytes } from 'node:crypto';
import { once } from 'node:events';
import type { Redis } from 'ioredis';
import { createLogger } from '../../src/infra/logger.js';
import { connectRedis, isCluster, type RedisClient, type RedisTarget } from '../../src/infra/redis.js';
import { startSecondInstance, startTestApp, writeManifests, type TestApp } from './app.js';

const REDIS_URL = process.env.TEST_REDIS_URL ?? 'redis://127.0.0.1:6379';

export interface InstancePair<R extends RedisClient = Redis> {
  a: TestApp;
  b: TestApp;
  redis: R;
  namespace: string;
  close(): Promise<void>;
}

interface PairOptions {
  persisted?: Record<string, string[]>;
  redis?: RedisTarget;
  env?: Record<string, string>;
}

/**
 * Two instances of one deployment: one database, one Redis connection with production's options (no
 * offline queue: each subscriber must still end up listening) and one cache namespace of their own.
 * `redis`: another Redis (a cluster's nodes) than the suite's.
 */
export function startInstancePair(name: string, options?: PairOptions & { redis?: undefined }): Promise<InstancePair<Redis>>;
export function startInstancePair(name: string, options: PairOptions): Promise<InstancePair<RedisClient>>;
export async function startInstancePair(name: string, options: PairOptions = {}): Promise<InstancePair<RedisClient>> {
  const namespace = `test-${name}-${randomBytes(4).toString('hex')}`;
  const redis = connectRedis(options.redis ?? REDIS_URL, createLogger('silent'))!;
  await once(redis, 'ready');
  const a = await startTestApp({ redis, cacheNamespace: namespace, persisted: options.persisted, env: options.env });
  const b = await startSecondInstance(a, { redis, cacheNamespace: namespace, env: { ...options.env, PERSISTED_OPERATIONS_DIR: writeManifests(options.persisted ?? {}) } });
  return {
    a,
    b,
    redis,
    namespace,
    async close() {
      await b.close();
      await a.close();
      // Test clean-up only (a test cluster goes away with its processes).
      if (!isCluster(redis)) {
        const keys = await redis.keys(`{${namespace}}:*`);
        if (keys.length) await redis.del(...keys);
      }
      redis.disconnect();
    },
  };
}
