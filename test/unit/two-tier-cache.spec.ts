import { randomBytes } from 'node:crypto';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TwoTierCache } from '../../src/infra/cache/two-tier-cache.js';
import { createLogger } from '../../src/infra/logger.js';

const REDIS_URL = process.env.TEST_REDIS_URL ?? 'redis://127.0.0.1:6379';

describe('two-tier cache (real Redis)', () => {
  const namespace = `test-unit-${randomBytes(4).toString('hex')}`;
  let redis: Redis;
  let cache: TwoTierCache;

  beforeAll(async () => {
    redis = new Redis(REDIS_URL);
    cache = new TwoTierCache({ maxBytes: 1024 * 1024, namespace, redis, subscriber: null, logger: createLogger('silent') });
  });
  afterAll(async () => {
    cache.close();
    const keys = await redis.keys(`{${namespace}}:*`); // test clean-up only
    if (keys.length) await redis.del(...keys);
    redis.disconnect();
  });

  const workshop = { typename: 'Workshop', id: 'W1' };

  it('does not promote a Redis hit into the local tier when its tags were invalidated while Redis answered', async () => {
    const { ticket } = await cache.get('k1');
    await cache.set('k1', { data: { title: 'old' } }, [workshop], 60_000, [], ticket);
    cache.clearLocal(); // as on an instance that never read it: the next read goes to Redis

    // The read's GET is on the wire first; the invalidation is noted locally before its answer comes
    // back (Redis answers one connection in order), so the answer it brings is older than the write.
    const read = cache.get('k1');
    const written = cache.invalidate([workshop]);
    const { hit } = await read;
    await written;
    expect(hit && JSON.parse(hit.json)).toEqual({ data: { title: 'old' } }); // a read concurrent with the write may see the old value…

    const again = await cache.get('k1');
    expect(again.hit).toBeNull(); // …but it is not kept: the next read misses (locally and in Redis)
  });
});
