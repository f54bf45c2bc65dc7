import { Queue, UnrecoverableError, Worker, type ConnectionOptions, type Job } from 'bullmq';
import type { Cluster } from 'ioredis';
import type { Logger } from '../logger.js';
import { clusterClient, type RedisTarget } from '../redis.js';
import {
  DEAD_LETTER_QUEUE,
  PermanentJobError,
  QUEUE_NAMES,
  QUEUES,
  type JobContext,
  type JobHandlers,
  type JobObserver,
  type JobSpec,
  type JobSystem,
  type QueueCounts,
  type QueueName,
} from './types.js';

export interface BullJobsOptions {
  redis: RedisTarget;
  /** Key prefix; a hash tag (`{…}`) keeps each queue's keys in one Redis Cluster slot. */
  prefix: string;
  backoffMs: number;
  /** The visibility timeout: a job whose worker stops renewing its lock this long is taken over by another. */
  lockMs: number;
  logger: Logger;
  observer?: JobObserver;
}

/** Dead letters read per queue for counts and retries (the dead-letter queue is bounded by what operators leave in it). */
const DEAD_LETTER_PAGE = 1000;

interface DeadLetter {
  queue: QueueName;
  name: string;
  jobId: string;
  data: unknown;
  error: string;
  attemptsMade: number;
}

/**
 * The job system on Redis, through BullMQ: one Queue per name (producers), Workers where `work()`
 * is called (the API with WORKERS=inline, or `npm run worker`). Retries use BullMQ's exponential
 * backoff; a job that used up its attempts stays in BullMQ's failed set and is copied to our own
 * `dead-letter` queue (BullMQ has none), where `retryDeadLetters` finds it.
 */
export class BullJobs implements JobSystem {
  readonly kind = 'bullmq' as const;
  private readonly queues: Record<QueueName, Queue>;
  private readonly deadLetters: Queue<DeadLetter>;
  private readonly workers: Worker[] = [];
  /** Cluster clients made for BullMQ (it duplicates them and leaves the originals to us). */
  private readonly clusters: Cluster[] = [];

  constructor(private readonly options: BullJobsOptions) {
    const producer = this.connection(false);
    const make = <T>(name: string) => {
      const queue = new Queue<T>(name, { connection: producer, prefix: options.prefix });
      queue.on('error', (error) => options.logger.warn({ queue: name, err: error.message }, 'job queue error'));
      return queue;
    };
    this.queues = Object.fromEntries(QUEUE_NAMES.map((name) => [name, make(name)])) as Record<QueueName, Queue>;
    this.deadLetters = make<DeadLetter>(DEAD_LETTER_QUEUE);
  }

  /**
   * Workers block on Redis and must retry forever (BullMQ requires maxRetriesPerRequest: null);
   * producers fail a command after a couple of tries, so a write path never hangs on a dead Redis.
   * Both reconnect within 2 s of Redis coming back (BullMQ's default backs off to 20 s).
   */
  private connection(blocking: boolean): ConnectionOptions {
    const maxRetriesPerRequest = blocking ? null : 2;
    const retryStrategy = (times: number) => Math.min(times * 200, 2000);
    const { redis } = this.options;
    if (typeof redis === 'string') return { url: redis, maxRetriesPerRequest, connectTimeout: 2000, retryStrategy };
    // On a cluster BullMQ takes a client, not options. Queued while (re)connecting, as a BullMQ
    // connection to one server is; no command timeout (a worker blocks on BZPOPMIN for seconds).
    const cluster = clusterClient(redis.clusterNodes, {
      lazyConnect: true,
      enableOfflineQueue: true,
      clusterRetryStrategy: retryStrategy,
      redisOptions: { maxRetriesPerRequest, commandTimeout: undefined },
    });
    this.clusters.push(cluster);
    return cluster;
  }

  async enqueue(queue: QueueName, jobs: JobSpec[]): Promise<void> {
    if (jobs.length === 0) return;
    await this.queues[queue].addBulk(
      jobs.map((job) => ({
        name: job.name,
        data: job.data,
        opts: {
          jobId: job.id,
          delay: job.delayMs,
          attempts: QUEUES[queue].attempts,
          backoff: { type: 'exponential', delay: this.options.backoffMs },
          // Kept a while so a re-enqueue of the same id (the outbox relay's at-least-once) is ignored.
          removeOnComplete: { age: 24 * 3600, count: 50_000 },
          removeOnFail: { age: 7 * 24 * 3600 },
        },
      })),
    );
  }

  async every(queue: QueueName, name: string, everyMs: number): Promise<void> {
    await this.queues[queue].upsertJobScheduler(name, { every: everyMs }, {
      name,
      data: {},
      opts: { attempts: QUEUES[queue].attempts, backoff: { type: 'exponential', delay: this.options.backoffMs }, removeOnComplete: 100, removeOnFail: 100 },
    });
  }

  work(handlers: JobHandlers, queues: QueueName[] = QUEUE_NAMES): void {
    const { logger, observer, prefix, lockMs } = this.options;
    for (const queue of queues) {
      const byName = handlers[queue] ?? {};
      const context = (job: Job): JobContext => ({ jobId: job.id!, attemptsMade: job.attemptsMade, attempts: job.opts.attempts ?? 1 });
      const worker = new Worker(
        queue,
        async (job) => {
          const handler = byName[job.name];
          if (!handler) throw new UnrecoverableError(`no handler for ${queue}:${job.name}`);
          const started = performance.now();
          try {
            const result = await handler.run(job.data, context(job));
            observer?.finished(queue, (performance.now() - started) / 1000, 'completed');
            return result;
          } catch (error) {
            observer?.finished(queue, (performance.now() - started) / 1000, 'failed');
            if (error instanceof PermanentJobError) throw new UnrecoverableError(error.message);
            throw error;
          }
        },
        {
          connection: this.connection(true),
          prefix,
          concurrency: QUEUES[queue].concurrency,
          lockDuration: lockMs,
          stalledInterval: Math.max(1000, Math.floor(lockMs / 3)),
          maxStalledCount: 2,
        },
      );
      worker.on('error', (error) => logger.warn({ queue, err: error.message }, 'job worker error'));
      worker.on('failed', (job, error) => {
        if (!job) return;
        const exhausted = job.attemptsMade >= (job.opts.attempts ?? 1) || error instanceof UnrecoverableError || error.name === 'UnrecoverableError';
        if (!exhausted) return;
        void this.deadLetter(queue, job, error, byName[job.name]?.dead).catch((e: Error) => logger.warn({ queue, err: e.message }, 'dead-lettering failed'));
      });
      this.workers.push(worker);
    }
  }

  private async deadLetter(queue: QueueName, job: Job, error: Error, hook?: (data: any, error: Error, context: JobContext) => Promise<unknown>): Promise<void> {
    await this.deadLetters.add(
      `${queue}:${job.name}`,
      { queue, name: job.name, jobId: job.id!, data: job.data, error: error.message, attemptsMade: job.attemptsMade },
      // One dead letter per job (a failed event seen twice adds nothing).
      { jobId: `${queue}-${job.id}-${job.attemptsStarted ?? job.attemptsMade}`, removeOnComplete: true },
    );
    this.options.observer?.deadLettered(queue);
    this.options.logger.warn({ queue, job: job.name, id: job.id, attempts: job.attemptsMade, err: error.message }, 'job dead-lettered');
    await hook?.(job.data, error, { jobId: job.id!, attemptsMade: job.attemptsMade, attempts: job.opts.attempts ?? 1 });
  }

  private async deadLettersOf(queue: QueueName): Promise<Job<DeadLetter>[]> {
    const jobs = await this.deadLetters.getJobs(['waiting', 'delayed', 'prioritized'], 0, DEAD_LETTER_PAGE - 1);
    return jobs.filter((job) => job?.data?.queue === queue);
  }

  async counts(): Promise<Record<QueueName, QueueCounts>> {
    const entries = await Promise.all(
      QUEUE_NAMES.map(async (name) => {
        const [counts, dead] = await Promise.all([this.queues[name].getJobCounts('waiting', 'prioritized', 'active', 'delayed', 'failed'), this.deadLettersOf(name)]);
        return [name, { waiting: (counts.waiting ?? 0) + (counts.prioritized ?? 0), active: counts.active ?? 0, delayed: counts.delayed ?? 0, failed: counts.failed ?? 0, deadLettered: dead.length }] as const;
      }),
    );
    return Object.fromEntries(entries) as Record<QueueName, QueueCounts>;
  }

  async retryDeadLetters(queue: QueueName): Promise<number> {
    let retried = 0;
    for (const letter of await this.deadLettersOf(queue)) {
      const { jobId, name, data } = letter.data;
      // The failed original still holds the id; remove it so the id can be used again.
      const original = await this.queues[queue].getJob(jobId);
      if (original && (await original.isFailed())) await original.remove();
      await this.enqueue(queue, [{ name, id: jobId, data }]);
      await letter.remove();
      retried++;
    }
    return retried;
  }

  async close(): Promise<void> {
    // Workers first: each waits for its running jobs, then stops taking new ones.
    await Promise.all(this.workers.map((worker) => worker.close()));
    await Promise.all([...Object.values(this.queues), this.deadLetters].map((queue) => queue.close()));
    await Promise.all(this.clusters.map((cluster) => (cluster.status === 'wait' ? cluster.disconnect() : cluster.quit().catch(() => cluster.disconnect()))));
  }
}
