import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';

/** The service's Prometheus metrics, one registry per app (tests build several apps in one process). */
export function createMetrics() {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry });
  return {
    registry,
    requestDuration: new Histogram({
      name: 'graphql_request_duration_seconds',
      help: 'GraphQL requests by operation label (persisted <client>/<name>, or ad-hoc) and HTTP status',
      labelNames: ['operation', 'status'] as const,
      buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.15, 0.25, 0.5, 1, 2.5],
      registers: [registry],
    }),
    cacheLookups: new Counter({
      name: 'response_cache_lookups_total',
      help: 'Response cache lookups by result: local (LRU hit), redis (Redis hit) or miss',
      labelNames: ['result'] as const,
      registers: [registry],
    }),
    redisUp: new Gauge({
      name: 'redis_up',
      help: '1 when Redis answered the last readiness check, 0 when not (the instance then serves without it)',
      registers: [registry],
    }),
    redisBreakerOpen: new Gauge({
      name: 'response_cache_redis_breaker_open',
      help: '1 while the response cache skips an unreachable Redis (circuit breaker open or probing)',
      registers: [registry],
    }),
  };
}

export type Metrics = ReturnType<typeof createMetrics>;
