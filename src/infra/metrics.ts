import type { Redis } from 'ioredis';
import type { RedisClient } from './redis.js';
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import type { JobObserver, JobSystem } from './jobs/types.js';

/** Request buckets reach 10 s and include the latency targets (0.4 s p95, 0.6 s p99), so alerts compare exact buckets. */
const REQUEST_BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.4, 0.6, 1, 2.5, 5, 10];
const FAST_BUCKETS = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1];

/** Label values that come from outside (error codes, Redis command names) are capped: past this many distinct values, `other`. */
const MAX_VALUES_PER_LABEL = 50;

/** Keeps a label's value set bounded: the first `MAX_VALUES_PER_LABEL` distinct values pass, the rest become `other`. */
export function boundedLabel(): (value: string) => string {
  const seen = new Set<string>();
  return (value) => {
    if (seen.has(value)) return value;
    if (seen.size >= MAX_VALUES_PER_LABEL) return 'other';
    seen.add(value);
    return value;
  };
}

/** The service's Prometheus metrics, one registry per app (tests build several apps in one process). */
export function createMetrics() {
  const registry = new Registry();
  // Process CPU, memory, GC, handles and event-loop lag (nodejs_eventloop_lag_seconds).
  collectDefaultMetrics({ register: registry });
  const registers = [registry];
  return {
    registry,
    requestDuration: new Histogram({
      name: 'graphql_request_duration_seconds',
      help: 'GraphQL requests by operation label (persisted <client>/<name>, or ad-hoc) and HTTP status',
      labelNames: ['operation', 'status'] as const,
      buckets: REQUEST_BUCKETS,
      registers,
    }),
    errors: new Counter({
      name: 'graphql_errors_total',
      help: 'GraphQL errors in responses, by extensions.code',
      labelNames: ['code'] as const,
      registers,
    }),
    rejections: new Counter({
      name: 'graphql_rejections_total',
      help: 'Requests refused before execution, by reason: complexity (cost), depth, aliases, directives, tokens, characters, rate_limit, persisted_only, persisted_not_found',
      labelNames: ['reason'] as const,
      registers,
    }),
    cacheLookups: new Counter({
      name: 'response_cache_lookups_total',
      help: 'Response cache lookups by tier (local LRU, then Redis for local misses) and result (hit or miss)',
      labelNames: ['tier', 'result'] as const,
      registers,
    }),
    cacheEarlyAnswers: new Counter({
      name: 'response_cache_early_answers_total',
      help: 'Response cache hits answered before the GraphQL pipeline (anonymous persisted GETs, the fast lane)',
      registers,
    }),
    redisUp: new Gauge({
      name: 'redis_up',
      help: '1 when Redis answered the last readiness check, 0 when not (the instance then serves without it)',
      registers: [registry],
    }),
    redisBreakerOpen: new Gauge({
      name: 'response_cache_redis_breaker_open',
      help: '1 while the response cache skips an unreachable Redis (circuit breaker open or probing)',
      registers,
    }),
    redisCommandDuration: new Histogram({
      name: 'redis_command_duration_seconds',
      help: 'Redis commands by name and outcome (ok or error), as the client saw them',
      labelNames: ['command', 'outcome'] as const,
      buckets: FAST_BUCKETS,
      registers,
    }),
    dbQueryDuration: new Histogram({
      name: 'db_query_duration_seconds',
      help: 'SQL statements sent by Prisma, by kind (select, insert, update, delete, other)',
      labelNames: ['kind'] as const,
      buckets: FAST_BUCKETS,
      registers,
    }),
    dbPoolConnections: new Gauge({
      name: 'db_pool_connections',
      help: 'Postgres pool connections by state: in_use, idle, waiting (requests queued for a connection)',
      labelNames: ['state'] as const,
      registers,
    }),
    dbReplicaUp: new Gauge({
      name: 'db_replica_up',
      help: 'Read replicas (DATABASE_REPLICA_URLS): 1 when the replica gets reads (answering, within DATABASE_REPLICA_MAX_LAG_MS), 0 when skipped',
      labelNames: ['replica'] as const,
      registers,
    }),
    dbReplicaLag: new Gauge({
      name: 'db_replica_lag_seconds',
      help: 'Replay lag of each read replica at its last probe (0 when it has replayed all it received; absent while it is down)',
      labelNames: ['replica'] as const,
      registers,
    }),
    statisticsRefreshDuration: new Histogram({
      name: 'statistics_refresh_duration_seconds',
      help: 'Refreshes of the materialized statistics that ran (not those skipped because another instance held the lock)',
      buckets: [0.1, 0.5, 1, 2.5, 5, 10, 30, 60, 120],
      registers,
    }),
    statisticsRefreshFailures: new Counter({
      name: 'statistics_refresh_failures_total',
      help: 'Statistics refreshes that failed',
      registers,
    }),
    statisticsAge: new Gauge({
      name: 'statistics_age_seconds',
      help: 'Age of the oldest materialized statistics view (what statsAsOf reports), read at scrape time',
      registers,
    }),
    eventsIngested: new Counter({
      name: 'analytics_events_ingested_total',
      help: 'Analytics events sent through trackEvents, by result: accepted or duplicate (ignored)',
      labelNames: ['result'] as const,
      registers,
    }),
    jobDuration: new Histogram({
      name: 'job_duration_seconds',
      help: 'Background jobs run by this process, by queue and outcome (completed, failed: a failed attempt that may be retried)',
      labelNames: ['queue', 'outcome'] as const,
      buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60],
      registers,
    }),
    jobDeadLetters: new Counter({
      name: 'job_dead_letters_total',
      help: 'Jobs that used up their attempts (or failed permanently) and were moved to the dead-letter queue, by queue',
      labelNames: ['queue'] as const,
      registers,
    }),
    queueJobs: new Gauge({
      name: 'job_queue_jobs',
      help: 'Jobs per queue and state (waiting, active, delayed, failed, dead_lettered), read from the job system at scrape time',
      labelNames: ['queue', 'state'] as const,
      registers,
    }),
  };
}

export type Metrics = ReturnType<typeof createMetrics>;

/** Job outcomes into the metrics (see src/infra/jobs). */
export function jobObserver(metrics: Metrics): JobObserver {
  return {
    finished: (queue, seconds, outcome) => metrics.jobDuration.observe({ queue, outcome }, seconds),
    deadLettered: (queue) => metrics.jobDeadLetters.inc({ queue }),
  };
}

/** Queue sizes for /metrics: read once per scrape (bounded to 2 s, so a slow Redis cannot hold the scrape). */
export async function readQueueSizes(metrics: Metrics, jobs: Pick<JobSystem, 'counts'>): Promise<void> {
  const counts = await Promise.race([jobs.counts(), new Promise<null>((resolve) => setTimeout(() => resolve(null), 2000).unref())]).catch(() => null);
  if (!counts) return;
  for (const [queue, c] of Object.entries(counts)) {
    metrics.queueJobs.set({ queue, state: 'waiting' }, c.waiting);
    metrics.queueJobs.set({ queue, state: 'active' }, c.active);
    metrics.queueJobs.set({ queue, state: 'delayed' }, c.delayed);
    metrics.queueJobs.set({ queue, state: 'failed' }, c.failed);
    metrics.queueJobs.set({ queue, state: 'dead_lettered' }, c.deadLettered);
  }
}

/** `select`, `insert`, `update`, `delete` or `other`, from a statement's first word. */
export function statementKind(sql: string): string {
  const word = /^\s*(\w+)/.exec(sql)?.[1]?.toLowerCase();
  return word === 'select' || word === 'insert' || word === 'update' || word === 'delete' ? word : 'other';
}

/**
 * Times every command this ioredis client sends. ioredis has no command hooks; `sendCommand` is the
 * one method every command goes through, and each command carries the promise it settles.
 */
export function instrumentRedis(redis: RedisClient, metrics: Metrics): void {
  const command = boundedLabel();
  // On a cluster this is the client's own sendCommand, so a command is timed with its redirections and retries.
  const client = redis as Pick<Redis, 'sendCommand'>;
  const send = client.sendCommand.bind(redis);
  client.sendCommand = (cmd, ...rest) => {
    const end = metrics.redisCommandDuration.startTimer({ command: command(cmd.name.toLowerCase()) });
    cmd.promise.then(
      () => end({ outcome: 'ok' }),
      () => end({ outcome: 'error' }),
    );
    return send(cmd, ...rest);
  };
}

/** Rejections before execution, by the error code that refused them (QUERY_TOO_COMPLEX carries its limit). */
const REJECTION_BY_CODE: Record<string, string> = {
  RATE_LIMITED: 'rate_limit',
  PERSISTED_QUERY_ONLY: 'persisted_only',
  PERSISTED_QUERY_NOT_FOUND: 'persisted_not_found',
};
const COMPLEXITY_LIMITS = new Set(['depth', 'aliases', 'directives', 'tokens', 'characters']);

/** The rejection reason an error stands for, or null when it is not a rejection. */
export function rejectionReason(error: { code: string; limit?: string }): string | null {
  if (error.code === 'QUERY_TOO_COMPLEX') return error.limit && COMPLEXITY_LIMITS.has(error.limit) ? error.limit : 'complexity';
  return REJECTION_BY_CODE[error.code] ?? null;
}

/** Statement timings from Prisma's query events (see DatabaseOptions.onQuery). */
export function observeQuery(metrics: Metrics): (sql: string, durationMs: number) => void {
  return (sql, durationMs) => metrics.dbQueryDuration.observe({ kind: statementKind(sql) }, durationMs / 1000);
}

/** What the services report about their background work (statistics refreshes, event ingestion). */
export interface ServiceObserver {
  statisticsRefreshed(seconds: number, ok: boolean): void;
  eventsTracked(accepted: number, duplicates: number): void;
}

export function serviceObserver(metrics: Metrics): ServiceObserver {
  return {
    statisticsRefreshed(seconds, ok) {
      if (ok) metrics.statisticsRefreshDuration.observe(seconds);
      else metrics.statisticsRefreshFailures.inc();
    },
    eventsTracked(accepted, duplicates) {
      metrics.eventsIngested.inc({ result: 'accepted' }, accepted);
      metrics.eventsIngested.inc({ result: 'duplicate' }, duplicates);
    },
  };
}
