import { timingSafeEqual } from 'node:crypto';
import { createServer } from 'node:http';
import { EnvError, parseEnv, type Env } from './env.js';
import { startBackground } from './background.js';
import { TwoTierCache } from './infra/cache/two-tier-cache.js';
import { databaseOptions } from './infra/bootstrap.js';
import { openDatabase } from './infra/db.js';
import { createJobSystem } from './infra/jobs/index.js';
import { createLogger } from './infra/logger.js';
import { createMetrics, jobObserver, observeQuery } from './infra/metrics.js';
import { migrate } from './infra/migrate.js';
import { connectRedis } from './infra/redis.js';
import { GracefulShutdown } from './infra/shutdown.js';
import { startTracing } from './infra/tracing.js';
import { LiveUpdates } from './modules/live/live-updates.js';
import { createServices } from './services.js';
import { TokenSigner } from './shared/tokens.js';

/**
 * A worker process (`npm run worker`, `node dist/worker.js`): the job workers, the outbox relay and
 * the maintenance schedule, without the HTTP API, so they scale apart from it. Needs REDIS_URL or
 * REDIS_CLUSTER_NODES (the queues live there) and the same DATABASE_URL and TOKEN_SECRET as the API. Run the API with
 * WORKERS=off when workers run like this.
 */
let env: Env;
try {
  env = parseEnv();
  if (!env.redis) throw new EnvError(['REDIS_URL: is required by the worker process, or REDIS_CLUSTER_NODES (without Redis the API runs its jobs itself, WORKERS=inline)']);
} catch (error) {
  if (!(error instanceof EnvError)) throw error;
  console.error(error.message);
  process.exit(1);
}

const logger = createLogger(env.LOG_LEVEL).child({ process: 'worker' });
const metrics = createMetrics();
// The jobs' database spans (Prisma's instrumentation), when OTEL_* variables name an exporter.
const tracing = env.tracing ? await startTracing(logger, 'workshops-worker') : null;
// Jobs read what they write: the primary only, no replicas.
const database = await openDatabase(databaseOptions(env, { onQuery: observeQuery(metrics) }));
if (env.MIGRATE_ON_START) await migrate(database);
const redis = connectRedis(env.redis, logger);
// Jobs that change content (statistics refreshes) evict the API's cached answers through Redis.
const cache = new TwoTierCache({ maxBytes: 1024 * 1024, namespace: env.CACHE_NAMESPACE, redis, subscriber: null, logger });
const jobs = createJobSystem({ redis: env.redis, namespace: env.CACHE_NAMESPACE, backoffMs: env.JOB_BACKOFF_MS, lockMs: env.JOB_LOCK_MS, logger, observer: jobObserver(metrics) });
const services = createServices({
  database,
  tokens: new TokenSigner(env.TOKEN_SECRET),
  enrollmentHoldHours: env.ENROLLMENT_HOLD_HOURS,
  cache,
  logger,
  statisticsSchedule: null,
  jobs,
  // Workshop changes a job makes reach live subscribers on every API instance (publishing only: no subscriber connection).
  live: new LiveUpdates(database.prisma, { redis, namespace: env.CACHE_NAMESPACE, maxPerClient: env.LIVE_MAX_SUBSCRIPTIONS_PER_CLIENT, logger }),
});
const background = await startBackground({ env, database, services, jobs, logger });
const metricsServer = env.WORKER_METRICS_PORT ? serveMetrics(env.WORKER_METRICS_PORT) : null;
logger.info('worker ready');

/**
 * The worker's own metrics (its job durations and dead letters; queue sizes come from the API's
 * /metrics, which reads the same queues). Bearer METRICS_TOKEN unless relaxed, like the API's.
 */
function serveMetrics(port: number) {
  const server = createServer((request, response) => {
    void (async () => {
      const token = env.METRICS_TOKEN ? Buffer.from(`Bearer ${env.METRICS_TOKEN}`) : null;
      const given = Buffer.from(request.headers.authorization ?? '');
      const allowed = env.relaxed || (token !== null && given.length === token.length && timingSafeEqual(given, token));
      if (new URL(request.url ?? '/', 'http://worker').pathname !== '/metrics') return response.writeHead(404).end();
      if (!allowed) return response.writeHead(403).end('Forbidden');
      response.writeHead(200, { 'content-type': metrics.registry.contentType }).end(await metrics.registry.metrics());
    })().catch(() => response.writeHead(500).end());
  });
  server.listen(port, env.HOST);
  return server;
}

const shutdown = new GracefulShutdown({ delayMs: 0, timeoutMs: env.SHUTDOWN_TIMEOUT_MS, logger });
shutdown
  .add({ name: 'metrics server', close: () => new Promise<void>((resolve) => (metricsServer ? metricsServer.close(() => resolve()) : resolve())) })
  .add(background)
  .add({ name: 'database', close: () => database.close() })
  .add({ name: 'redis', close: () => (cache.close(), redis?.quit()) })
  .add({ name: 'tracing', close: () => tracing?.close() });
shutdown.onSignals();
