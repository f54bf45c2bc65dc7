import type { Logger } from '../logger.js';
import {
  backoffDelay,
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

interface Entry {
  queue: QueueName;
  spec: JobSpec;
  runAt: number;
  attemptsMade: number;
  state: 'waiting' | 'active' | 'completed' | 'dead';
  error?: Error;
}

/** Finished job ids remembered for de-duplication, per queue (BullMQ keeps completed jobs the same way). */
const KEEP_COMPLETED = 5000;

/**
 * The job system without Redis (the embedded default, `npm start` with nothing else): the same
 * queues, handlers, job-id de-duplication, attempts, exponential backoff and dead letters as the
 * BullMQ runner, in this process's memory. Hand-written because BullMQ runs only on Redis; it is
 * deliberately small (one process, jobs lost on exit: the outbox re-enqueues unsent mail at start)
 * and not meant for a fleet.
 */
export class InProcessJobs implements JobSystem {
  readonly kind = 'in-process' as const;
  private readonly entries = new Map<string, Entry>();
  private readonly completed: Record<QueueName, string[]> = { mail: [], alerts: [], newsletters: [], maintenance: [] };
  private readonly active: Record<QueueName, Set<Promise<void>>> = { mail: new Set(), alerts: new Set(), newsletters: new Set(), maintenance: new Set() };
  private handlers: JobHandlers = {};
  private working = new Set<QueueName>();
  private timers = new Set<NodeJS.Timeout>();
  private closed = false;

  constructor(private readonly options: { backoffMs: number; logger: Logger; observer?: JobObserver }) {}

  async enqueue(queue: QueueName, jobs: JobSpec[]): Promise<void> {
    if (this.closed) throw new Error('the job system is closed');
    for (const spec of jobs) {
      // The same rule as BullMQ's, so an id that works here works there.
      if (spec.id.includes(':')) throw new Error(`job ids cannot contain ":" (${spec.id})`);
      const key = `${queue}:${spec.id}`;
      if (this.entries.has(key)) continue;
      this.entries.set(key, { queue, spec, runAt: Date.now() + (spec.delayMs ?? 0), attemptsMade: 0, state: 'waiting' });
    }
    this.pump(queue);
  }

  async every(queue: QueueName, name: string, everyMs: number): Promise<void> {
    const timer = setInterval(() => void this.enqueue(queue, [{ name, id: `every-${name}-${Math.floor(Date.now() / everyMs)}`, data: {} }]).catch(() => {}), everyMs);
    timer.unref();
    this.timers.add(timer);
  }

  work(handlers: JobHandlers, queues: QueueName[] = QUEUE_NAMES): void {
    this.handlers = { ...this.handlers, ...handlers };
    for (const queue of queues) {
      this.working.add(queue);
      this.pump(queue);
    }
  }

  async counts(): Promise<Record<QueueName, QueueCounts>> {
    const now = Date.now();
    const result = Object.fromEntries(QUEUE_NAMES.map((q) => [q, { waiting: 0, active: 0, delayed: 0, failed: 0, deadLettered: 0 }])) as Record<QueueName, QueueCounts>;
    for (const entry of this.entries.values()) {
      const counts = result[entry.queue];
      if (entry.state === 'active') counts.active++;
      else if (entry.state === 'dead') (counts.failed++, counts.deadLettered++);
      else if (entry.state === 'waiting') entry.runAt > now ? counts.delayed++ : counts.waiting++;
    }
    return result;
  }

  async retryDeadLetters(queue: QueueName): Promise<number> {
    let retried = 0;
    for (const entry of this.entries.values()) {
      if (entry.queue !== queue || entry.state !== 'dead') continue;
      Object.assign(entry, { state: 'waiting', attemptsMade: 0, runAt: Date.now(), error: undefined });
      retried++;
    }
    this.pump(queue);
    return retried;
  }

  async close(): Promise<void> {
    this.closed = true;
    for (const timer of this.timers) clearTimeout(timer);
    this.timers.clear();
    await Promise.all(QUEUE_NAMES.flatMap((q) => [...this.active[q]]));
  }

  /** Starts due jobs up to the queue's concurrency and arms a timer for the next delayed one. */
  private pump(queue: QueueName): void {
    if (this.closed || !this.working.has(queue)) return;
    const now = Date.now();
    let next = Infinity;
    for (const entry of this.entries.values()) {
      if (entry.queue !== queue || entry.state !== 'waiting') continue;
      if (entry.runAt > now) {
        next = Math.min(next, entry.runAt);
        continue;
      }
      if (this.active[queue].size >= QUEUES[queue].concurrency) return;
      const running = this.run(entry).finally(() => {
        this.active[queue].delete(running);
        this.pump(queue);
      });
      this.active[queue].add(running);
    }
    if (next < Infinity) {
      const timer = setTimeout(() => (this.timers.delete(timer), this.pump(queue)), Math.max(0, next - now));
      timer.unref();
      this.timers.add(timer);
    }
  }

  private async run(entry: Entry): Promise<void> {
    const { queue, spec } = entry;
    entry.state = 'active';
    const context: JobContext = { jobId: spec.id, attemptsMade: entry.attemptsMade, attempts: QUEUES[queue].attempts };
    const handler = this.handlers[queue]?.[spec.name];
    const started = performance.now();
    try {
      if (!handler) throw new PermanentJobError(`no handler for ${queue}:${spec.name}`);
      await handler.run(spec.data, context);
      entry.state = 'completed';
      this.options.observer?.finished(queue, (performance.now() - started) / 1000, 'completed');
      this.forgetOldCompleted(queue, `${queue}:${spec.id}`);
    } catch (thrown) {
      const error = thrown instanceof Error ? thrown : new Error(String(thrown));
      entry.attemptsMade++;
      entry.error = error;
      this.options.observer?.finished(queue, (performance.now() - started) / 1000, 'failed');
      if (entry.attemptsMade < context.attempts && !(error instanceof PermanentJobError)) {
        entry.state = 'waiting';
        entry.runAt = Date.now() + backoffDelay(this.options.backoffMs, entry.attemptsMade);
        return;
      }
      entry.state = 'dead';
      this.options.observer?.deadLettered(queue);
      this.options.logger.warn({ queue, job: spec.name, id: spec.id, attempts: entry.attemptsMade, err: error.message }, 'job dead-lettered');
      await handler?.dead?.(spec.data, error, { ...context, attemptsMade: entry.attemptsMade }).catch((e: Error) => this.options.logger.warn({ err: e.message }, 'dead-letter hook failed'));
    }
  }

  private forgetOldCompleted(queue: QueueName, key: string): void {
    const list = this.completed[queue];
    list.push(key);
    while (list.length > KEEP_COMPLETED) this.entries.delete(list.shift()!);
  }
}
