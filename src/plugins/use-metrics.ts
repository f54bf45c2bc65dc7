import type { Plugin } from 'graphql-yoga';
import type { TwoTierCache } from '../infra/cache/two-tier-cache.js';
import type { Metrics } from '../infra/metrics.js';
import { isAdmin } from '../modules/auth/principal.js';
import type { ApiKeyAuthenticator } from '../modules/auth/api-keys-service.js';
import { operationLabel } from './use-persisted-operations.js';

/**
 * Prometheus metrics on GET /metrics (in production for ADMIN keys only): request durations by
 * bounded operation label, response cache lookups and the Redis breaker state.
 */
export function useMetrics(options: { metrics: Metrics; cache: TwoTierCache; authenticator: ApiKeyAuthenticator; production: boolean }): Plugin {
  const { metrics, cache } = options;
  const started = new WeakMap<Request, number>();
  const seen = { local: 0, redis: 0, miss: 0 };
  return {
    async onRequest({ request, endResponse }) {
      if (new URL(request.url).pathname !== '/metrics') {
        started.set(request, performance.now());
        return;
      }
      if (options.production) {
        const principal = await options.authenticator.authenticate(request.headers.get('authorization')).catch(() => null);
        if (!principal || !isAdmin(principal)) return endResponse(new Response('Forbidden', { status: 403 }));
      }
      // Cache lookups are counted by the store; carry its totals over since the last scrape.
      for (const result of ['local', 'redis', 'miss'] as const) {
        metrics.cacheLookups.inc({ result }, cache.stats[result] - seen[result]);
        seen[result] = cache.stats[result];
      }
      endResponse(new Response(await metrics.registry.metrics(), { headers: { 'content-type': metrics.registry.contentType } }));
    },
    onResponse({ request, response }) {
      const start = started.get(request);
      if (start === undefined || !new URL(request.url).pathname.endsWith('/graphql')) return;
      metrics.requestDuration.observe({ operation: operationLabel(request), status: String(response.status) }, (performance.now() - start) / 1000);
    },
  };
}
