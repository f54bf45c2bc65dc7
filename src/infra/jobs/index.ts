import type { Logger } from '../logger.js';
import { BullJobs } from './bullmq.js';
import { InProcessJobs } from './in-process.js';
import type { JobObserver, JobSystem } from './types.js';

export * from './types.js';

export interface JobSystemOptions {
  redisUrl?: string;
  /** Deployments sharing a Redis need different ones (CACHE_NAMESPACE). */
  namespace: string;
  backoffMs: number;
  lockMs: number;
  logger: Logger;
  observer?: JobObserver;
}

/** BullMQ on Redis when there is a REDIS_URL; otherwise the in-process runner with the same rules. */
export function createJobSystem(options: JobSystemOptions): JobSystem {
  if (!options.redisUrl) return new InProcessJobs(options);
  return new BullJobs({ ...options, redisUrl: options.redisUrl, prefix: `{${options.namespace}:jobs}` });
}
