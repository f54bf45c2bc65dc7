import { DEVELOPMENT_ADMIN_KEY, hashApiKey } from '../modules/auth/api-keys-service.js';
import { ensureDevelopmentAdminKey, seedDemo } from './demo-seed.js';
import type { Env } from '../env.js';
import type { Database } from './db.js';
import type { Logger } from './logger.js';
import { migrate } from './migrate.js';
import { pruneClientEventIds } from '../modules/analytics/events-service.js';
import { detachExpiredPartitions, ensurePartitions } from '../modules/analytics/partitions.js';

/**
 * Start-up duties before serving: migrations (unless MIGRATE_ON_START=false), the demo seed on an
 * empty embedded database (or with SEED_DEMO=true), and production's refusal of the development key.
 */
export async function prepareDatabase(env: Env, database: Database, logger: Logger): Promise<void> {
  if (env.MIGRATE_ON_START) {
    const { applied, modified } = await migrate(database);
    if (applied.length) logger.info({ applied }, 'applied migrations');
    if (modified.length) logger.warn({ modified }, 'applied migrations were edited since they ran');
  }
  await maintainPartitions(env, database, logger);
  const db = database.prisma;
  if (env.NODE_ENV === 'production') {
    const devKey = await db.apiKey.findFirst({ where: { keyHash: hashApiKey(DEVELOPMENT_ADMIN_KEY), revokedAt: null } });
    if (devKey) throw new Error('The development admin key exists in this database; revoke it before running in production.');
    return;
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
  const session = await database.session();
  try {
    const created = await ensurePartitions(session, { monthsAhead: 3 });
    const detached = await detachExpiredPartitions(session, env.ANALYTICS_RETENTION_MONTHS);
    const forgottenEventIds = await pruneClientEventIds(database.prisma);
    if (created.length || detached.length || forgottenEventIds) logger.info({ created, detached, forgottenEventIds }, 'analytics partitions');
  } finally {
    session.release();
  }
}
