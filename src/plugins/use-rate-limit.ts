import type { Plugin } from 'graphql-yoga';
import type { Redis } from 'ioredis';
import { RateLimiterMemory, RateLimiterRedis, RateLimiterRes, type RateLimiterAbstract } from 'rate-limiter-flexible';
import { tierOf, type LimitTier, type Limits } from '../config/limits.js';
import { requestPrincipal } from '../modules/auth/request-principal.js';
import { clientAddress, type ProxyTrust } from '../shared/client-address.js';
import { RateLimitedError } from '../shared/errors.js';

/** Who a request counts against: its API key, or its IP address when anonymous. */
function bucketOf(request: Request, serverContext: unknown, trustProxy: ProxyTrust): string {
  const principal = requestPrincipal(request);
  if (principal.kind === 'apiKey') return `key:${principal.keyId}`;
  return `ip:${clientAddress(request, serverContext, trustProxy)}`;
}

/**
 * Fixed one-minute windows per API key / per IP, in Redis so every instance shares them (in memory
 * without Redis, and as insurance while Redis is unreachable). Over the limit: HTTP 429 with
 * Retry-After and a RATE_LIMITED error carrying `retryAfter` seconds.
 */
export function useRateLimit(options: { limits: Record<LimitTier, Limits>; redis: Redis | null; namespace: string; trustProxy: ProxyTrust }): Plugin {
  const limiters = Object.fromEntries(
    (Object.keys(options.limits) as LimitTier[]).map((tier) => {
      const settings = { keyPrefix: `${options.namespace}:rl:${tier}`, points: options.limits[tier].requestsPerMinute, duration: 60 };
      const memory = new RateLimiterMemory(settings);
      const limiter: RateLimiterAbstract = options.redis
        ? new RateLimiterRedis({ ...settings, storeClient: options.redis, insuranceLimiter: memory })
        : memory;
      return [tier, limiter];
    }),
  ) as Record<LimitTier, RateLimiterAbstract>;

  return {
    async onParams({ request, context }) {
      const limiter = limiters[tierOf(requestPrincipal(request))];
      try {
        await limiter.consume(bucketOf(request, context, options.trustProxy));
      } catch (rejection) {
        if (rejection instanceof RateLimiterRes) throw new RateLimitedError(Math.max(1, Math.ceil(rejection.msBeforeNext / 1000)));
        throw rejection;
      }
    },
  };
}
