import { Redis } from 'ioredis';
import type { Logger } from './logger.js';

/** Redis when REDIS_URL is set; callers fall back to in-memory stores when this is null. */
export function connectRedis(url: string | undefined, logger: Logger): Redis | null {
  if (!url) return null;
  const redis = new Redis(url, {
    // Fail fast instead of queueing commands forever while Redis is down.
    maxRetriesPerRequest: 1,
    enableOfflineQueue: false,
    connectTimeout: 2000,
    // A Redis that stops answering must not hold requests: the cache's circuit breaker takes over.
    commandTimeout: 500,
    // Reconnect within half a second of Redis coming back, however long it was gone (ioredis backs off to 2 s):
    // queued invalidations replay, and other instances resubscribe, only once connected.
    retryStrategy: (attempt) => Math.min(attempt * 50, 500),
    lazyConnect: false,
  });
  redis.on('error', (error) => logger.warn({ err: error.message }, 'redis error'));
  return redis;
}
