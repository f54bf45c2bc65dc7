import type { Env } from '../../env.js';
import type { Logger } from '../logger.js';
import { connectRedis } from '../redis.js';
import { TwoTierCache, type CacheFlush } from './two-tier-cache.js';

/**
 * Flushes a deployment's response cache from outside the app (`npm run cache:flush`, the seed):
 * Redis is emptied and every running instance told to drop its local tier. Null without Redis (REDIS_URL or REDIS_CLUSTER_NODES):
 * then nothing is shared, and a running instance's cache is reached only by the ADMIN mutation
 * `flushResponseCache` (or a restart). Throws when Redis cannot be reached.
 */
export async function flushSharedCache(env: Env, logger: Logger): Promise<CacheFlush | null> {
  const redis = connectRedis(env.redis, logger);
  if (!redis) return null;
  try {
    await new Promise<void>((resolve, reject) => {
      redis.once('ready', resolve);
      redis.once('error', reject);
    });
    const cache = new TwoTierCache({ maxBytes: 1024 * 1024, namespace: env.CACHE_NAMESPACE, redis, subscriber: null, logger });
    try {
      const flushed = await cache.flush();
      if (!flushed.shared) throw new Error('Redis did not answer the flush');
      return flushed;
    } finally {
      cache.close();
    }
  } finally {
    redis.disconnect();
  }
}
