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

/** Longest wait for our own invalidation message to come back through Redis pub/sub. */
const ECHO_WAIT_MS = 250;
/** How long the breaker stays open before probing Redis again. */
const BREAKER_OPEN_MS = 2_000;
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
  private probeTimer: NodeJS.Timeout | undefined;
  private readonly awaitingEcho = new Map<string, () => void>();
  private closed = false;

  constructor(
    private readonly options: {
      maxBytes: number;
      /** Keeps deployments (or test runs) sharing one Redis apart: keys `{<namespace>}:…`, channel `<namespace>:invalidate`. */
      namespace: string;
      redis: Redis | null;
      /** A second connection for pub/sub (a subscribed connection can run nothing else). */
      subscriber: Redis | null;
      logger: Logger;
      onBreakerChange?: (state: BreakerState) => void;
    },
  ) {
    this.lru = new LruTier(options.maxBytes);
    this.redis = options.redis ? new RedisTier(options.redis, options.namespace, this.channel) : null;
    this.breaker = new CircuitBreaker({
      failureThreshold: 3,
      openMs: BREAKER_OPEN_MS,
      onStateChange: (state) => {
        options.logger.warn({ state }, 'response cache: Redis circuit breaker');
        options.onBreakerChange?.(state);
        if (state === 'open') this.scheduleProbe();
        if (state === 'closed') void this.recover();
      },
    });
    this.listen();
  }

  /** While open, the breaker probes Redis itself (LRU hits alone would never try Redis again). */
  private scheduleProbe(): void {
    if (this.probeTimer || !this.options.redis || this.closed || this.breaker.current === 'closed') return;
    const redis = this.options.redis;
    this.probeTimer = setTimeout(async () => {
      this.probeTimer = undefined;
      if (this.breaker.allows()) {
        try {
          await redis.ping();
          this.breaker.succeeded();
        } catch {
          this.breaker.failed();
        }
      }
      this.scheduleProbe();
    }, BREAKER_OPEN_MS);
    this.probeTimer.unref();
  }

  private get channel(): string {
    return `${this.options.namespace}:invalidate`;
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
      await this.broadcast(redis, tags);
      return true;
    });
    if (!done) this.remember(tags);
  }

  /**
   * Publishes the tags and waits (briefly) for our own subscriber to receive them: Redis has then
   * pushed the message to every instance, so a read that follows the write elsewhere finds its
   * local tier already cleared.
   */
  private async broadcast(redis: RedisTier, tags: string[]): Promise<void> {
    const nonce = randomUUID();
    const echoed = new Promise<void>((resolve) => {
      this.awaitingEcho.set(nonce, resolve);
      setTimeout(resolve, ECHO_WAIT_MS).unref();
    });
    try {
      await redis.publish(JSON.stringify({ from: this.instanceId, nonce, tags }));
      if (this.options.subscriber) await echoed;
    } finally {
      this.awaitingEcho.delete(nonce);
    }
  }

  /** Local tier only (tests and operators). */
  clearLocal(): void {
    this.lru.clear();
  }

  close(): void {
    this.closed = true;
    clearTimeout(this.probeTimer);
    this.options.subscriber?.disconnect();
  }

  private listen(): void {
    const subscriber = this.options.subscriber;
    if (!subscriber) return;
    subscriber.on('error', (error: Error) => this.options.logger.debug({ err: error.message }, 'response cache: subscriber error'));
    subscriber.on('message', (_channel: string, message: string) => {
      try {
        const { from, nonce, tags } = JSON.parse(message) as { from: string; nonce?: string; tags: string[] };
        if (from === this.instanceId) {
          if (nonce) this.awaitingEcho.get(nonce)?.();
          return;
        }
        if (tags.includes('*')) this.lru.clear();
        else this.lru.invalidate(tags);
      } catch {
        // not ours
      }
    });
    subscriber.subscribe(this.channel).catch((error: Error) => this.options.logger.warn({ err: error.message }, 'response cache: subscribe failed'));
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
      if (tags.length || overflow) await this.broadcast(redis, overflow ? ['*'] : tags);
      return true;
    });
    if (!replayed) {
      if (overflow) this.pendingOverflow = true;
      this.remember(tags);
    }
  }
}
