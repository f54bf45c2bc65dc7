import { DEVELOPMENT_ADMIN_KEY, hashApiKey } from '../modules/auth/api-keys-service.js';
import { ensureDevelopmentAdminKey, seedDemo } from './demo-seed.js';
import type { Env } from '../env.js';
import { APPLICATION_NAME, type Database, type DatabaseOptions } from './db.js';
import type { Logger } from './logger.js';
import { migrate } from './migrate.js';
import { pruneClientEventIds } from '../modules/analytics/events-service.js';
import { detachExpiredPartitions, ensurePartitions } from '../modules/analytics/partitions.js';

/**
 * How a process connects to its database, from its environment: the API, the worker and the migrate
 * CLI bound statements, maintenance and connections alike and speak to a pooler the same way.
 */
export function databaseOptions(env: Env, extra: Partial<DatabaseOptions> = {}): DatabaseOptions {
  return {
    url: env.DATABASE_URL,
    dataDir: env.DATA_DIR,
    poolMax: env.DB_POOL_MAX,
    statementTimeoutMs: env.DB_STATEMENT_TIMEOUT_MS,
    maintenanceTimeoutMs: env.DB_MAINTENANCE_TIMEOUT_MS,
    connectTimeoutMs: env.DB_CONNECT_TIMEOUT_MS,
    queryTimeoutMs: env.DB_QUERY_TIMEOUT_MS,
    pooled: env.DB_POOLER === 'pgbouncer',
    ...extra,
  };
}

/**
 * Start-up duties before serving: migrations (unless MIGRATE_ON_START=false), the demo seed on an
 * empty embedded database (or with SEED_DEMO=true), and, unless relaxed, refusal of the development key.
 */
export async function prepareDatabase(env: Env, database: Database, logger: Logger): Promise<void> {
  if (env.MIGRATE_ON_START) {
    const { applied, modified } = await migrate(database);
    if (applied.length) logger.info({ applied }, 'applied migrations');
    if (modified.length) logger.warn({ modified }, 'applied migrations were edited since they ran');
  }
  await maintainPartitions(env, database, logger);
  const db = database.prisma;
  if (!env.relaxed) {
    const devKey = await db.apiKey.findFirst({ where: { keyHash: hashApiKey(DEVELOPMENT_ADMIN_KEY), revokedAt: null } });
    if (devKey) throw new Error('The development admin key exists in this database; revoke it before running without DEVELOPMENT_RELAXATIONS.');
  }
  const empty = database.kind === 'embedded' && (await db.workshop.count()) === 0;
  if (empty || env.SEED_DEMO) {
    const seeded = await seedDemo(db);
    logger.info(seeded, 'seeded demo data');
  }
  if (database.kind === 'embedded') {
    await ensureDevelopmentAdminKey(db);
    logger.info(`development admin key (embedded database only): Authorization: Bearer ${DEVELOPMENT_ADMIN_KEY}`);
  }
}

/**
 * Monthly event partitions: three months ahead, and detaching those past the retention; claimed client
 * event ids are forgotten once their events are too old to be accepted. Runs at start and daily.
 */
export async function maintainPartitions(env: Env, database: Database, logger: Logger): Promise<void> {
  const created = await ensurePartitions(database, { monthsAhead: 3 });
  const detached = await detachExpiredPartitions(database, env.ANALYTICS_RETENTION_MONTHS);
  const forgottenEventIds = await pruneClientEventIds(database.prisma);
  if (created.length || detached.length || forgottenEventIds) logger.info({ created, detached, forgottenEventIds }, 'analytics partitions');
}

/** How often an instance without Redis looks again for others (their idle connections close after 10 s). */
const PEER_CHECK_INTERVAL_MS = 10 * 60_000;

/**
 * Without Redis every instance keeps its own cache and rate-limit counters: several of them serve
 * stale answers after another's writes and multiply the rate limits. A strict deployment without
 * REDIS_URL looks for other processes of the app on its database (pg_stat_activity, by their
 * application_name) at start and every 10 minutes, and warns once when it finds any.
 * Resolves after the first look with a function that stops looking.
 */
export async function watchForPeersWithoutRedis(env: Env, database: Database, logger: Logger): Promise<() => void> {
  if (env.relaxed || env.redis || database.kind !== 'postgres') return () => {};
  const check = async (): Promise<boolean> => {
    const peers = await otherInstances(database);
    if (peers.length === 0) return false;
    logger.warn(
      { peers },
      `${peers.length} other instance(s) of this API use the same database, and REDIS_URL is not set: each instance has its own response cache (stale answers after another's writes) and its own rate-limit counters (limits multiplied). Set REDIS_URL for every instance.`,
    );
    return true;
  };
  let timer: NodeJS.Timeout | undefined;
  const run = (): Promise<void> =>
    check()
      .catch((e) => (logger.warn({ err: (e as Error).message }, 'peer instance check failed'), false))
      .then((found) => {
        if (found) return;
        timer = setTimeout(() => void run(), PEER_CHECK_INTERVAL_MS);
        timer.unref();
      });
  await run();
  return () => clearTimeout(timer);
}

/** application_names of the other pools (instances) of this app connected to the same database right now. */
export async function otherInstances(database: Database): Promise<string[]> {
  const session = await database.session();
  try {
    const rows = await session.query<{ name: string }>(
      `SELECT DISTINCT application_name AS name FROM pg_stat_activity
        WHERE datname = current_database() AND application_name LIKE $1 AND application_name <> current_setting('application_name')`,
      [`${APPLICATION_NAME} %`],
    );
    return rows.map((r) => r.name).sort();
  } finally {
    session.release();
  }
}
