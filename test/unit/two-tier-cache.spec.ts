import { randomBytes } from 'node:crypto';
import calculateSlot from 'cluster-key-slot';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CLUSTER_SHARDS, shardTags } from '../../src/infra/cache/redis-tier.js';
import { TwoTierCache } from '../../src/infra/cache/two-tier-cache.js';
import { createLogger } from '../../src/infra/logger.js';

const REDIS_URL = process.env.TEST_REDIS_URL ?? 'redis://127.0.0.1:6379';

// One shard is the layout on one Redis server; CLUSTER_SHARDS the one on a cluster (here on one server: the same scripts).
describe.each([1, CLUSTER_SHARDS])('two-tier cache (real Redis, %i shard(s))', (shards) => {
  const namespace = `test-unit-${randomBytes(4).toString('hex')}`;
  let redis: Redis;
  let cache: TwoTierCache;

  beforeAll(async () => {
    redis = new Redis(REDIS_URL);
    cache = new TwoTierCache({ maxBytes: 1024 * 1024, namespace, redis, subscriber: null, logger: createLogger('silent'), shards });
  });
  afterAll(async () => {
    cache.close();
    const keys = await redis.keys(`{${namespace}*`); // test clean-up only
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

describe('cache shards on a Redis Cluster', () => {
  it('spread evenly over the slots: each master of an evenly split cluster holds its share', () => {
    const slots = shardTags('rc', CLUSTER_SHARDS).map((tag) => calculateSlot(tag));
    expect(new Set(slots).size).toBe(CLUSTER_SHARDS);
    // redis-cli --cluster create splits the 16,384 slots into equal contiguous ranges, one per master.
    for (const masters of [2, 3, 5, 8]) {
      const perMaster = new Map<number, number>();
      for (const slot of slots) perMaster.set(Math.floor((slot * masters) / 16384), (perMaster.get(Math.floor((slot * masters) / 16384)) ?? 0) + 1);
      expect(perMaster.size).toBe(masters);
      expect(Math.min(...perMaster.values())).toBeGreaterThanOrEqual(Math.floor(CLUSTER_SHARDS / masters) - 1);
    }
  });

  it('keeps one Redis server on the single slot earlier releases used', () => {
    expect(shardTags('rc', 1)).toEqual(['{rc}']);
  });
});
