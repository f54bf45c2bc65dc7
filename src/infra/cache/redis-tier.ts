import type { Redis } from 'ioredis';
import type { CachedEntry } from './lru-tier.js';

/**
 * The shared tier. Every key carries the hash tag `{<namespace>}`, so all keys live in one cluster slot and
 * multi-key work (pipelines, DEL of many keys) is cluster-safe. Tag sets (`{rc}:t:<tag>`) hold the
 * entry keys of each entity and expire with their longest-lived entry; invalidation reads them with
 * SMEMBERS (never KEYS) and deletes entries and sets in one pipeline, then tells other instances.
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

  private tagKey(tag: string) {
    return `${this.prefix}:t:${tag}`;
  }

  async get(key: string, now = Date.now()): Promise<CachedEntry | null> {
    const results = await this.redis.pipeline().get(this.entryKey(key)).pttl(this.entryKey(key)).exec();
    const [json, pttl] = (results ?? []).map(([error, value]) => {
      if (error) throw error;
      return value;
    });
    if (typeof json !== 'string' || typeof pttl !== 'number' || pttl <= 0) return null;
    // Stored as `<tags JSON>\n<result JSON>`, so another instance's local copy is invalidated by the same tags.
    const newline = json.indexOf('\n');
    return { tags: JSON.parse(json.slice(0, newline)) as string[], json: json.slice(newline + 1), expiresAt: now + pttl };
  }

  async set(key: string, entry: CachedEntry, now = Date.now()): Promise<void> {
    const ttl = Math.ceil(entry.expiresAt - now);
    if (ttl <= 0) return;
    const pipeline = this.redis.pipeline().set(this.entryKey(key), `${JSON.stringify(entry.tags)}\n${entry.json}`, 'PX', ttl);
    for (const tag of entry.tags) {
      // NX gives a new set its expiry, GT only ever extends it: the set outlives none of its entries by much.
      pipeline.sadd(this.tagKey(tag), key).pexpire(this.tagKey(tag), ttl, 'NX').pexpire(this.tagKey(tag), ttl, 'GT');
    }
    await execOrThrow(pipeline);
  }

  /** Deletes every entry carrying one of the tags, and the tag sets themselves. */
  async invalidate(tags: string[]): Promise<void> {
    if (tags.length === 0) return;
    const read = this.redis.pipeline();
    for (const tag of tags) read.smembers(this.tagKey(tag));
    const members = (await execOrThrow(read)) as string[][];
    const keys = [...new Set(members.flat())].map((key) => this.entryKey(key));
    const remove = this.redis.pipeline();
    for (let i = 0; i < keys.length; i += 500) remove.del(...keys.slice(i, i + 500));
    remove.del(...tags.map((tag) => this.tagKey(tag)));
    await execOrThrow(remove);
  }

  async publish(message: string): Promise<void> {
    await this.redis.publish(this.channel, message);
  }

  /** Removes every key of this cache with SCAN (after a long outage, when replaying is not enough). */
  async clear(): Promise<void> {
    let cursor = '0';
    do {
      const [next, keys] = await this.redis.scan(cursor, 'MATCH', `${this.prefix}:*`, 'COUNT', 1000);
      if (keys.length) await this.redis.del(...keys);
      cursor = next;
    } while (cursor !== '0');
  }
}

async function execOrThrow(pipeline: ReturnType<Redis['pipeline']>): Promise<unknown[]> {
  const results = (await pipeline.exec()) ?? [];
  return results.map(([error, value]) => {
    if (error) throw error;
    return value;
  });
}
