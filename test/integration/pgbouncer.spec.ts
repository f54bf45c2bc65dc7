import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openDatabase } from '../../src/infra/db.js';
import { migrate } from '../../src/infra/migrate.js';
import { ensurePartitions, partitionName } from '../../src/modules/analytics/partitions.js';
import { StatisticsService } from '../../src/modules/analytics/statistics-service.js';
import { createLogger } from '../../src/infra/logger.js';
import { POOLER_STATEMENT_TIMEOUT_MS } from '../pgbouncer-setup.js';
import { dataOf, startTestApp, type TestApp } from '../testkit/app.js';
import { withAdmin } from '../testkit/postgres.js';

/**
 * What transaction mode takes away, checked through the suite's PgBouncer (the "pgbouncer" project):
 * session settings, session advisory locks, startup parameters. The other specs of the project run
 * the API itself through it.
 */
describe.skipIf(process.env.TEST_DB_POOLER !== 'pgbouncer')('behind PgBouncer in transaction mode', () => {
  let app: TestApp;
  beforeAll(async () => {
    app = await startTestApp();
  });
  afterAll(async () => {
    await app?.close();
  });

  it('connects through the pooler, which refuses what a session-bound client sends', async () => {
    expect(new URL(app.databaseUrl!).port).toBe(process.env.WORKSHOPS_TEST_PGBOUNCER_PORT);
    expect(dataOf(await app.gql('{ topics { slug } }'))).toHaveProperty('topics');
    // Without DB_POOLER=pgbouncer the statement timeout travels as a startup parameter: PgBouncer says no.
    const unpooled = await openDatabase({ url: app.databaseUrl, dataDir: '', poolMax: 1, statementTimeoutMs: 5000 });
    try {
      await expect(unpooled.prisma.$queryRaw`SELECT 1`).rejects.toThrow(/unsupported startup parameter: statement_timeout/);
    } finally {
      await unpooled.close();
    }
  });

  it('gives each transaction the app statement timeout (SET LOCAL), single statements the server default', async () => {
    const inTransaction = await app.database.prisma.$transaction(async (tx) => tx.$queryRaw<{ statement_timeout: string }[]>`SHOW statement_timeout`);
    expect(inTransaction[0]!.statement_timeout).toBe('10s');
    const single = await app.database.prisma.$queryRaw<{ statement_timeout: string }[]>`SHOW statement_timeout`;
    expect(single[0]!.statement_timeout).toBe(`${POOLER_STATEMENT_TIMEOUT_MS / 1000}s`);
    // A statement over the transaction's bound is cut by the server.
    await expect(app.database.prisma.$transaction(async (tx) => tx.$executeRawUnsafe('SET LOCAL statement_timeout = 200').then(() => tx.$queryRaw`SELECT pg_sleep(1)`))).rejects.toThrow(/statement timeout/);
  });

  it('migrates one database from two instances at once (the migration lock is transaction-scoped)', async () => {
    const name = `workshops_pgb_${Date.now().toString(36)}`;
    await withAdmin((c) => c.query(`CREATE DATABASE "${name}"`));
    const url = new URL(app.databaseUrl!);
    url.pathname = `/${name}`;
    const instances = await Promise.all([0, 1].map(() => openDatabase({ url: url.toString(), dataDir: '', poolMax: 2, statementTimeoutMs: 10_000, pooled: true })));
    try {
      const results = await Promise.all(instances.map((database) => migrate(database)));
      const applied = results.flatMap((r) => r.applied);
      // Every migration applied exactly once, whichever instance got it.
      expect(new Set(applied).size).toBe(applied.length);
      expect((await migrate(instances[0]!)).applied).toEqual([]);
      const rows = await instances[0]!.prisma.$queryRaw<{ count: number }[]>`SELECT count(*)::int AS count FROM "_prisma_migrations" WHERE finished_at IS NOT NULL`;
      expect(rows[0]!.count).toBe(applied.length);
    } finally {
      await Promise.all(instances.map((database) => database.close()));
      await withAdmin((c) => c.query(`DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`));
    }
  });

  it('runs maintenance from two instances at once: partitions and statistics refreshes take turns under transaction locks', async () => {
    const second = await openDatabase({ url: app.databaseUrl, dataDir: '', poolMax: 2, statementTimeoutMs: 10_000, pooled: true });
    try {
      const month = (i: number) => new Date(Date.UTC(2095, i, 1));
      const created = await Promise.all([app.database, second].map((database) => ensurePartitions(database, { from: month(0), now: month(0), monthsAhead: 3 })));
      expect(created.flat().sort()).toEqual([0, 1, 2, 3].map((i) => partitionName(month(i))));
      const logger = createLogger('silent');
      const refreshed = await Promise.all([app.database, second].map((database) => new StatisticsService(database, app.cache, logger, null).refresh()));
      // One ran; the other found the lock taken and skipped (or ran after it): never both at once, never an error.
      expect(refreshed).toContain(true);
    } finally {
      await second.close();
    }
  });
});
