import { randomUUID } from 'node:crypto';
import type { ExecutionResult } from 'graphql';
import { LRUCache } from 'lru-cache';
import type { Logger } from '../logger.js';
import { CircuitBreaker, type BreakerState } from './circuit-breaker.js';
import { LruTier } from './lru-tier.js';
import { isCluster, type RedisClient } from '../redis.js';
import { CLUSTER_SHARDS, RedisTier } from './redis-tier.js';

/** What a read saw of invalidations when it began (see TwoTierCache.get). */
export interface Ticket {
  localSeq: number;
  /** The invalidation generation of the entry's shard in Redis, or null when Redis was not consulted. */
  generation: number | null;
}

/** A stored entry as it is (one object per entry while the local tier keeps it: callers may memoize on it). */
export interface CacheHit {
  /** The execution result, serialized. */
  readonly json: string;
  readonly expiresAt: number;
  /** The entry's tags: `Type` and `Type:id` of everything it holds, and its root fields. */
  readonly tags: readonly string[];
}

export interface CacheEntity {
  typename: string;
  id?: string | number;
}

/** An entry is tagged with each entity it holds, as `Type:id` and type-wide as `Type`. */
export function entryTags(entities: Iterable<CacheEntity>): string[] {
  const tags = new Set<string>();
  for (const { typename, id } of entities) {
    tags.add(typename);
    if (id != null) tags.add(`${typename}:${id}`);
  }
  return [...tags];
}

/** Invalidating `{Type, id}` reaches entries holding that entity; `{Type}` alone reaches every entry of the type. */
export function invalidationTags(entities: Iterable<CacheEntity>): string[] {
  return [...new Set([...entities].map(({ typename, id }) => (id == null ? typename : `${typename}:${id}`)))];
}

/** What services call after they change data, whoever triggered the change. */
export interface CacheInvalidator {
  invalidate(entities: CacheEntity[]): Promise<void>;
  /** Drops every cached answer of the namespace (writes made outside the app: a seed, a SQL fix). */
  flush(): Promise<CacheFlush>;
}

export interface CacheFlush {
  namespace: string;
  /** Entries removed from Redis (from the local tier when there is no Redis). */
  entries: number;
  /** False when Redis did not answer: the flush is then replayed when it does. */
  shared: boolean;
}

/** Longest wait for our own invalidation message to come back through Redis pub/sub. */
const ECHO_WAIT_MS = 250;
/** How long the breaker stays open before probing Redis again. */
const BREAKER_OPEN_MS = 1_000;
/** How often invalidations that could not be published are retried (and an open breaker checked). */
const RETRY_MS = 250;
/** Invalidations waiting to be replayed are bounded: past this many tags, the namespace is flushed instead. */
const MAX_PENDING_TAGS = 10_000;
/** Probes (RETRY_MS apart) for a cluster subscription that moved to another node: 30 s. */
const RESYNC_ATTEMPTS = 120;

/**
 * The response cache store: an in-process LRU in front of Redis. Redis failures never reach
 * requests: a circuit breaker skips Redis while it is down (the LRU alone serves) and probes it
 * every second. An invalidation that could not be published (Redis down, frozen or just slow,
 * whether or not the breaker tripped) is queued and replayed as soon as Redis answers again, so
 * other instances drop their copies. An instance that may have missed messages drops its local
 * tier: when its breaker closes again, and when its pub/sub connection is re-established.
 */
export class TwoTierCache implements CacheInvalidator {
  readonly instanceId = randomUUID();
  private readonly lru: LruTier;
  private readonly redis: RedisTier | null;
  private readonly breaker: CircuitBreaker;
  /** Invalidations not yet published; a pending flush (`*`, or too many tags) subsumes them. */
  private pendingTags = new Set<string>();
  private pendingFlush = false;
  private replaying = false;
  private retryTimer: NodeJS.Timeout | undefined;
  private readonly awaitingEcho = new Map<string, () => void>();
  /** Local invalidation sequence: tickets compare against it when Redis is not there to. */
  private localSeq = 0;
  /** Last invalidation of each recent tag; forgotten ones count as invalidated for older tickets. */
  private forgottenBefore = 0;
  /** The sequence of the last flush: every older ticket is stale. */
  private flushedAt = 0;
  private readonly invalidatedAt = new LRUCache<string, number>({
    max: 100_000,
    dispose: (seq) => {
      this.forgottenBefore = Math.max(this.forgottenBefore, seq);
    },
  });
  private closed = false;
  private readonly invalidationListeners: ((tags: readonly string[]) => void)[] = [];
  private resyncing = false;
  private markListening!: () => void;
  private readonly listeningNow = new Promise<void>((resolve) => (this.markListening = resolve));

  constructor(
    private readonly options: {
      maxBytes: number;
      /** Keeps deployments (or test runs) sharing one Redis apart: keys `{<namespace>}:…` (`{<namespace>:<n>}:…` on a cluster), channel `<namespace>:invalidate`. */
      namespace: string;
      redis: RedisClient | null;
      /** A second connection for pub/sub (a subscribed connection can run nothing else). */
      subscriber: RedisClient | null;
      /** Shards of the Redis tier. @default 1 on one Redis server, CLUSTER_SHARDS on a cluster */
      shards?: number;
      logger: Logger;
      onBreakerChange?: (state: BreakerState) => void;
    },
  ) {
    this.lru = new LruTier(options.maxBytes);
    this.redis = options.redis
      ? new RedisTier(options.redis, options.namespace, this.channel, options.shards ?? (isCluster(options.redis) ? CLUSTER_SHARDS : 1))
      : null;
    this.breaker = new CircuitBreaker({
      failureThreshold: 3,
      openMs: BREAKER_OPEN_MS,
      onStateChange: (state) => {
        options.logger.warn({ state }, 'response cache: Redis circuit breaker');
        options.onBreakerChange?.(state);
        if (state === 'open') this.scheduleRetry();
        if (state === 'closed') void this.recover();
      },
    });
    this.listen();
  }

  /**
   * While the breaker is open it probes Redis itself (LRU hits alone would never try Redis again);
   * while it is closed, invalidations still waiting are replayed. Either way, until nothing is left.
   */
  private scheduleRetry(): void {
    if (this.retryTimer || !this.options.redis || this.closed) return;
    if (this.breaker.current === 'closed' && !this.hasPending()) return;
    const redis = this.options.redis;
    this.retryTimer = setTimeout(async () => {
      this.retryTimer = undefined;
      if (this.breaker.current === 'closed') {
        await this.replay();
      } else if (this.breaker.allows()) {
        try {
          await redis.ping();
          this.breaker.succeeded(); // closing replays (see recover)
        } catch {
          this.breaker.failed();
        }
      }
      this.scheduleRetry();
    }, RETRY_MS);
    this.retryTimer.unref();
  }

  private get channel(): string {
    return `${this.options.namespace}:invalidate`;
  }

  get breakerState(): BreakerState {
    return this.breaker.current;
  }

  /** Lookups since start: local hits, Redis hits and misses (for the hit ratio). */
  readonly stats = { local: 0, redis: 0, miss: 0 };

  /**
   * A hit, or a ticket for storing the result after a miss. The ticket records which
   * invalidations had happened when the read began, so `set` can refuse a result that a
   * concurrent write made stale before it was stored.
   */
  async get(key: string): Promise<{ hit: CacheHit | null; ticket: Ticket }> {
    const localSeq = this.localSeq;
    const local = this.lru.get(key);
    if (local) {
      this.stats.local++;
      return { hit: local, ticket: { localSeq, generation: null } };
    }
    const shared = await this.withRedis((redis) => redis.get(key));
    const ticket = { localSeq, generation: shared?.generation ?? null };
    if (!shared?.entry) {
      this.stats.miss++;
      return { hit: null, ticket };
    }
    this.stats.redis++;
    // An invalidation noted while Redis answered (ours, or another instance's message) may postdate
    // this entry: this concurrent read may still be answered with it, but the local tier must not keep it.
    if (!this.invalidatedSince(shared.entry.tags, localSeq)) this.lru.set(key, shared.entry);
    return { hit: shared.entry, ticket };
  }

  /** A ticket for a write of `key` that follows no miss (a background refresh of a hit). */
  async ticket(key: string): Promise<Ticket> {
    const localSeq = this.localSeq;
    return { localSeq, generation: await this.withRedis((redis) => redis.generation(key)) };
  }

  /** Stores the result unless the ticket shows it went stale; returns it serialized (as a hit would carry it). */
  async set(key: string, result: ExecutionResult, entities: Iterable<CacheEntity>, ttlMs: number, extraTags: string[], ticket: Ticket): Promise<string> {
    const json = JSON.stringify(result);
    if (!(ttlMs > 0) || !Number.isFinite(ttlMs)) return json;
    const entry = { json, expiresAt: Date.now() + ttlMs, tags: [...entryTags(entities), ...extraTags] };
    if (this.invalidatedSince(entry.tags, ticket.localSeq)) return json;
    if (this.redis && ticket.generation !== null) {
      const stored = await this.withRedis((redis) => redis.set(key, entry, ticket.generation!));
      // Refused (a write raced the read), or Redis failed: keep it out of the local tier too.
      if (!stored) return json;
    }
    // Re-check: an invalidation may have arrived from another instance while Redis answered.
    if (!this.invalidatedSince(entry.tags, ticket.localSeq)) this.lru.set(key, entry);
    return json;
  }

  /**
   * Called on every invalidation, this instance's and others', with its tags (`*` when the local tier
   * is dropped): read replicas wait for a write's replay, the API key lookups forget revoked keys.
   */
  onInvalidated(listener: (tags: readonly string[]) => void): void {
    this.invalidationListeners.push(listener);
  }

  /** `*` stands for everything (a flush). */
  private noteInvalidated(tags: string[]): void {
    for (const listener of this.invalidationListeners) listener(tags);
    this.localSeq++;
    if (tags.includes('*')) this.flushedAt = this.localSeq;
    for (const tag of tags) this.invalidatedAt.set(tag, this.localSeq);
  }

  private invalidatedSince(tags: string[], seq: number): boolean {
    if (seq < this.forgottenBefore || seq < this.flushedAt) return true;
    return tags.some((tag) => (this.invalidatedAt.get(tag) ?? 0) > seq);
  }

  /** Drops every answer of the namespace here, in Redis and (through pub/sub) on every instance. */
  async flush(): Promise<CacheFlush> {
    const local = this.lru.size;
    this.dropLocalTier();
    const { namespace } = this.options;
    if (!this.redis) return { namespace, entries: local, shared: true };
    const entries = await this.withRedis(async (redis) => {
      const removed = await redis.flush();
      await this.broadcast(redis, ['*']);
      return removed;
    });
    if (entries === null) this.remember(['*']);
    return { namespace, entries: entries ?? local, shared: entries !== null };
  }

  /** Awaited by writers: once it resolves, no instance serves an entry carrying these entities from Redis. */
  async invalidate(entities: CacheEntity[]): Promise<void> {
    await this.invalidateReporting(entities);
  }

  /**
   * invalidate, resolving to whether Redis took it. False: it is kept here and retried, which a process
   * about to exit (a CLI) cannot wait for.
   */
  async invalidateReporting(entities: CacheEntity[]): Promise<boolean> {
    const tags = invalidationTags(entities);
    this.noteInvalidated(tags);
    this.lru.invalidate(tags);
    if (!this.redis) return true;
    const done = await this.withRedis(async (redis) => {
      await redis.invalidate(tags);
      await this.broadcast(redis, tags);
      return true;
    });
    if (!done) this.remember(tags);
    return Boolean(done);
  }

  /**
   * Publishes the tags and waits (briefly) for our own subscriber to receive them: Redis has then
   * pushed the message to every instance, so a read that follows the write elsewhere finds its
   * local tier already cleared. Returns whether the message came back (true without a subscriber).
   */
  private async broadcast(redis: RedisTier, tags: string[]): Promise<boolean> {
    const nonce = randomUUID();
    let cameBack = false;
    const echoed = new Promise<void>((resolve) => {
      this.awaitingEcho.set(nonce, () => ((cameBack = true), resolve()));
      setTimeout(resolve, ECHO_WAIT_MS).unref();
    });
    try {
      await redis.publish(JSON.stringify({ from: this.instanceId, nonce, tags }));
      if (!this.options.subscriber) return true;
      await echoed;
      return cameBack;
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
    clearTimeout(this.retryTimer);
    this.options.subscriber?.disconnect();
  }

  private listen(): void {
    const subscriber = this.options.subscriber;
    if (!subscriber) return this.markListening();
    subscriber.on('error', (error: Error) => this.options.logger.debug({ err: error.message }, 'response cache: subscriber error'));
    subscriber.on('message', (_channel: string, message: string) => {
      try {
        const { from, nonce, tags } = JSON.parse(message) as { from: string; nonce?: string; tags: string[] };
        if (from === this.instanceId) {
          if (nonce) this.awaitingEcho.get(nonce)?.();
          return;
        }
        if (tags.length === 0) return; // another instance's probe (see resync)
        this.noteInvalidated(tags);
        if (tags.includes('*')) this.lru.clear();
        else this.lru.invalidate(tags);
      } catch {
        // not ours
      }
    });
    // Subscribe on every (re)connection: without an offline queue (production's Redis options) a SUBSCRIBE
    // sent before the connection is ready just fails. Invalidations published while we were not
    // listening are lost, so the local tier, which may hold entries they evicted elsewhere, is dropped.
    let subscribedBefore = false;
    const subscribe = () =>
      subscriber.subscribe(this.channel).then(
        () => {
          this.dropLocalTier();
          if (subscribedBefore) this.options.logger.info('response cache: pub/sub reconnected, local tier dropped');
          subscribedBefore = true;
          this.markListening();
        },
        (error: Error) => this.options.logger.warn({ err: error.message }, 'response cache: subscribe failed'),
      );
    subscriber.on('ready', () => void subscribe());
    if (subscriber.status === 'ready') void subscribe();
    // On a cluster, ioredis moves the subscription to another node when its node leaves (a failover)
    // and subscribes again by itself, with no 'ready': messages published in between are lost.
    subscriber.on('-node', () => {
      if (subscribedBefore) void this.resync();
    });
  }

  /**
   * The subscription may have missed messages: drop the local tier, then probe (publish, wait for
   * our own echo) until the subscription is shown to deliver again, and drop it once more, since
   * reads meanwhile may have refilled it from before a lost invalidation.
   */
  private async resync(): Promise<void> {
    this.dropLocalTier();
    if (this.resyncing || !this.redis) return;
    this.resyncing = true;
    try {
      for (let attempt = 0; attempt < RESYNC_ATTEMPTS && !this.closed; attempt++) {
        if (await this.withRedis((redis) => this.broadcast(redis, []))) {
          this.dropLocalTier();
          this.options.logger.info('response cache: cluster subscription moved, local tier dropped');
          return;
        }
        await new Promise((resolve) => setTimeout(resolve, RETRY_MS).unref());
      }
      this.options.logger.warn('response cache: the cluster subscription did not come back');
    } finally {
      this.resyncing = false;
    }
  }

  /** Resolves once this instance receives other instances' invalidations (at once without Redis). */
  listening(): Promise<void> {
    return this.listeningNow;
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

  private hasPending(): boolean {
    return this.pendingFlush || this.pendingTags.size > 0;
  }

  /** Queues tags whose invalidation could not be published (`*`: a flush), bounded, and schedules the replay. */
  private remember(tags: string[]): void {
    for (const tag of tags) this.pendingTags.add(tag);
    if (this.pendingTags.has('*') || this.pendingTags.size > MAX_PENDING_TAGS) {
      this.pendingFlush = true;
      this.pendingTags.clear();
    }
    this.scheduleRetry();
  }

  /** Publishes what is queued (one at a time); what fails again stays queued. */
  private async replay(): Promise<void> {
    if (this.replaying || !this.hasPending()) return;
    this.replaying = true;
    const tags = this.pendingFlush ? ['*'] : [...this.pendingTags];
    this.pendingTags = new Set();
    this.pendingFlush = false;
    try {
      const replayed = await this.withRedis(async (redis) => {
        if (tags.includes('*')) await redis.flush();
        else await redis.invalidate(tags);
        await this.broadcast(redis, tags);
        return true;
      });
      if (replayed) this.options.logger.info({ tags: tags.length }, 'response cache: replayed invalidations Redis had missed');
      else this.remember(tags);
    } finally {
      this.replaying = false;
    }
  }

  /** The breaker closed: this instance may have missed other instances' invalidations meanwhile. */
  private async recover(): Promise<void> {
    this.dropLocalTier();
    await this.replay();
  }

  /** Also refuses what reads in flight would store locally: they may have read before a missed invalidation. */
  private dropLocalTier(): void {
    this.noteInvalidated(['*']);
    this.lru.clear();
  }
}
