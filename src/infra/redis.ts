import { Cluster, Redis, type ClusterOptions, type RedisOptions } from 'ioredis';
import type { Logger } from './logger.js';

/** One Redis server, or a Redis Cluster (ioredis' Cluster client): everything that uses Redis takes either. */
export type RedisClient = Redis | Cluster;

export interface ClusterNode {
  host: string;
  port: number;
}

/** Where Redis is: a redis:// URL (REDIS_URL), or a cluster's seed nodes (REDIS_CLUSTER_NODES). */
export type RedisTarget = string | { clusterNodes: ClusterNode[] };

export function isCluster(client: RedisClient): client is Cluster {
  return (client as Cluster).isCluster === true;
}

/** Settings of each connection (to the one server, or to each cluster node). */
const CONNECTION: RedisOptions = {
  // Fail fast instead of queueing commands forever while Redis is down.
  maxRetriesPerRequest: 1,
  connectTimeout: 2000,
  // A Redis that stops answering must not hold requests: the cache's circuit breaker takes over.
  commandTimeout: 500,
};

/** Reconnect within half a second of Redis coming back, however long it was gone (ioredis backs off to 2 s). */
const retry = (attempt: number) => Math.min(attempt * 50, 500);

/**
 * The Cluster client's settings. Reads go to masters only (`scaleReads: 'master'`): replicas copy
 * asynchronously, so one could still serve a cached answer an invalidation has just deleted. A command
 * that meets MOVED/ASK follows the redirect; one whose node went away (a failover) or that meets
 * TRYAGAIN/CLUSTERDOWN is retried every 100 ms on refreshed slots, up to 16 redirections.
 */
function clusterOptions(overrides: Partial<ClusterOptions>): ClusterOptions {
  return {
    enableOfflineQueue: false,
    scaleReads: 'master',
    clusterRetryStrategy: retry,
    retryDelayOnFailover: 100,
    retryDelayOnClusterDown: 100,
    retryDelayOnTryAgain: 100,
    slotsRefreshTimeout: 1000,
    ...overrides,
    redisOptions: { ...CONNECTION, ...overrides.redisOptions },
  };
}

/**
 * A Cluster client of its own (the job queues need other retry settings than the app's connection).
 * `lazyConnect`: it connects with its first command, or when BullMQ connects it.
 */
export function clusterClient(nodes: ClusterNode[], overrides: Partial<ClusterOptions> = {}): Cluster {
  return new Cluster(nodes, clusterOptions(overrides));
}

/** Redis when REDIS_URL or REDIS_CLUSTER_NODES is set; callers fall back to in-memory stores when this is null. */
export function connectRedis(target: string, logger: Logger): Redis;
export function connectRedis(target: RedisTarget | null | undefined, logger: Logger): RedisClient | null;
export function connectRedis(target: RedisTarget | null | undefined, logger: Logger): RedisClient | null {
  if (!target) return null;
  const redis: RedisClient =
    typeof target === 'string'
      ? new Redis(target, { ...CONNECTION, enableOfflineQueue: false, retryStrategy: retry, lazyConnect: false })
      : clusterClient(target.clusterNodes);
  redis.on('error', (error: Error) => logger.warn({ err: error.message }, 'redis error'));
  return redis;
}

/**
 * Another connection to the same Redis (a subscriber: a connection in subscriber mode can run
 * nothing else). On a cluster, ioredis subscribes on one node and moves the subscription to another
 * when that node goes away; PUBLISH reaches every node.
 */
export function duplicateConnection(client: RedisClient, overrides: { enableOfflineQueue?: boolean } = {}): RedisClient {
  return isCluster(client) ? client.duplicate([], overrides) : client.duplicate(overrides);
}
