import type { Redis } from 'ioredis';
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

/**
 * The shared tier. Every key carries the hash tag `{<namespace>}`, so all keys live in one cluster
 * slot and scripts and pipelines are cluster-safe. Tag sets (`t:<tag>`) hold the entry keys of each
 * entity and expire with their longest-lived entry; invalidation reads them with SMEMBERS (never
 * KEYS). A generation counter makes writes safe against in-flight reads (see SET_IF_FRESH).
 */
export class RedisTier {
  private readonly prefix: string;

  constructor(
    private readonly redis: Redis,
    namespace: string,
    private readonly channel: string,
  ) {
    this.prefix = `{${namespace}}`;
  }

  private entryKey(key: string) {
    return `${this.prefix}:e:${key}`;
  }

  private tagKeys(tags: string[]) {
    return [...tags.map((tag) => `${this.prefix}:iv:${tag}`), ...tags.map((tag) => `${this.prefix}:t:${tag}`)];
  }

  private get generationKey() {
    return `${this.prefix}:generation`;
  }

  /** Stamped with the generation of the last flush: every read that began before it is refused by SET_IF_FRESH. */
  private get flushKey() {
    return `${this.prefix}:flushed`;
  }

  /** The entry, if any, and the invalidation generation to hand back to `set` after a miss. */
  async get(key: string, now = Date.now()): Promise<{ entry: CachedEntry | null; generation: number }> {
    const [json, pttl, generation] = await execOrThrow(
      this.redis.pipeline().get(this.entryKey(key)).pttl(this.entryKey(key)).get(this.generationKey),
    );
    const seen = Number(generation ?? 0);
    if (typeof json !== 'string' || typeof pttl !== 'number' || pttl <= 0) return { entry: null, generation: seen };
    // Stored as `<tags JSON>\n<result JSON>`, so another instance's local copy is invalidated by the same tags.
    const newline = json.indexOf('\n');
    const entry = { tags: JSON.parse(json.slice(0, newline)) as string[], json: json.slice(newline + 1), expiresAt: now + pttl };
    return { entry, generation: seen };
  }

  /** The invalidation generation alone (for a write that follows no miss: a background refresh). */
  async generation(): Promise<number> {
    return Number((await this.redis.get(this.generationKey)) ?? 0);
  }

  /** Stores the entry unless it was invalidated after `generation`; returns whether it was stored. */
  async set(key: string, entry: CachedEntry, generation: number, now = Date.now()): Promise<boolean> {
    const ttl = Math.ceil(entry.expiresAt - now);
    if (ttl <= 0) return false;
    const keys = [this.entryKey(key), this.flushKey, ...this.tagKeys(entry.tags)];
    const stored = await this.redis.eval(SET_IF_FRESH, keys.length, ...keys, generation, ttl, `${JSON.stringify(entry.tags)}\n${entry.json}`, key);
    return stored === 1;
  }

  /** Deletes every entry carrying one of the tags, and the tag sets themselves. */
  async invalidate(tags: string[]): Promise<void> {
    if (tags.length === 0) return;
    const keys = [this.generationKey, ...this.tagKeys(tags)];
    await this.redis.eval(INVALIDATE, keys.length, ...keys, `${this.prefix}:e:`, INVALIDATION_MEMORY_MS);
  }

  async publish(message: string): Promise<void> {
    await this.redis.publish(this.channel, message);
  }

  /**
   * Removes every entry and tag set of this namespace with SCAN (an operator's flush, or after an
   * outage too long to replay), after marking the flush so reads in flight do not store what they
   * read before it. Returns how many entries were removed.
   */
  async flush(): Promise<number> {
    const generation = await this.redis.incr(this.generationKey);
    await this.redis.set(this.flushKey, generation, 'PX', INVALIDATION_MEMORY_MS);
    const entryPrefix = `${this.prefix}:e:`;
    let cursor = '0';
    let entries = 0;
    do {
      const [next, found] = await this.redis.scan(cursor, 'MATCH', `${this.prefix}:*`, 'COUNT', 1000);
      // The generation only ever grows (in-flight reads compare against it), and the mark must outlive them.
      const keys = found.filter((key) => key !== this.generationKey && key !== this.flushKey);
      if (keys.length) await this.redis.del(...keys);
      entries += keys.filter((key) => key.startsWith(entryPrefix)).length;
      cursor = next;
    } while (cursor !== '0');
    return entries;
  }
}

async function execOrThrow(pipeline: ReturnType<Redis['pipeline']>): Promise<unknown[]> {
  const results = (await pipeline.exec()) ?? [];
  return results.map(([error, value]) => {
    if (error) throw error;
    return value;
  });
}
