import { timingSafeEqual } from 'node:crypto';
import type { Plugin } from 'graphql-yoga';
import type { TwoTierCache } from '../infra/cache/two-tier-cache.js';
import type { Database } from '../infra/db.js';
import { boundedLabel, readQueueSizes, rejectionReason, type Metrics } from '../infra/metrics.js';
import type { JobSystem } from '../infra/jobs/types.js';
import type { StatisticsService } from '../modules/analytics/statistics-service.js';
import { isAdmin } from '../modules/auth/principal.js';
import type { ApiKeyAuthenticator } from '../modules/auth/api-keys-service.js';
import type { SummaryReporter } from './use-request-summary.js';
import { requestUrl } from '../shared/request-url.js';

function sameSecret(given: string, expected: string): boolean {
  const a = Buffer.from(given);
  const b = Buffer.from(expected);
  return a.length === b.length && timingSafeEqual(a, b);
}

/**
 * Prometheus metrics on GET /metrics. Unless relaxed (env.relaxed) only for ADMIN keys or the METRICS_TOKEN
 * (a bearer token that opens /metrics and nothing else, for Prometheus). Gauges that describe
 * state elsewhere (cache tiers, the pool, statistics age) are read at scrape time.
 *
 * Not @graphql-yoga/plugin-prometheus (@envelop/prometheus): it observes request durations only for
 * requests that reached parsing, so cache hits (answered before parsing) and requests refused
 * early (rate limits, persisted-only) would be missing from latency and error figures, and its
 * operationName label is whatever the client sent (unbounded). Request figures come from
 * use-request-summary instead, with a bounded operation label.
 */
export function useMetrics(options: {
  metrics: Metrics;
  cache: TwoTierCache;
  database: Database;
  statistics: StatisticsService;
  authenticator: ApiKeyAuthenticator;
  relaxed: boolean;
  metricsToken?: string;
  /** Queue sizes are read from here at scrape time. */
  jobs?: Pick<JobSystem, 'counts'> | null;
}): Plugin {
  const { metrics, cache } = options;
  const seen = { local: 0, redis: 0, miss: 0 };

  async function allowed(request: Request): Promise<boolean> {
    if (options.relaxed) return true;
    const authorization = request.headers.get('authorization') ?? '';
    if (options.metricsToken && sameSecret(authorization, `Bearer ${options.metricsToken}`)) return true;
    const principal = await options.authenticator.authenticate(authorization || null).catch(() => null);
    return principal !== null && isAdmin(principal);
  }

  async function readState(): Promise<void> {
    // Lookups are counted by the store; carry its totals over since the last scrape. A local miss goes on to Redis.
    const delta = { local: cache.stats.local - seen.local, redis: cache.stats.redis - seen.redis, miss: cache.stats.miss - seen.miss };
    Object.assign(seen, cache.stats);
    metrics.cacheLookups.inc({ tier: 'local', result: 'hit' }, delta.local);
    metrics.cacheLookups.inc({ tier: 'local', result: 'miss' }, delta.redis + delta.miss);
    metrics.cacheLookups.inc({ tier: 'redis', result: 'hit' }, delta.redis);
    metrics.cacheLookups.inc({ tier: 'redis', result: 'miss' }, delta.miss);
    const pool = options.database.poolStats?.();
    if (pool) {
      metrics.dbPoolConnections.set({ state: 'in_use' }, pool.total - pool.idle);
      metrics.dbPoolConnections.set({ state: 'idle' }, pool.idle);
      metrics.dbPoolConnections.set({ state: 'waiting' }, pool.waiting);
    }
    for (const replica of options.database.replicas?.status() ?? []) {
      metrics.dbReplicaUp.set({ replica: replica.name }, replica.usable ? 1 : 0);
      if (replica.lagMs === null) metrics.dbReplicaLag.remove({ replica: replica.name });
      else metrics.dbReplicaLag.set({ replica: replica.name }, replica.lagMs / 1000);
    }
    try {
      metrics.statisticsAge.set((Date.now() - (await options.statistics.asOf()).getTime()) / 1000);
    } catch {
      // The database is unreachable: the age is unknown, and the outage shows in the other metrics.
      metrics.statisticsAge.set(Number.NaN);
    }
    if (options.jobs) await readQueueSizes(metrics, options.jobs);
  }

  return {
    async onRequest({ request, endResponse }) {
      if (requestUrl(request).pathname !== '/metrics') return;
      if (!(await allowed(request))) return endResponse(new Response('Forbidden', { status: 403 }));
      await readState();
      endResponse(new Response(await metrics.registry.metrics(), { headers: { 'content-type': metrics.registry.contentType } }));
    },
  };
}

/** Request durations, errors by code and rejections by reason, from each request's summary. */
export function requestMetrics(metrics: Metrics): SummaryReporter {
  const code = boundedLabel();
  return (summary) => {
    metrics.requestDuration.observe({ operation: summary.operation, status: String(summary.status) }, summary.durationMs / 1000);
    for (const error of summary.errors) {
      metrics.errors.inc({ code: code(error.code) });
      const reason = rejectionReason(error);
      if (reason) metrics.rejections.inc({ reason });
    }
  };
}
