import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { randomUUID } from 'node:crypto';
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { openDatabase, type Database } from '../../src/infra/db.js';
import { createLogger } from '../../src/infra/logger.js';
import { migrate } from '../../src/infra/migrate.js';
import { ensurePartitions, partitionName } from '../../src/modules/analytics/partitions.js';
import { StatisticsService } from '../../src/modules/analytics/statistics-service.js';
import { codesOf, dataOf, startTestApp, type TestApp } from '../testkit/app.js';
import { createWorkshop } from '../testkit/factories.js';

describe('robustness', () => {
  let app: TestApp;
  beforeAll(async () => {
    app = await startTestApp();
  });
  afterAll(() => app?.close());

  const post = (body: string) =>
    app.yoga.fetch('http://localhost/graphql', { method: 'POST', headers: { 'content-type': 'application/json', accept: 'application/graphql-response+json' }, body });

  it('refuses deeply nested variables as BAD_USER_INPUT with HTTP 400 (they overflowed the stack of the NUL guard)', async () => {
    const nested = '['.repeat(40_000) + ']'.repeat(40_000);
    for (const body of [
      `{"query":"query ($s: String) { workshops(filter: { search: $s }) { totalCount } }","variables":{"s":${nested}}}`,
      `{"query":"mutation ($e: [EventInput!]!) { trackEvents(events: $e) { accepted } }","variables":{"e":[{"id":"x","type":"WORKSHOP_VIEW","workshopId":"x","occurredAt":"2026-01-01T00:00:00Z","properties":${nested}}]}}`,
    ]) {
      const response = await post(body);
      const json = (await response.json()) as { errors?: { extensions?: { code?: string } }[] };
      expect({ status: response.status, codes: json.errors?.map((e) => e.extensions?.code) }).toEqual({ status: 400, codes: ['BAD_USER_INPUT'] });
    }
  });

  it('bounds JSON scalar values in depth, as variables and as literals', async () => {
    const { id } = await createWorkshop(app);
    const nest = (depth: number): Record<string, unknown> => (depth === 1 ? { a: 1 } : { a: nest(depth - 1) });
    const literal = (depth: number): string => (depth === 1 ? '{ a: 1 }' : `{ a: ${literal(depth - 1)} }`);
    const event = () => ({ id: randomUUID(), type: 'WORKSHOP_VIEW', workshopId: id, occurredAt: new Date().toISOString() });
    const track = (properties: unknown) => app.gql('mutation ($e: [EventInput!]!) { trackEvents(events: $e) { accepted } }', { e: [{ ...event(), properties }] }, { key: app.keys.editor });
    const trackLiteral = (properties: string) => {
      const e = event();
      return app.gql(`mutation { trackEvents(events: [{ id: "${e.id}", type: WORKSHOP_VIEW, workshopId: "${e.workshopId}", occurredAt: "${e.occurredAt}", properties: ${properties} }]) { accepted } }`, {}, { key: app.keys.editor });
    };
    expect(dataOf(await track(nest(10))).trackEvents).toEqual({ accepted: 1 });
    expect(codesOf(await track(nest(11)))).toEqual(['BAD_USER_INPUT']);
    expect(dataOf(await trackLiteral(literal(10))).trackEvents).toEqual({ accepted: 1 });
    expect(codesOf(await trackLiteral(literal(11)))).toEqual(['BAD_USER_INPUT']);
  });

  const month = (year: number, index = 0) => new Date(Date.UTC(year, index, 1));
  const tableExists = async (name: string) =>
    (await app.database.prisma.$queryRawUnsafe<{ found: boolean }[]>(`SELECT to_regclass('analytics.${name}') IS NOT NULL AS found`))[0]!.found;

  it('rolls partition maintenance back when a step fails, and the connection stays usable (the only one, when embedded)', async () => {
    // A plain table where the second month's partition goes: creating that partition fails.
    await app.database.prisma.$executeRawUnsafe(`CREATE TABLE analytics.${partitionName(month(2091, 1))} (x int)`);
    await expect(ensurePartitions(app.database, { from: month(2091), now: month(2091), monthsAhead: 2 })).rejects.toThrow(/already exists/);
    expect(await tableExists(partitionName(month(2091)))).toBe(false);
    // The connection that ran it (pooled connections are handed out last-in first-out) answers.
    const session = await app.database.session();
    try {
      expect(await session.query('SELECT 1 AS one')).toEqual([{ one: 1 }]);
    } finally {
      session.release();
    }
    for (let i = 0; i < 5; i++) expect(await app.database.prisma.$queryRaw`SELECT 1 AS one`).toEqual([{ one: 1 }]);
    expect(dataOf(await app.gql('{ topics { slug } }')).topics.length).toBeGreaterThan(0);
  });

  it('lets replicas that start together maintain partitions at the same time (an advisory lock makes them take turns)', async () => {
    const replicas: Database[] = [app.database, app.databaseUrl ? await openDatabase({ url: app.databaseUrl, dataDir: '', poolMax: 2, statementTimeoutMs: 10_000 }) : app.database];
    try {
      const created = await Promise.all(replicas.map((database) => ensurePartitions(database, { from: month(2092), now: month(2092), monthsAhead: 5 })));
      expect(created.flat().sort()).toEqual([0, 1, 2, 3, 4, 5].map((i) => partitionName(month(2092, i))));
    } finally {
      if (replicas[1] !== app.database) await replicas[1]!.close();
    }
  });

  // A second connection holds a lock for a while; the embedded database has only one connection.
  it.skipIf(process.env.TEST_DB === 'embedded')('gives maintenance work its own statement timeout, longer than requests\' (DB_MAINTENANCE_TIMEOUT_MS)', async () => {
    const open = (maintenanceTimeoutMs: number) => openDatabase({ url: app.databaseUrl, dataDir: '', poolMax: 2, statementTimeoutMs: 300, maintenanceTimeoutMs });
    const blocker = new pg.Client({ connectionString: app.databaseUrl });
    await blocker.connect();
    /** Runs `work` while `lock` is held by another connection for 1.5 s. */
    const whileLocked = async <T>(lock: string, work: () => Promise<T>): Promise<T> => {
      await blocker.query(`BEGIN; ${lock}`);
      const release = new Promise((resolve) => setTimeout(resolve, 1500)).then(() => blocker.query('COMMIT'));
      try {
        return await work();
      } finally {
        await release;
      }
    };
    const [patient, hasty] = await Promise.all([open(30_000), open(300)]);
    const logger = createLogger('silent');
    try {
      const moves = whileLocked('LOCK TABLE analytics.analytics_events_default IN ACCESS EXCLUSIVE MODE', () => ensurePartitions(patient, { from: month(2093), now: month(2093), monthsAhead: 0 }));
      expect(await moves).toEqual([partitionName(month(2093))]);
      await expect(whileLocked('LOCK TABLE analytics.analytics_events_default IN ACCESS EXCLUSIVE MODE', () => ensurePartitions(hasty, { from: month(2094), now: month(2094), monthsAhead: 0 }))).rejects.toThrow(/statement timeout/);

      const refresh = (database: Database) => new StatisticsService(database, app.cache, logger, null).refresh();
      expect(await whileLocked('LOCK TABLE analytics.analytics_events IN ACCESS EXCLUSIVE MODE', () => refresh(patient))).toBe(true);
      await expect(whileLocked('LOCK TABLE analytics.analytics_events IN ACCESS EXCLUSIVE MODE', () => refresh(hasty))).rejects.toThrow(/statement timeout/);

      const migrations = mkdtempSync(join(tmpdir(), 'slow-migration-'));
      mkdirSync(join(migrations, '20990101000000_slow'));
      writeFileSync(join(migrations, '20990101000000_slow', 'migration.sql'), 'SELECT pg_sleep(0.8);');
      expect((await migrate(patient, migrations)).applied).toEqual(['20990101000000_slow']);
    } finally {
      await Promise.all([patient.close(), hasty.close(), blocker.end()]);
    }
  });
});
