import type { Logger } from '../logger.js';
import type { RedisTarget } from '../redis.js';
import { BullJobs } from './bullmq.js';
import { InProcessJobs } from './in-process.js';
import type { JobObserver, JobSystem } from './types.js';

export * from './types.js';

export interface JobSystemOptions {
  /** A redis:// URL or a cluster's nodes; none: the in-process runner. */
  redis?: RedisTarget | null;
  /** Deployments sharing a Redis need different ones (CACHE_NAMESPACE). */
  namespace: string;
  backoffMs: number;
  lockMs: number;
  logger: Logger;
  observer?: JobObserver;
}

/**
 * BullMQ on Redis when there is one; otherwise the in-process runner with the same rules. The key
 * prefix is a hash tag, `{<namespace>:jobs}`, as BullMQ needs on a Redis Cluster (each queue's scripts
 * touch several of its keys, which must share a slot): all queues of a deployment live on one shard.
 */
export function createJobSystem(options: JobSystemOptions): JobSystem {
  if (!options.redis) return new InProcessJobs(options);
  return new BullJobs({ ...options, redis: options.redis, prefix: `{${options.namespace}:jobs}` });
}
