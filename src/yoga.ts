import { useCSRFPrevention } from '@graphql-yoga/plugin-csrf-prevention';
import { useDeferStream } from '@graphql-yoga/plugin-defer-stream';
import { createYoga, type YogaServerInstance } from 'graphql-yoga';
import { tierOf } from './config/limits.js';
import { createLoaders, type Context } from './context.js';
import type { Env } from './env.js';
import { codeDigest } from './infra/cache/build-id.js';
import type { TwoTierCache } from './infra/cache/two-tier-cache.js';
import { isDatabaseUnavailable, type Database, type Db } from './infra/db.js';
import type { JobSystem } from './infra/jobs/types.js';
import { yogaLogger, type Logger } from './infra/logger.js';
import { instrumentRedis, serviceObserver, type Metrics } from './infra/metrics.js';
import { loadPersistedManifests } from './infra/persisted-manifests.js';
import { ApiKeyAuthenticator } from './modules/auth/api-keys-service.js';
import { requestPrincipal } from './modules/auth/request-principal.js';
import { LiveUpdates } from './modules/live/live-updates.js';
import { GRAPHIQL_OPTIONS, renderOfflineGraphiQL } from './graphiql-example.js';
import { assertDocumentWithinLimits, useArmor } from './plugins/use-armor.js';
import { useAuthentication } from './plugins/use-authentication.js';
import { useBodyLimit } from './plugins/use-body-limit.js';
import { useCompiledExecution } from './plugins/use-compiled-execution.js';
import { useCompression } from './plugins/use-compression.js';
import { useMailLinks } from './plugins/use-mail-links.js';
import { useNewsletterTracking } from './plugins/use-newsletter-tracking.js';
import { TrackingSigner } from './modules/newsletters/newsletter-jobs.js';
import { useMediaTypeError } from './plugins/use-media-type-error.js';
import { requestMetrics, useMetrics } from './plugins/use-metrics.js';
import { operationLog } from './plugins/use-operation-log.js';
import { noteOperationName, useRequestSummary } from './plugins/use-request-summary.js';
import { usePersistedOperations, type PersistedOperationsPolicy } from './plugins/use-persisted-operations.js';
import { useReadiness } from './plugins/use-readiness.js';
import { useReadRouting } from './plugins/use-read-routing.js';
import { useResponseCache, type FastLane } from './plugins/use-response-cache.js';
import { assertTextAcceptable, useTextGuard } from './plugins/use-text-guard.js';
import { useTracing } from './plugins/use-tracing.js';
import { useRequestGuard } from './plugins/use-request-guard.js';
import { RateLimits, useRateLimit } from './plugins/use-rate-limit.js';
import { RedisGuard } from './infra/redis-guard.js';
import type { RedisClient } from './infra/redis.js';
import { schema } from './schema.js';
import { createServices, type Services } from './services.js';
import { clientAddress, compileTrust } from './shared/client-address.js';
import { maskError } from './shared/errors.js';
import { localeFromAcceptLanguage } from './shared/locale.js';
import { TokenSigner } from './shared/tokens.js';

export interface AppDependencies {
  env: Env;
  database: Database;
  redis: RedisClient | null;
  /** The response cache store (LRU, in front of Redis when there is one). */
  cache: TwoTierCache;
  metrics: Metrics;
  logger: Logger;
  /** Aborted once the process is shutting down: /ready answers 503 from then on. */
  draining?: AbortSignal;
  /** The job system (src/infra/jobs); absent in apps that enqueue nothing (some tests). */
  jobs?: JobSystem | null;
}

export type App = YogaServerInstance<Record<string, never>, Context>;

/** The header browsers' cross-site requests cannot send without a preflight (see README "Security"). */
export const CSRF_HEADER = 'x-graphql-csrf';

/** Builds the GraphQL app from explicit dependencies; nothing here reads the environment or listens. */
export function createApp({ env, database, redis, cache, metrics, logger, draining, jobs }: AppDependencies): { yoga: App; services: Services } {
  const db = database.prisma;
  const live = new LiveUpdates(db, { redis, namespace: env.CACHE_NAMESPACE, maxPerClient: env.LIVE_MAX_SUBSCRIPTIONS_PER_CLIENT, logger });
  const services = createServices({
    live,
    database,
    tokens: new TokenSigner(env.TOKEN_SECRET),
    enrollmentHoldHours: env.ENROLLMENT_HOLD_HOURS,
    cache,
    logger,
    statisticsSchedule: env.STATS_REFRESH_DEBOUNCE_MS > 0 ? { intervalMs: env.STATS_REFRESH_INTERVAL_MS, debounceMs: env.STATS_REFRESH_DEBOUNCE_MS } : null,
    observer: serviceObserver(metrics),
    jobs,
  });
  // Redis command latency for the metrics (the client is this app's; pub/sub connections are not timed).
  if (redis) instrumentRedis(redis, metrics);
  // Keys are read from the primary: one created or revoked a moment ago must count at once.
  const authenticator = new ApiKeyAuthenticator(database.primary);
  // A write anywhere (our evictions and other instances') keeps reads off replicas that may not have replayed it.
  if (database.replicas) cache.onInvalidated(() => database.replicas?.noteWrite());
  // A revoked key is forgotten on every instance as the revocation's invalidation reaches it.
  cache.onInvalidated((tags) => authenticator.forgetInvalidated(tags));
  const trustProxy = compileTrust(env.TRUST_PROXY);
  // Redis calls a request waits for outside the response cache: bounded, behind a breaker.
  const redisGuard = redis ? new RedisGuard({ timeoutMs: env.REDIS_REQUEST_TIMEOUT_MS, onStateChange: (state) => logger.warn({ state }, 'rate limits: Redis circuit breaker') }) : null;
  const rateLimits = new RateLimits({ limits: env.LIMITS, enrollments: env.ENROLLMENT_LIMITS, redis, guard: redisGuard, namespace: env.CACHE_NAMESPACE, trustProxy });
  const persisted: PersistedOperationsPolicy = { manifests: loadPersistedManifests(env.PERSISTED_OPERATIONS_DIR), publicClients: env.PUBLIC_PERSISTED_CLIENTS, relaxed: env.relaxed };
  // The response cache's fast lane answers anonymous persisted GET hits before the onParams hooks, so it applies
  // theirs: the request count (use-rate-limit), the variables guard (use-text-guard), the document limits
  // (use-armor) and the persisted policy. An onParams refusal added below that anonymous queries can meet goes here too.
  const fastLane: FastLane = {
    persisted,
    checks: [(_, params) => assertTextAcceptable(params), (request, params) => assertDocumentWithinLimits(request, params, env.LIMITS)],
    countRequest: (request, serverContext) => rateLimits.countRequest(request, serverContext),
    answered: (request, params) => {
      noteOperationName(request, params);
      metrics.cacheEarlyAnswers.inc();
    },
  };

  const yoga = createYoga<Record<string, never>, Context>({
    schema,
    graphqlEndpoint: '/graphql',
    healthCheckEndpoint: '/health',
    landingPage: false,
    // GraphiQL served with its assets (no CDN), opening on our example.
    graphiql: env.GRAPHIQL ? GRAPHIQL_OPTIONS : false,
    renderGraphiQL: renderOfflineGraphiQL,
    // The body limit is use-body-limit's (Yoga's own streams every body through a transform).
    maxRequestBodySize: false,
    multipart: false,
    maskedErrors: { maskError: (error, message) => maskError(error, message, env.relaxed, isDatabaseUnavailable) },
    // Expected client errors at debug without stacks; unexpected failures at error level (see yogaLogger).
    logging: yogaLogger(logger, (error) => {
      if (!(error instanceof Error)) return undefined;
      const code = maskError(error, '', env.relaxed, isDatabaseUnavailable) as { extensions?: { code?: unknown } };
      return typeof code.extensions?.code === 'string' ? code.extensions.code : undefined;
    }),
    context: ({ request, ...serverContext }): Context => {
      const principal = requestPrincipal(request);
      return {
        db,
        reads: { wrote: false },
        principal,
        locale: localeFromAcceptLanguage(request.headers.get('accept-language')),
        clientAddress: clientAddress(request, serverContext, trustProxy),
        services,
        limits: env.LIMITS[tierOf(principal)],
        minGroupSize: env.SUMMARY_MIN_GROUP_SIZE,
        rateLimits,
        loaders: createLoaders(db, database.reporting),
      };
    },
    plugins: [
      // OpenTelemetry spans (request, operation, parse/validate/execute) when OTEL_* variables turn tracing on.
      env.tracing && useTracing(),
      // Request id (x-request-id) and one summary per GraphQL request for the access log and the request metrics; first, so requests refused later count too.
      useRequestSummary([operationLog(logger, env.SLOW_OPERATION_MS), requestMetrics(metrics)]),
      // The pages links in mails open (confirm, one-click unsubscribe, RFC 8058): plain HTML, the signed token is the authority.
      useMailLinks(services, logger),
      // Newsletter opens (pixel) and clicks (signed redirects only), recorded as analytics events.
      useNewsletterTracking(services.newsletters, new TrackingSigner(env.TOKEN_SECRET), logger),
      // Malformed GET variables/extensions and compressed bodies: a coded 400/415 before Yoga misreads them.
      useRequestGuard(),
      // Request body limit: 413 above MAX_BODY_BYTES.
      useBodyLimit(env.MAX_BODY_BYTES),
      // CSRF (unless relaxed): simple cross-site requests are refused unless they carry a JSON content type or the header.
      !env.relaxed && useCSRFPrevention({ requestHeaders: [CSRF_HEADER] }),
      // Who is asking: API key → principal, before any per-role policy; a bad key is 401 and counts against its IP.
      useAuthentication(authenticator, rateLimits),
      // Requests and query cost per minute per key / per IP: 429 with Retry-After; `extensions.cost` reports the budget.
      useRateLimit(rateLimits),
      // NUL characters in any input string: BAD_USER_INPUT (Postgres text cannot hold them).
      useTextGuard(),
      // Persisted operations: partner safelists; anonymous callers persisted-only unless relaxed.
      usePersistedOperations(persisted),
      // Queries and mutations without @defer/@stream execute compiled (graphql-jit), once per document. It sets the
      // executor, so it comes before the plugins that wrap whichever executor is set (read routing).
      useCompiledExecution(),
      // Read replicas: the operation's reads go to a replica until it writes; mutations run on the primary.
      Boolean(database.replicas) && useReadRouting(),
      // @defer/@stream: incremental delivery over multipart/mixed or SSE (validation rules for labels, root fields, lists).
      useDeferStream(),
      // Shape limits per role (characters, tokens, depth, aliases, directives); the cost is checked by use-rate-limit.
      useArmor({ limits: env.LIMITS, relaxed: env.relaxed }),
      // Response cache (after persisted operations, so ids resolve to documents first): two tiers, per-principal scope, ETag/304;
      // its fast lane answers anonymous persisted GET hits right after CSRF prevention (after this list's earlier plugins).
      env.RESPONSE_CACHE && useResponseCache({ cache, logger, buildId: env.BUILD_ID ?? codeDigest(), fastLane }),
      // GET /metrics for Prometheus (unless relaxed: ADMIN key or METRICS_TOKEN).
      useMetrics({ metrics, cache, database, statistics: services.statistics, authenticator, relaxed: env.relaxed, metricsToken: env.METRICS_TOKEN, jobs }),
      // A coded error body for Yoga's bare 415 (unsupported content type).
      useMediaTypeError(),
      // gzip/br for clients that accept it.
      useCompression(),
      // /ready: "this instance can serve": 200 when the database answers within a second (Redis is reported, not
      // required); 503 while shutting down.
      useReadiness('/ready', (fetchAPI) => readiness({ db: database.primary, database, redis, logger, metrics, fetchAPI, draining })),
    ],
  });
  return { yoga, services };
}

/** How long /ready waits for each dependency: an orchestrator's probe must get an answer, not a hang. */
const READY_TIMEOUT_MS = 1000;

function within<T>(ms: number, work: Promise<T>): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<never>((_, reject) => (timer = setTimeout(() => reject(new Error(`no answer within ${ms} ms`)), ms)));
  return Promise.race([work, late]).finally(() => clearTimeout(timer));
}

/**
 * The database decides readiness: without it nothing can be served. Redis does not: while it is
 * down every instance serves from its local cache tier and per-instance rate limits, so failing
 * readiness would only pull every replica at once. Its state is in the body, a metric and the log.
 */
async function readiness(deps: { db: Db; database: Database; redis: RedisClient | null; logger: Logger; metrics: Metrics; fetchAPI: { Response: typeof Response }; draining?: AbortSignal }): Promise<Response> {
  const { db, redis, logger, metrics, fetchAPI } = deps;
  if (deps.draining?.aborted) return fetchAPI.Response.json({ status: 'draining' }, { status: 503 });
  const [database, cache] = await Promise.all([
    within(READY_TIMEOUT_MS, db.$queryRaw`SELECT 1`).then(
      () => 'up' as const,
      (error: unknown) => {
        logger.warn({ err: error instanceof Error ? error.message : String(error) }, 'readiness: database not answering');
        return 'down' as const;
      },
    ),
    !redis
      ? ('none' as const)
      : within(READY_TIMEOUT_MS, redis.ping()).then(
          () => 'up' as const,
          (error: unknown) => {
            logger.warn({ err: error instanceof Error ? error.message : String(error) }, 'readiness: Redis not answering (serving without it)');
            return 'down' as const;
          },
        ),
  ]);
  if (redis) metrics.redisUp.set(cache === 'up' ? 1 : 0);
  // Replicas are reported, never required: the primary serves every read when none is usable (their changes are logged).
  const replicas = deps.database.replicas?.status().map(({ name, up, lagMs, usable }) => ({ name, up, lagMs, usable }));
  const body = { status: database === 'up' ? 'ready' : 'unavailable', database, redis: cache, ...(replicas ? { replicas } : {}) };
  return fetchAPI.Response.json(body, { status: database === 'up' ? 200 : 503 });
}
