import { createServer } from 'node:http';
import { EnvError, parseEnv } from './env.js';
import { startBackground } from './background.js';
import { databaseOptions, prepareDatabase, watchForPeersWithoutRedis } from './infra/bootstrap.js';
import { createJobSystem } from './infra/jobs/index.js';
import { DataDirLockedError } from './infra/data-dir-lock.js';
import { openDatabase } from './infra/db.js';
import { TwoTierCache } from './infra/cache/two-tier-cache.js';
import { createLogger } from './infra/logger.js';
import { createMetrics, jobObserver, observeQuery } from './infra/metrics.js';
import { connectRedis, duplicateConnection, isCluster } from './infra/redis.js';
import { startTracing } from './infra/tracing.js';
import { GracefulShutdown, httpServerCloser } from './infra/shutdown.js';
import { guardHttp } from './infra/http-guard.js';
import { createApp } from './yoga.js';

let env;
try {
  env = parseEnv();
} catch (error) {
  if (!(error instanceof EnvError)) throw error;
  console.error(error.message);
  process.exit(1);
}

const logger = createLogger(env.LOG_LEVEL);
const metrics = createMetrics();
const tracing = env.tracing ? await startTracing(logger, 'workshops-api') : null;
const database = await openDatabase(databaseOptions(env, {
  replicaUrls: env.DATABASE_REPLICA_URLS,
  replicaMaxLagMs: env.DATABASE_REPLICA_MAX_LAG_MS,
  // Readiness never depends on a replica (the primary serves every read); their changes are logged and in the metrics.
  onReplicaChange: (replica, error) =>
    replica.usable ? logger.info({ replica }, 'database replica serving reads') : logger.warn({ replica, err: error }, 'database replica skipped (reads go to the primary)'),
  onQuery: observeQuery(metrics),
})).catch((error: unknown) => {
  // Another process holds the embedded database (a second `npm start`): say so, no stack trace.
  if (!(error instanceof DataDirLockedError)) throw error;
  logger.fatal(error.message);
  process.exit(1);
});
await prepareDatabase(env, database, logger);
const stopWatchingPeers = await watchForPeersWithoutRedis(env, database, logger);
const redis = connectRedis(env.redis, logger);
const cache = new TwoTierCache({
  maxBytes: env.CACHE_LRU_BYTES,
  namespace: env.CACHE_NAMESPACE,
  redis,
  subscriber: redis && duplicateConnection(redis),
  logger,
  onBreakerChange: (state) => metrics.redisBreakerOpen.set(state === 'closed' ? 0 : 1),
});
const shutdown = new GracefulShutdown({ delayMs: env.SHUTDOWN_DELAY_MS, timeoutMs: env.SHUTDOWN_TIMEOUT_MS, logger });
const jobs = createJobSystem({ redis: env.redis, namespace: env.CACHE_NAMESPACE, backoffMs: env.JOB_BACKOFF_MS, lockMs: env.JOB_LOCK_MS, logger, observer: jobObserver(metrics) });
const { yoga, services } = createApp({ env, database, redis, cache, metrics, logger, draining: shutdown.draining, jobs });
// Statistics refresh now (in the background), then on the maintenance schedule and shortly after writes.
void services.statistics.refresh().catch((e) => logger.warn({ err: (e as Error).message }, 'statistics refresh failed'));
// Workers, the outbox relay and the maintenance schedule, unless separate worker processes do that (WORKERS=off).
const background = env.WORKERS === 'inline' ? await startBackground({ env, database, services, jobs, logger }) : { name: 'job producers', close: () => jobs.close() };

const server = createServer(guardHttp(yoga));
server.listen(env.PORT, env.HOST, () => {
  const address = server.address();
  const port = typeof address === 'object' && address ? address.port : env.PORT;
  logger.info(
    { database: database.kind, redis: redis ? (isCluster(redis) ? 'redis cluster' : 'redis') : 'in-memory' },
    `GraphQL API ready at http://${env.HOST}:${port}/graphql`,
  );
});

// On SIGTERM/SIGINT, in this order: end live subscriptions, stop taking requests and finish those in flight, stop what makes
// new work (background workers go here too, before the database they use), then close the connections.
shutdown
  // Live subscriptions first: their event streams never end by themselves, and the HTTP server waits for open responses.
  // Clients reconnect (EventSource does) and land on an instance that is not draining.
  .add({ name: 'live subscriptions', close: () => services.live.close() })
  .add(httpServerCloser(server, shutdown.draining))
  .add({ name: 'schedulers', close: () => (services.statistics.stop(), stopWatchingPeers()) })
  .add(background)
  .add({ name: 'database', close: () => database.close() })
  .add({ name: 'redis', close: () => (cache.close(), redis?.quit()) })
  .add({ name: 'tracing', close: () => tracing?.close() });
shutdown.onSignals();
