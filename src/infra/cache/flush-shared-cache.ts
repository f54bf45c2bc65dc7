import type { Env } from '../../env.js';
import type { Logger } from '../logger.js';
import { connectRedis } from '../redis.js';
import { TwoTierCache, type CacheEntity, type CacheFlush } from './two-tier-cache.js';

/**
 * Runs `use` on the deployment's shared response cache from outside the app (a CLI, the seed), through
 * a cache of its own on the same Redis and namespace. Null without Redis (REDIS_URL or
 * REDIS_CLUSTER_NODES): then nothing is shared. Throws when Redis cannot be reached.
 */
async function withSharedCache<T>(env: Env, logger: Logger, use: (cache: TwoTierCache) => Promise<T>): Promise<T | null> {
  const redis = connectRedis(env.redis, logger);
  if (!redis) return null;
  try {
    await new Promise<void>((resolve, reject) => {
      redis.once('ready', resolve);
      redis.once('error', reject);
    });
    const cache = new TwoTierCache({ maxBytes: 1024 * 1024, namespace: env.CACHE_NAMESPACE, redis, subscriber: null, logger });
    try {
      return await use(cache);
    } finally {
      cache.close();
    }
  } finally {
    redis.disconnect();
  }
}

/**
 * Flushes a deployment's response cache from outside the app (`npm run cache:flush`, the seed):
 * Redis is emptied and every running instance told to drop its local tier. Null without Redis: then
 * a running instance's cache is reached only by the ADMIN mutation `flushResponseCache` (or a restart).
 */
export function flushSharedCache(env: Env, logger: Logger): Promise<CacheFlush | null> {
  return withSharedCache(env, logger, async (cache) => {
    const flushed = await cache.flush();
    if (!flushed.shared) throw new Error('Redis did not answer the flush');
    return flushed;
  });
}

/**
 * Invalidates entities from outside the app (the key CLI's revoke): their entries leave Redis and every
 * running instance hears of it, as after a write through the API. Null without Redis.
 */
export function invalidateSharedCache(env: Env, logger: Logger, entities: CacheEntity[]): Promise<true | null> {
  return withSharedCache(env, logger, async (cache) => {
    if (!(await cache.invalidateReporting(entities))) throw new Error('Redis did not take the invalidation');
    return true as const;
  });
}
