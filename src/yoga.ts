import { useCSRFPrevention } from '@graphql-yoga/plugin-csrf-prevention';
import { createYoga, useReadinessCheck, type YogaServerInstance } from 'graphql-yoga';
import type { Redis } from 'ioredis';
import { tierOf } from './config/limits.js';
import { createLoaders, type Context } from './context.js';
import type { Env } from './env.js';
import { codeDigest } from './infra/cache/build-id.js';
import type { TwoTierCache } from './infra/cache/two-tier-cache.js';
import type { Database } from './infra/db.js';
import type { Logger } from './infra/logger.js';
import type { Metrics } from './infra/metrics.js';
import { loadPersistedManifests } from './infra/persisted-manifests.js';
import { ApiKeyAuthenticator } from './modules/auth/api-keys-service.js';
import { requestPrincipal } from './modules/auth/request-principal.js';
import { GRAPHIQL_OPTIONS, renderOfflineGraphiQL } from './graphiql-example.js';
import { useArmor } from './plugins/use-armor.js';
import { useAuthentication } from './plugins/use-authentication.js';
import { useCompression } from './plugins/use-compression.js';
import { useMediaTypeError } from './plugins/use-media-type-error.js';
import { useMetrics } from './plugins/use-metrics.js';
import { useOperationLog } from './plugins/use-operation-log.js';
import { usePersistedOperations } from './plugins/use-persisted-operations.js';
import { useResponseCache } from './plugins/use-response-cache.js';
import { useTextGuard } from './plugins/use-text-guard.js';
import { useRateLimit } from './plugins/use-rate-limit.js';
import { schema } from './schema.js';
import { createServices, type Services } from './services.js';
import { clientAddress, compileTrust } from './shared/client-address.js';
import { maskError } from './shared/errors.js';
import { localeFromAcceptLanguage } from './shared/locale.js';
import { TokenSigner } from './shared/tokens.js';

export interface AppDependencies {
  env: Env;
  database: Database;
  redis: Redis | null;
  /** The response cache store (LRU, in front of Redis when there is one). */
  cache: TwoTierCache;
  metrics: Metrics;
  logger: Logger;
  /** Aborted once the process is shutting down: /ready answers 503 from then on. */
  draining?: AbortSignal;
}

export type App = YogaServerInstance<Record<string, never>, Context>;

/** The header browsers' cross-site requests cannot send without a preflight (see README "Security"). */
export const CSRF_HEADER = 'x-graphql-csrf';

/** Builds the GraphQL app from explicit dependencies; nothing here reads the environment or listens. */
export function createApp({ env, database, redis, cache, metrics, logger, draining }: AppDependencies): { yoga: App; services: Services } {
  const db = database.prisma;
  const services = createServices({
    database,
    tokens: new TokenSigner(env.TOKEN_SECRET),
    cache,
    logger,
    statisticsSchedule: env.STATS_REFRESH_DEBOUNCE_MS > 0 ? { intervalMs: env.STATS_REFRESH_INTERVAL_MS, debounceMs: env.STATS_REFRESH_DEBOUNCE_MS } : null,
  });
  const production = env.NODE_ENV === 'production';
  const authenticator = new ApiKeyAuthenticator(db);
  const trustProxy = compileTrust(env.TRUST_PROXY);

  const yoga = createYoga<Record<string, never>, Context>({
    schema,
    graphqlEndpoint: '/graphql',
    healthCheckEndpoint: '/health',
    landingPage: false,
    // GraphiQL served with its assets (no CDN), opening on our example.
    graphiql: env.GRAPHIQL ? GRAPHIQL_OPTIONS : false,
    renderGraphiQL: renderOfflineGraphiQL,
    // Request body limit: 413 above it.
    maxRequestBodySize: env.MAX_BODY_BYTES,
    multipart: false,
    maskedErrors: { maskError: (error, message) => maskError(error, message, !production) },
    logging: logger,
    context: ({ request, ...serverContext }): Context => {
      const principal = requestPrincipal(request);
      return {
        db,
        principal,
        locale: localeFromAcceptLanguage(request.headers.get('accept-language')),
        clientAddress: clientAddress(request, serverContext, trustProxy),
        services,
        limits: env.LIMITS[tierOf(principal)],
        loaders: createLoaders(db),
      };
    },
    plugins: [
      // CSRF (production): simple cross-site requests are refused unless they carry a JSON content type or the header.
      production && useCSRFPrevention({ requestHeaders: [CSRF_HEADER] }),
      // Who is asking: API key → principal (UNAUTHENTICATED for a bad key), before any per-role policy.
      useAuthentication(authenticator),
      // Requests per minute per key / per IP: 429 with Retry-After.
      useRateLimit({ limits: env.LIMITS, redis, namespace: env.CACHE_NAMESPACE, trustProxy }),
      // NUL characters in any input string: BAD_USER_INPUT (Postgres text cannot hold them).
      useTextGuard(),
      // Persisted operations: partner safelists; anonymous callers persisted-only in production.
      usePersistedOperations({ manifests: loadPersistedManifests(env.PERSISTED_OPERATIONS_DIR), production }),
      // Shape limits per role (characters, tokens, depth, aliases, directives); cost is checked by Pothos complexity.
      useArmor({ limits: env.LIMITS, production }),
      // Response cache (after persisted operations, so ids resolve to documents first): two tiers, per-principal scope, ETag/304.
      env.RESPONSE_CACHE && useResponseCache({ cache, logger, buildId: env.BUILD_ID ?? codeDigest() }),
      // One log line per request, and Prometheus metrics (GET /metrics), labelled by persisted operation name.
      useOperationLog(logger),
      useMetrics({ metrics, cache, authenticator, production }),
      // A coded error body for Yoga's bare 415 (unsupported content type).
      useMediaTypeError(),
      // gzip/br for clients that accept it.
      useCompression(),
      // /ready: 200 when the database (and Redis, when configured) answer; 503 otherwise, and while shutting down.
      useReadinessCheck({
        endpoint: '/ready',
        check: async () => {
          if (draining?.aborted) return false;
          try {
            await db.$queryRaw`SELECT 1`;
            if (redis) await redis.ping();
            return true;
          } catch (error) {
            logger.warn({ err: error instanceof Error ? error.message : error }, 'readiness check failed');
            return false;
          }
        },
      }),
    ],
  });
  return { yoga, services };
}
