import { createRedisEventTarget } from '@graphql-yoga/redis-event-target';
import { createPubSub, Repeater, SlidingBuffer, type PubSub } from 'graphql-yoga';
import type { Redis } from 'ioredis';
import { duplicateConnection, type RedisClient } from '../../infra/redis.js';
import type { Workshop } from '../../generated/prisma/client.js';
import type { CacheInvalidator } from '../../infra/cache/two-tier-cache.js';
import type { Db } from '../../infra/db.js';
import type { Logger } from '../../infra/logger.js';
import { AppError, ServiceUnavailableError, UnauthenticatedError } from '../../shared/errors.js';
import { decodeGlobalId } from '../../shared/ids.js';
import { isApiKeyActive } from '../auth/api-keys-service.js';
import type { Principal } from '../auth/principal.js';
import { workshopVisibility } from '../workshops/workshop-visibility.js';

/** What travels between instances: only which workshop changed; every subscriber reads it afresh. */
interface WorkshopChange {
  id: string;
}

type Topics = { workshop: [id: string, change: WorkshopChange]; workshops: [change: WorkshopChange] };

/** One more live subscription than a client may hold: 429, like the other rate limits. */
export class TooManySubscriptionsError extends AppError {
  readonly code = 'RATE_LIMITED';
  constructor(limit: number) {
    super(`At most ${limit} live subscriptions per client at a time; close one before opening another`, 'RATE_LIMITED', {
      limit,
      retryAfter: 30,
      http: { status: 429, headers: { 'Retry-After': '30' } },
    });
  }
}

/** Which workshops a `workshopsChanged` subscriber follows (the list-page filters that a row can be tested against). */
export interface WorkshopChangeFilter {
  status?: Workshop['status'] | null;
  tag?: string | null;
  upcoming?: boolean | null;
}

export interface Subscriber {
  principal: Principal;
  /** Per-IP bound for anonymous callers (src/shared/client-address.ts). */
  clientAddress: string;
  /** Called before each event is delivered: the per-request loaders must not serve the previous event's rows. */
  onEvent?: () => void;
  /**
   * The request's signal, aborted when the client goes away. The SSE response notices a closed
   * connection only when it next writes, so without it a subscription would hold its place (and its
   * channel) until the next event or ping.
   */
  signal?: AbortSignal;
}

/**
 * The subscription side of a Redis connection for the event target: it remembers its channels and
 * subscribes them again whenever the connection is (re)established, and never leaves a rejected
 * command unhandled (the event target does not await its calls).
 */
function resilientSubscriber(connection: RedisClient, logger: Logger) {
  const channels = new Set<string>();
  const pending = new Map<string, Promise<unknown>>();
  const quietly = (work: Promise<unknown>) => work.catch((error: Error) => logger.debug({ err: error.message }, 'live updates: Redis subscription command failed'));
  connection.on('error', (error: Error) => logger.debug({ err: error.message }, 'live updates: subscriber connection error'));
  connection.on('ready', () => {
    if (channels.size) void quietly(connection.subscribe(...channels));
  });
  const client = {
    on: (event: string, listener: (...args: any[]) => void) => (connection.on(event, listener), client),
    subscribe: (channel: string) => {
      channels.add(channel);
      // A connection still opening subscribes its channels once ready: until then the channel counts as pending.
      const acked = connection.status === 'ready' ? quietly(connection.subscribe(channel)) : new Promise((resolve) => connection.once('ready', resolve)).then(() => quietly(connection.subscribe(channel)));
      pending.set(channel, acked.finally(() => pending.delete(channel)));
    },
    unsubscribe: (channel: string) => {
      channels.delete(channel);
      if (connection.status === 'ready') void quietly(connection.unsubscribe(channel));
    },
    /** Resolves once Redis has acknowledged the channel's SUBSCRIBE (or it failed). */
    subscribed: (channel: string) => pending.get(channel) ?? Promise.resolve(),
  };
  return client;
}

/**
 * Live updates for GraphQL subscriptions: writes publish "workshop X changed" after their commit,
 * through Redis when there is one (every instance delivers to its own subscribers) or in memory.
 * Each event is checked for each subscriber as it is delivered: the workshop is read afresh and
 * passed through the one visibility rule, and an API key revoked or expired since the subscription
 * began ends it. Subscriptions per client are bounded; `close()` ends them all (graceful shutdown).
 */
export class LiveUpdates {
  private readonly pubsub: PubSub<Topics>;
  private subscriber: ReturnType<typeof resilientSubscriber> | null = null;
  private connection: RedisClient | null = null;
  private readonly pendingListeners: [string, (...args: any[]) => void][] = [];
  private readonly open = new Map<string, number>();
  private readonly closing = new AbortController();
  private readonly prefix: string;

  constructor(
    private readonly db: Db,
    private readonly options: { redis: RedisClient | null; namespace: string; maxPerClient: number; logger: Logger },
  ) {
    this.prefix = `${options.namespace}:live:`;
    const { redis, logger } = options;
    if (redis) {
      // A connection of its own, opened with the first subscription: a Redis connection in subscriber
      // mode can do nothing else. It queues commands while disconnected (the app's own connection
      // fails fast instead).
      const subscriber = () => {
        if (!this.subscriber) {
          this.connection = duplicateConnection(redis, { enableOfflineQueue: true });
          this.subscriber = resilientSubscriber(this.connection, logger);
        }
        return this.subscriber;
      };
      const subscribeClient = {
        on: (event: string, listener: (...args: any[]) => void) => {
          // The event target registers its message listener once, at creation: pass it on when the connection opens.
          this.pendingListeners.push([event, listener]);
          if (this.subscriber) this.subscriber.on(event, listener);
          return subscribeClient;
        },
        subscribe: (channel: string) => {
          const first = !this.subscriber;
          const client = subscriber();
          if (first) for (const [event, listener] of this.pendingListeners) client.on(event, listener);
          client.subscribe(channel);
        },
        unsubscribe: (channel: string) => this.subscriber?.unsubscribe(channel),
      };
      const publisher = {
        publish: (channel: string, message: string) =>
          redis.publish(channel, message).catch((error: Error) => logger.warn({ err: error.message, channel }, 'live updates: publish failed')),
      };
      this.pubsub = createPubSub<Topics>({
        eventTarget: createRedisEventTarget({ publishClient: publisher as unknown as Redis, subscribeClient: subscribeClient as unknown as Redis }),
        repeaterBuffer: new SlidingBuffer(100),
      });
    } else {
      this.pubsub = createPubSub<Topics>({ repeaterBuffer: new SlidingBuffer(100) });
    }
  }

  private channel(topic: string): string {
    return `${this.prefix}${topic}`;
  }

  /** After a commit: every subscriber of this workshop, and of workshop lists, hears of it. */
  workshopChanged(workshopId: string): void {
    this.pubsub.publish(this.channel('workshop') as 'workshop', workshopId, { id: workshopId });
    this.pubsub.publish(this.channel('workshops') as 'workshops', { id: workshopId });
  }

  /** One workshop's changes, starting with its current state (so a page needs no separate first read). */
  followWorkshop(who: Subscriber, workshopId: string): Promise<AsyncIterable<Workshop>> {
    const source = () => this.pubsub.subscribe(this.channel('workshop') as 'workshop', workshopId);
    return this.stream(who, source, `${this.channel('workshop')}:${workshopId}`, (row) => row, workshopId);
  }

  /** Changes of any workshop the subscriber may see and that matches the filter (for list pages). */
  followWorkshops(who: Subscriber, filter: WorkshopChangeFilter): Promise<AsyncIterable<Workshop>> {
    const source = () => this.pubsub.subscribe(this.channel('workshops') as 'workshops');
    return this.stream(who, source, this.channel('workshops'), (row) => (matches(row, filter) ? row : null));
  }

  /** Ends every live subscription on this instance (their streams complete) and refuses new ones. */
  async close(): Promise<void> {
    this.closing.abort();
    this.connection?.disconnect();
  }

  /** Open subscriptions on this instance. */
  get openCount(): number {
    return [...this.open.values()].reduce((sum, n) => sum + n, 0);
  }

  /**
   * The channel is subscribed (and, with Redis, acknowledged, for up to a second) before the answer
   * starts, so a client that sees the stream open misses no change made after that.
   */
  private async stream(
    who: Subscriber,
    source: () => AsyncIterable<WorkshopChange>,
    channel: string,
    select: (row: Workshop) => Workshop | null,
    initialId?: string,
  ): Promise<AsyncIterable<Workshop>> {
    if (this.closing.signal.aborted) throw new ServiceUnavailableError(1);
    const client = who.principal.kind === 'apiKey' ? `key:${who.principal.keyId}` : `ip:${who.clientAddress}`;
    const held = this.open.get(client) ?? 0;
    if (held >= this.options.maxPerClient) throw new TooManySubscriptionsError(this.options.maxPerClient);
    this.open.set(client, held + 1);
    let released = false;
    const release = () => {
      if (released) return;
      released = true;
      const left = (this.open.get(client) ?? 1) - 1;
      if (left > 0) this.open.set(client, left);
      else this.open.delete(client);
    };
    const changes = source()[Symbol.asyncIterator]();
    const first = changes.next();
    await Promise.race([this.subscriber?.subscribed(channel), new Promise((resolve) => setTimeout(resolve, 1000).unref())]);
    const visibility = workshopVisibility(who.principal);
    const closing = this.closing.signal;
    let started = false;
    const repeater = new Repeater<Workshop>(async (push, stop) => {
      started = true;
      const end = () => stop();
      closing.addEventListener('abort', end, { once: true });
      who.signal?.addEventListener('abort', end, { once: true });
      if (who.signal?.aborted) end();
      let stopped = false;
      void stop.then(() => {
        stopped = true;
        void changes.return?.();
      });
      try {
        const deliver = async (id: string) => {
          if (who.principal.kind === 'apiKey' && !(await isApiKeyActive(this.db, who.principal.keyId))) {
            throw new UnauthenticatedError('The API key of this subscription was revoked or has expired');
          }
          const row = visibility.visible(await this.db.workshop.findUnique({ where: { id } }));
          const selected = row && select(row);
          if (!selected || stopped) return;
          who.onEvent?.();
          await push(selected);
        };
        if (initialId) await deliver(initialId);
        let next = first;
        while (!stopped) {
          const change = await next;
          if (change.done || stopped) break;
          await deliver(change.value.id);
          next = changes.next();
        }
        stop();
      } catch (error) {
        stop(error);
      } finally {
        closing.removeEventListener('abort', end);
        who.signal?.removeEventListener('abort', end);
        release();
      }
    });
    // A stream never consumed (the client left before it started) still gives back its channel and its place.
    return {
      [Symbol.asyncIterator]() {
        return this;
      },
      next: () => repeater.next(),
      return: (value?: unknown) => {
        if (!started) {
          void changes.return?.();
          release();
        }
        return repeater.return(value as never);
      },
      throw: (error?: unknown) => repeater.throw(error),
    } as AsyncIterableIterator<Workshop>;
  }
}

function matches(row: Workshop, filter: WorkshopChangeFilter): boolean {
  if (filter.status && row.status !== filter.status) return false;
  if (filter.tag && !row.tags.includes(filter.tag)) return false;
  if (filter.upcoming != null && row.startsAt >= new Date() !== filter.upcoming) return false;
  return true;
}

/**
 * Every write path already names the workshop it changed, after its commit, to the response cache
 * (`Workshop:<id>`): enrolling, cancelling, check-in, updates, publishing, deleting, and flows added
 * later. Live updates ride on that one call, so no write path can invalidate without publishing.
 */
export function publishingWorkshopChanges(cache: CacheInvalidator, live: LiveUpdates): CacheInvalidator {
  return {
    flush: () => cache.flush(),
    invalidate: async (entities) => {
      await cache.invalidate(entities);
      for (const entity of entities) {
        if (entity.typename === 'Workshop' && entity.id != null) live.workshopChanged(decodeGlobalId(String(entity.id)).id);
      }
    },
  };
}
