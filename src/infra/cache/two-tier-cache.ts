import { randomUUID } from 'node:crypto';
import type { ExecutionResult } from 'graphql';
import type { Redis } from 'ioredis';
import type { Logger } from '../logger.js';
import { CircuitBreaker, type BreakerState } from './circuit-breaker.js';
import { LruTier, type CachedEntry } from './lru-tier.js';
import { RedisTier } from './redis-tier.js';

export interface CacheEntity {
  typename: string;
  id?: string | number;
}

/** Entities become tags: `Type` (type-wide) and `Type:id`. */
export function tagsOf(entities: Iterable<CacheEntity>): string[] {
  const tags = new Set<string>();
  for (const { typename, id } of entities) {
    tags.add(typename);
    if (id != null) tags.add(`${typename}:${id}`);
  }
  return [...tags];
}

/** What services call after they change data, whoever triggered the change. */
export interface CacheInvalidator {
  invalidate(entities: CacheEntity[]): Promise<void>;
}

const CHANNEL = 'workshops:response-cache:invalidate';
/** Invalidations that could not reach Redis are replayed on recovery; past this many, Redis is cleared instead. */
const MAX_PENDING_TAGS = 10_000;

/**
 * The response cache store: an in-process LRU in front of Redis. Redis failures never reach
 * requests: a circuit breaker skips Redis while it is down (the LRU alone serves), probes it
 * every few seconds, and on recovery replays the invalidations Redis missed and drops the local
 * tier, which may have missed other instances' invalidations meanwhile.
 */
export class TwoTierCache implements CacheInvalidator {
  readonly instanceId = randomUUID();
  private readonly lru: LruTier;
  private readonly redis: RedisTier | null;
  private readonly breaker: CircuitBreaker;
  private pendingTags = new Set<string>();
  private pendingOverflow = false;

  constructor(
    private readonly options: {
      maxBytes: number;
      redis: Redis | null;
      /** A second connection for pub/sub (a subscribed connection can run nothing else). */
      subscriber: Redis | null;
      logger: Logger;
      onBreakerChange?: (state: BreakerState) => void;
    },
  ) {
    this.lru = new LruTier(options.maxBytes);
    this.redis = options.redis ? new RedisTier(options.redis, CHANNEL) : null;
    this.breaker = new CircuitBreaker({
      failureThreshold: 3,
      openMs: 2_000,
      onStateChange: (state) => {
        options.logger.warn({ state }, 'response cache: Redis circuit breaker');
        options.onBreakerChange?.(state);
        if (state === 'closed') void this.recover();
      },
    });
    this.listen();
  }

  get breakerState(): BreakerState {
    return this.breaker.current;
  }

  async get(key: string): Promise<{ result: ExecutionResult; expiresAt: number } | null> {
    let entry: CachedEntry | null | undefined = this.lru.get(key);
    if (!entry) {
      entry = await this.withRedis((redis) => redis.get(key));
      if (!entry) return null;
      this.lru.set(key, entry);
    }
    return { result: JSON.parse(entry.json) as ExecutionResult, expiresAt: entry.expiresAt };
  }

  async set(key: string, result: ExecutionResult, entities: Iterable<CacheEntity>, ttlMs: number, extraTags: string[] = []): Promise<void> {
    if (!(ttlMs > 0) || !Number.isFinite(ttlMs)) return;
    const entry = { json: JSON.stringify(result), expiresAt: Date.now() + ttlMs, tags: [...tagsOf(entities), ...extraTags] };
    this.lru.set(key, entry);
    await this.withRedis((redis) => redis.set(key, entry));
  }

  /** Awaited by writers: once it resolves, no instance serves an entry carrying these entities from Redis. */
  async invalidate(entities: CacheEntity[]): Promise<void> {
    const tags = tagsOf(entities);
    this.lru.invalidate(tags);
    if (!this.redis) return;
    const done = await this.withRedis(async (redis) => {
      await redis.invalidate(tags);
      await redis.publish(JSON.stringify({ from: this.instanceId, tags }));
      return true;
    });
    if (!done) this.remember(tags);
  }

  /** Local tier only (tests and operators). */
  clearLocal(): void {
    this.lru.clear();
  }

  close(): void {
    this.options.subscriber?.disconnect();
  }

  private listen(): void {
    const subscriber = this.options.subscriber;
    if (!subscriber) return;
    subscriber.on('message', (_channel: string, message: string) => {
      try {
        const { from, tags } = JSON.parse(message) as { from: string; tags: string[] };
        if (from === this.instanceId) return;
        if (tags.includes('*')) this.lru.clear();
        else this.lru.invalidate(tags);
      } catch {
        // not ours
      }
    });
    subscriber.subscribe(CHANNEL).catch((error: Error) => this.options.logger.warn({ err: error.message }, 'response cache: subscribe failed'));
  }

  private async withRedis<T>(work: (redis: RedisTier) => Promise<T>): Promise<T | null> {
    if (!this.redis || !this.breaker.allows()) return null;
    try {
      const result = await work(this.redis);
      this.breaker.succeeded();
      return result;
    } catch (error) {
      this.breaker.failed();
      this.options.logger.debug({ err: (error as Error).message }, 'response cache: Redis call failed');
      return null;
    }
  }

  private remember(tags: string[]): void {
    for (const tag of tags) this.pendingTags.add(tag);
    if (this.pendingTags.size > MAX_PENDING_TAGS) {
      this.pendingOverflow = true;
      this.pendingTags.clear();
    }
  }

  private async recover(): Promise<void> {
    this.lru.clear();
    const tags = [...this.pendingTags];
    const overflow = this.pendingOverflow;
    this.pendingTags = new Set();
    this.pendingOverflow = false;
    const replayed = await this.withRedis(async (redis) => {
      if (overflow) await redis.clear();
      else if (tags.length) await redis.invalidate(tags);
      if (tags.length || overflow) await redis.publish(JSON.stringify({ from: this.instanceId, tags: overflow ? ['*'] : tags }));
      return true;
    });
    if (!replayed) {
      if (overflow) this.pendingOverflow = true;
      this.remember(tags);
    }
  }
}
