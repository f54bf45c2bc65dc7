/**
 * The job system's vocabulary, shared by the BullMQ runner (with Redis) and the in-process runner
 * (without): the same queues, handlers and retry rules either way.
 */

export type QueueName = 'mail' | 'alerts' | 'newsletters' | 'maintenance';

export interface QueuePolicy {
  /** Attempts before the job is dead-lettered. */
  attempts: number;
  /** Jobs of this queue a worker runs at once. */
  concurrency: number;
}

/**
 * Alerts have their own queue and the most workers, so a newsletter fan-out never delays them
 * (BullMQ priorities order jobs within one queue only). Maintenance runs one job at a time.
 */
export const QUEUES: Record<QueueName, QueuePolicy> = {
  alerts: { attempts: 6, concurrency: 8 },
  mail: { attempts: 8, concurrency: 5 },
  newsletters: { attempts: 6, concurrency: 8 },
  maintenance: { attempts: 3, concurrency: 1 },
};

export const QUEUE_NAMES = Object.keys(QUEUES) as QueueName[];

/** The queue that holds copies of jobs that used up their attempts (BullMQ has no dead-letter queue of its own). */
export const DEAD_LETTER_QUEUE = 'dead-letter';

/** Exponential backoff, as BullMQ's `exponential` type computes it: base × 2^(attempt − 1). */
export function backoffDelay(baseMs: number, attemptsMade: number): number {
  return baseMs * 2 ** Math.max(0, attemptsMade - 1);
}

export interface JobContext {
  jobId: string;
  /** Attempts before this one (0 on the first run). */
  attemptsMade: number;
  /** Attempts this job gets in all. */
  attempts: number;
}

export interface JobHandler<T = any> {
  run(data: T, context: JobContext): Promise<unknown>;
  /** Called once when the job used up its attempts (or failed permanently) and was dead-lettered. */
  dead?(data: T, error: Error, context: JobContext): Promise<unknown>;
}

/** Handlers by queue, then by job name. */
export type JobHandlers = Partial<Record<QueueName, Record<string, JobHandler>>>;

export interface JobSpec {
  name: string;
  /**
   * One logical job, one id (e.g. `newsletter-<id>-<subscriber>`): adding a job whose id is still
   * known (waiting, running, kept as done) does nothing. No `:` (BullMQ refuses it in custom ids).
   */
  id: string;
  data: unknown;
  delayMs?: number;
}

export interface QueueCounts {
  waiting: number;
  active: number;
  delayed: number;
  failed: number;
  deadLettered: number;
}

/** Reports job outcomes to the metrics. */
export interface JobObserver {
  finished(queue: QueueName, seconds: number, outcome: 'completed' | 'failed'): void;
  deadLettered(queue: QueueName): void;
}

export interface JobSystem {
  readonly kind: 'bullmq' | 'in-process';
  enqueue(queue: QueueName, jobs: JobSpec[]): Promise<void>;
  /**
   * Runs `name` every `everyMs`. With Redis this is a BullMQ job scheduler: one per fleet, whichever
   * instance upserts it; without, a timer in this process.
   */
  every(queue: QueueName, name: string, everyMs: number): Promise<void>;
  /** Starts working `queues` with `handlers` in this process. */
  work(handlers: JobHandlers, queues?: QueueName[]): void;
  counts(): Promise<Record<QueueName, QueueCounts>>;
  /** Sends a queue's dead-lettered jobs again, with fresh attempts; returns how many. */
  retryDeadLetters(queue: QueueName): Promise<number>;
  /** Stops taking jobs and waits for those running to finish (graceful shutdown). */
  close(): Promise<void>;
}

/** A failure that no retry can mend (e.g. the row is gone): the job is dead-lettered at once. */
export class PermanentJobError extends Error {
  override name = 'PermanentJobError';
}
