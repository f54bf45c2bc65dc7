import { globSync, readFileSync } from 'node:fs';
import { defineConfig, type TestProjectInlineConfiguration } from 'vitest/config';

/**
 * The suite runs twice over the database: every spec on a real Postgres 15 (project "postgres"), and
 * the in-process app specs (those that build the app with startTestApp) again on the embedded
 * database, PGlite = Postgres 18 (project "embedded", TEST_DB=embedded). Specs that need a server of
 * their own (admin access, server processes, frozen or stopped databases) don't use startTestApp and
 * so run on Postgres only; the startTestApp specs that must stay there are listed here with the reason.
 */
const POSTGRES_ONLY: Record<string, string> = {
  'test/integration/embedded.spec.ts': 'it is the embedded spec already (startTestApp({ embedded: true }))',
  'test/integration/persisted-operations.spec.ts': 'its production-mode apps need a DATABASE_URL (production refuses the embedded database)',
  'test/integration/production-hardening.spec.ts': 'production mode needs a DATABASE_URL (production refuses the embedded database)',
  'test/integration/cache-flush.spec.ts': "runs `npm run seed` in another process against the app's database URL",
  'test/integration/read-replicas.spec.ts': 'it runs Postgres servers of its own (a primary and its streaming replica), whatever the project',
  'test/integration/pgbouncer.spec.ts': 'it checks PgBouncer, in the pgbouncer project',
  'test/integration/redis-cluster.spec.ts': 'it tests the Redis Cluster (its own redis-server processes); once is enough',
};

const EMBEDDED = globSync('test/integration/*.spec.ts').filter(
  (file) => !(file in POSTGRES_ONLY) && readFileSync(file, 'utf8').includes('startTestApp('),
);

/**
 * The "pgbouncer" project runs a subset again with every app connection through PgBouncer in transaction
 * mode (test/pgbouncer-setup.ts starts it): reads, mutations, enrollments, subscribers, questionnaires,
 * analytics and its maintenance (statistics refresh, partitions), the response cache, jobs (a newsletter's
 * fan-out and deliveries through the outbox), and the pooler's own spec.
 */
const THROUGH_PGBOUNCER = [
  'test/integration/pgbouncer.spec.ts',
  'test/integration/workshops-read.spec.ts',
  'test/integration/workshop-mutations.spec.ts',
  'test/integration/enrollments.spec.ts',
  'test/integration/subscribers.spec.ts',
  'test/integration/questionnaires.spec.ts',
  'test/integration/analytics.spec.ts',
  'test/integration/response-cache.spec.ts',
  'test/integration/newsletters.spec.ts',
];

// Shared by every project (not `extends: true`: that would run the global setup once more per project).
const shared = {
  // graphql ships both .mjs and .js; Vite would pick .mjs for our code while dependencies load
  // the CommonJS build, giving two graphql realms. Pin everyone to one.
  resolve: { alias: { graphql: 'graphql/index.js' } },
  test: { pool: 'forks', testTimeout: 30_000, hookTimeout: 120_000 },
} satisfies TestProjectInlineConfiguration;

export default defineConfig({
  test: {
    // Once for both projects: dist/ (when stale), the migrated Postgres template and PGlite dump.
    globalSetup: ['test/global-setup.ts'],
    // Two cores: two files at a time, each against its own database.
    maxWorkers: 2,
    projects: [
      { ...shared, test: { ...shared.test, name: 'postgres', include: ['test/**/*.spec.ts', 'src/**/*.spec.ts'], env: { LOG_LEVEL: 'silent' } } },
      // PGlite is one single-threaded WASM instance inside the test process, so tests take longer there.
      { ...shared, test: { ...shared.test, name: 'embedded', include: EMBEDDED, testTimeout: 90_000, env: { LOG_LEVEL: 'silent', TEST_DB: 'embedded' } } },
      {
        ...shared,
        test: { ...shared.test, name: 'pgbouncer', include: THROUGH_PGBOUNCER, globalSetup: ['test/pgbouncer-setup.ts'], env: { LOG_LEVEL: 'silent', TEST_DB_POOLER: 'pgbouncer' } },
      },
    ],
  },
});
