import calculateSlot from 'cluster-key-slot';
import { isCluster, type RedisClient } from '../redis.js';
import type { CachedEntry } from './lru-tier.js';

/** How long an invalidation is remembered for in-flight reads (far longer than any request). */
const INVALIDATION_MEMORY_MS = 10 * 60_000;

/**
 * Stores the entry unless one of its tags was invalidated, or the namespace flushed, after the read
 * began (ARGV[1] = the generation seen then): a read that raced a write never caches what it read
 * before the write. KEYS: entry, the flush mark, then `iv:` keys of the tags, then the tag sets.
 * ARGV: generation, ttl, value, member.
 */
const SET_IF_FRESH = `
local n = (#KEYS - 2) / 2
local started = tonumber(ARGV[1])
for i = 2, n + 2 do
  local invalidated = redis.call('GET', KEYS[i])
  if invalidated and tonumber(invalidated) > started then return 0 end
end
redis.call('SET', KEYS[1], ARGV[3], 'PX', ARGV[2])
for i = 1, n do
  local set = KEYS[2 + n + i]
  redis.call('SADD', set, ARGV[4])
  redis.call('PEXPIRE', set, ARGV[2], 'NX')
  redis.call('PEXPIRE', set, ARGV[2], 'GT')
end
return 1`;

/**
 * Bumps the generation, stamps each tag with it, and deletes the tagged entries and tag sets.
 * KEYS: generation, then `iv:` keys, then tag sets. ARGV: entry key prefix, memory ms.
 */
const INVALIDATE = `
local n = (#KEYS - 1) / 2
local generation = redis.call('INCR', KEYS[1])
for i = 1, n do
  redis.call('SET', KEYS[1 + i], generation, 'PX', ARGV[2])
  local set = KEYS[1 + n + i]
  local members = redis.call('SMEMBERS', set)
  for j = 1, #members, 500 do
    local batch = {}
    for k = j, math.min(j + 499, #members) do batch[#batch + 1] = ARGV[1] .. members[k] end
    redis.call('DEL', unpack(batch))
  end
  redis.call('DEL', set)
end
return generation`;

/** Shards of the shared tier on a Redis Cluster (fixed: every instance of a deployment must agree). */
export const CLUSTER_SHARDS = 16;
const SLOTS = 16384;

/**
 * The hash tags of the shards. One shard is today's single slot `{<namespace>}` (one Redis server:
 * nothing to spread, and the keys stay where earlier releases put them). Several are tags
 * `{<namespace>:<n>}` picked so their slots are evenly spaced over the 16,384: a cluster whose slots
 * are split evenly between its masters (as `redis-cli --cluster create` does) holds about
 * shards ÷ masters of them on each master, for up to `shards` masters.
 */
export function shardTags(namespace: string, shards: number): string[] {
  if (shards === 1) return [`{${namespace}}`];
  return Array.from({ length: shards }, (_, i) => {
    const [low, high] = [Math.floor((i * SLOTS) / shards), Math.floor(((i + 1) * SLOTS) / shards)];
    for (let n = 0; ; n++) {
      const slot = calculateSlot(`${namespace}:${n}`);
      if (slot >= low && slot < high) return `{${namespace}:${n}}`;
    }
  });
}

/** The keys of one shard; every one carries the shard's hash tag, so its scripts and pipelines stay in one slot. */
class Shard {
  constructor(readonly prefix: string) {}

  entryKey(key: string) {
    return `${this.prefix}:e:${key}`;
  }

  tagKeys(tags: string[]) {
    return [...tags.map((tag) => `${this.prefix}:iv:${tag}`), ...tags.map((tag) => `${this.prefix}:t:${tag}`)];
  }

  get generationKey() {
    return `${this.prefix}:generation`;
  }

  /** Stamped with the generation of the last flush: every read that began before it is refused by SET_IF_FRESH. */
  get flushKey() {
    return `${this.prefix}:flushed`;
  }
}

/**
 * The shared tier, in shards (one on a single Redis, CLUSTER_SHARDS on a cluster, spread over its
 * masters). An entry lives in the shard its key hashes to, with the tag sets (`t:<tag>`) that list it
 * and the invalidation stamps (`iv:<tag>`) its store checks, so each script touches one slot. Tag sets
 * expire with their longest-lived entry; invalidation reads them with SMEMBERS (never KEYS) and runs
 * on every shard, since a tag's entries may sit in any. Each shard's generation counter makes writes
 * safe against in-flight reads (see SET_IF_FRESH): a read's ticket holds the generation of its
 * entry's shard, which every invalidation bumps.
 */
export class RedisTier {
  private readonly shards: Shard[];

  constructor(
    private readonly redis: RedisClient,
    private readonly namespace: string,
    private readonly channel: string,
    shards = 1,
  ) {
    this.shards = shardTags(namespace, shards).map((tag) => new Shard(tag));
  }

  private shardOf(key: string): Shard {
    return this.shards[calculateSlot(key) % this.shards.length]!;
  }

  /** The entry, if any, and the invalidation generation to hand back to `set` after a miss. */
  async get(key: string, now = Date.now()): Promise<{ entry: CachedEntry | null; generation: number }> {
    const shard = this.shardOf(key);
    const [json, pttl, generation] = await execOrThrow(
      this.redis.pipeline().get(shard.entryKey(key)).pttl(shard.entryKey(key)).get(shard.generationKey),
    );
    const seen = Number(generation ?? 0);
    if (typeof json !== 'string' || typeof pttl !== 'number' || pttl <= 0) return { entry: null, generation: seen };
    // Stored as `<tags JSON>\n<result JSON>`, so another instance's local copy is invalidated by the same tags.
    const newline = json.indexOf('\n');
    const entry = { tags: JSON.parse(json.slice(0, newline)) as string[], json: json.slice(newline + 1), expiresAt: now + pttl };
    return { entry, generation: seen };
  }

  /** The invalidation generation of `key`'s shard alone (for a write that follows no miss: a background refresh). */
  async generation(key: string): Promise<number> {
    return Number((await this.redis.get(this.shardOf(key).generationKey)) ?? 0);
  }

  /** Stores the entry unless it was invalidated after `generation`; returns whether it was stored. */
  async set(key: string, entry: CachedEntry, generation: number, now = Date.now()): Promise<boolean> {
    const ttl = Math.ceil(entry.expiresAt - now);
    if (ttl <= 0) return false;
    const shard = this.shardOf(key);
    const keys = [shard.entryKey(key), shard.flushKey, ...shard.tagKeys(entry.tags)];
    const stored = await this.redis.eval(SET_IF_FRESH, keys.length, ...keys, generation, ttl, `${JSON.stringify(entry.tags)}\n${entry.json}`, key);
    return stored === 1;
  }

  /** Deletes every entry carrying one of the tags, and the tag sets themselves, in every shard. */
  async invalidate(tags: string[]): Promise<void> {
    if (tags.length === 0) return;
    await Promise.all(
      this.shards.map((shard) => {
        const keys = [shard.generationKey, ...shard.tagKeys(tags)];
        return this.redis.eval(INVALIDATE, keys.length, ...keys, `${shard.prefix}:e:`, INVALIDATION_MEMORY_MS);
      }),
    );
  }

  async publish(message: string): Promise<void> {
    await this.redis.publish(this.channel, message);
  }

  /**
   * Removes every entry and tag set of this namespace with SCAN (on every master of a cluster: an
   * operator's flush, or after an outage too long to replay), after marking the flush in every shard
   * so reads in flight do not store what they read before it. Returns how many entries were removed.
   */
  async flush(): Promise<number> {
    await Promise.all(
      this.shards.map(async (shard) => {
        const generation = await this.redis.incr(shard.generationKey);
        await this.redis.set(shard.flushKey, generation, 'PX', INVALIDATION_MEMORY_MS);
      }),
    );
    const byPrefix = new Map(this.shards.map((shard) => [shard.prefix, shard]));
    let entries = 0;
    for (const node of isCluster(this.redis) ? this.redis.nodes('master') : [this.redis]) {
      let cursor = '0';
      do {
        const [next, found] = await node.scan(cursor, 'MATCH', `{${this.namespace}*`, 'COUNT', 1000);
        // Grouped by shard (one slot each); the generation only ever grows (in-flight reads compare
        // against it), and the mark must outlive them.
        const doomed = new Map<Shard, string[]>();
        for (const key of found) {
          const shard = byPrefix.get(key.slice(0, key.indexOf('}') + 1));
          if (!shard || key === shard.generationKey || key === shard.flushKey) continue;
          const keys = doomed.get(shard);
          if (keys) keys.push(key);
          else doomed.set(shard, [key]);
          if (key.startsWith(`${shard.prefix}:e:`)) entries++;
        }
        await Promise.all([...doomed.values()].map((keys) => this.redis.del(...keys)));
        cursor = next;
      } while (cursor !== '0');
    }
    return entries;
  }
}

async function execOrThrow(pipeline: ReturnType<RedisClient['pipeline']>): Promise<unknown[]> {
  const results = (await pipeline.exec()) ?? [];
  return results.map(([error, value]) => {
    if (error) throw error;
    return value;
  });
}
