import { createHash, randomBytes } from 'node:crypto';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseEnv, type Env } from '../../src/env.js';
import type { JobSystem } from '../../src/infra/jobs/types.js';
import type { Services } from '../../src/services.js';
import { openDatabase, type Database, type DatabaseOptions } from '../../src/infra/db.js';
import { TwoTierCache } from '../../src/infra/cache/two-tier-cache.js';
import { duplicateConnection, type RedisClient } from '../../src/infra/redis.js';
import { createLogger, type Logger } from '../../src/infra/logger.js';
import { createMetrics, observeQuery } from '../../src/infra/metrics.js';
import { createApiKey } from '../../src/modules/auth/api-keys-service.js';
import { createApp, type App } from '../../src/yoga.js';
import { embeddedTemplate } from './embedded.js';
import { createTestDatabase } from './postgres.js';

export interface GraphQLResponse<T = Record<string, any>> {
  data?: T | null;
  errors?: { message: string; path?: (string | number)[]; extensions?: Record<string, any> }[];
}

export interface TestApp {
  yoga: App;
  services: Services;
  env: Env;
  database: Database;
  /** The Postgres database's URL (undefined when embedded), for processes the test starts. */
  databaseUrl?: string;
  cache: TwoTierCache;
  keys: { admin: string; editor: string; partner: string };
  /** POSTs an operation; `persisted: true` sends only its documentId (it must be in a manifest given to startTestApp). */
  gql<T = Record<string, any>>(
    query: string,
    variables?: Record<string, unknown>,
    options?: { key?: string; headers?: Record<string, string>; persisted?: boolean },
  ): Promise<GraphQLResponse<T>>;
  /** Runs `work` and returns the SQL statements Prisma sent meanwhile. */
  statementsDuring(work: () => Promise<unknown>): Promise<string[]>;
  close(): Promise<void>;
}

/**
 * The real app in-process over a real database: a fresh Postgres database cloned from the
 * migrated template, or (embedded: the option, or TEST_DB=embedded as in the suite's "embedded"
 * project) an in-memory PGlite loaded from the migrated dump.
 */
export async function startTestApp(
  options: {
    embedded?: boolean;
    env?: Record<string, string>;
    persisted?: Record<string, string[]>;
    redis?: RedisClient;
    cacheNamespace?: string;
    /** Where the app logs (silent by default); tests that read the log pass their own. */
    logger?: Logger;
    /** A job system for the app's ADMIN queue API (tests that run workers make their own). */
    jobs?: JobSystem;
    /** A migrated database of the test's own server (replicas…) instead of a clone; the test drops it. */
    databaseUrl?: string;
    /** More of openDatabase's options (read replicas). */
    databaseOptions?: Partial<DatabaseOptions>;
  } = {},
): Promise<TestApp> {
  const statements: string[] = [];
  const metrics = createMetrics();
  const timeQuery = observeQuery(metrics);
  const onQuery = (sql: string, durationMs: number) => {
    statements.push(sql);
    timeQuery(sql, durationMs);
  };
  const embedded = options.embedded ?? process.env.TEST_DB === 'embedded';
  const pg = options.databaseUrl ? { url: options.databaseUrl, drop: async () => {} } : embedded ? null : await createTestDatabase();
  const pooler = pg ? poolerFor(pg.url) : null;
  const database = await openDatabase({
    url: pooler?.url ?? pg?.url,
    dataDir: 'memory://',
    loadDataDir: embedded ? embeddedTemplate() : undefined,
    poolMax: 5,
    statementTimeoutMs: 10_000,
    pooled: Boolean(pooler),
    onQuery,
    ...options.databaseOptions,
  });
  // Each app gets its own Redis namespace (cache and rate limits) unless told to share one (the multi-instance tests do).
  const namespace = options.cacheNamespace ?? `test-${randomBytes(6).toString('hex')}`;
  const env = parseEnv({
    NODE_ENV: 'test',
    LOG_LEVEL: 'silent',
    DATABASE_URL: pooler?.url ?? pg?.url,
    ...(pooler ? { DB_POOLER: 'pgbouncer' } : {}),
    TOKEN_SECRET: TEST_TOKEN_SECRET,
    // Specs exercise the API with ad-hoc documents: relaxed unless they ask for production (or pass 'false').
    DEVELOPMENT_RELAXATIONS: options.env?.NODE_ENV === 'production' ? undefined : 'true',
    CACHE_NAMESPACE: namespace,
    // Statistics refresh only when a test asks for it.
    STATS_REFRESH_DEBOUNCE_MS: '0',
    PERSISTED_OPERATIONS_DIR: writeManifests(options.persisted ?? {}),
    ...options.env,
  });
  const logger = options.logger ?? createLogger('silent');
  const redis = options.redis ?? null;
  const cache = new TwoTierCache({ maxBytes: 16 * 1024 * 1024, namespace, redis, subscriber: redis && duplicateConnection(redis), logger });
  await listening(cache);
  const { yoga, services } = createApp({ env, database, redis, cache, metrics, logger, jobs: options.jobs });
  const db = database.prisma;
  const keys = {
    admin: (await createApiKey(db, { name: 'test admin', role: 'ADMIN' })).key,
    editor: (await createApiKey(db, { name: 'test editor', role: 'EDITOR' })).key,
    partner: (await createApiKey(db, { name: 'test partner', role: 'PARTNER', client: 'acme' })).key,
  };
  return {
    yoga,
    services,
    env,
    database,
    databaseUrl: pooler?.url ?? pg?.url,
    cache,
    keys,
    gql: gqlOver(yoga),
    async statementsDuring(work) {
      const start = statements.length;
      await work();
      return statements.slice(start);
    },
    async close() {
      cache.close();
      await database.close();
      await pg?.drop();
    },
  };
}

/**
 * The "pgbouncer" project (vitest.config.ts) runs specs with every app connection through a PgBouncer
 * in transaction mode (test/pgbouncer-setup.ts): the same database, reached through the pooler.
 */
function poolerFor(url: string): { url: string } | null {
  const port = process.env.WORKSHOPS_TEST_PGBOUNCER_PORT;
  if (process.env.TEST_DB_POOLER !== 'pgbouncer') return null;
  if (!port) throw new Error('test/pgbouncer-setup.ts did not run');
  const through = new URL(url);
  through.hostname = '127.0.0.1';
  through.port = port;
  return { url: through.toString() };
}

function gqlOver(yoga: App): TestApp['gql'] {
  return async (query, variables, { key, headers, persisted } = {}) => {
    const response = await yoga.fetch('http://localhost/graphql', {
      method: 'POST',
      headers: { 'content-type': 'application/json', accept: 'application/json', ...(key ? { authorization: `Bearer ${key}` } : {}), ...headers },
      body: JSON.stringify(persisted ? { documentId: documentId(query), variables } : { query, variables }),
    });
    if (response.status !== 200) throw new Error(`HTTP ${response.status}: ${await response.text()}`);
    return response.json();
  };
}

export function documentId(document: string): string {
  return `sha256:${createHash('sha256').update(document).digest('hex')}`;
}

/** Writes graphql-codegen style manifests (`<client>.json`) into a fresh folder and returns it. */
export function writeManifests(documents: Record<string, string[]>): string {
  const dir = mkdtempSync(join(tmpdir(), 'workshops-persisted-'));
  for (const [client, list] of Object.entries(documents)) {
    writeFileSync(join(dir, `${client}.json`), JSON.stringify(Object.fromEntries(list.map((doc) => [documentId(doc), doc]))));
  }
  return dir;
}

/** Every test app signs tokens with this (a real database needs an explicit TOKEN_SECRET); specs may pass their own. */
const TEST_TOKEN_SECRET = 'test-only-token-secret-0123456789abcdef';

export function uniqueSlug(base = 'workshop'): string {
  return `${base}-${randomBytes(4).toString('hex')}`;
}

/** Returns `data`, failing the test with the errors when there are any. */
export function dataOf<T>(response: GraphQLResponse<T>): T {
  if (response.errors?.length) throw new Error(`GraphQL errors: ${JSON.stringify(response.errors, null, 2)}`);
  return response.data as T;
}

export function codesOf(response: GraphQLResponse): string[] {
  return (response.errors ?? []).map((e) => String(e.extensions?.code));
}

/**
 * Another instance of the same deployment: the same database and keys, its own Yoga and its own
 * cache (sharing Redis and the namespace when given).
 */
export async function startSecondInstance(app: TestApp, options: { redis: RedisClient; cacheNamespace: string; env?: Record<string, string> }): Promise<TestApp> {
  const logger = createLogger('silent');
  const env = parseEnv({
    NODE_ENV: 'test',
    LOG_LEVEL: 'silent',
    TOKEN_SECRET: TEST_TOKEN_SECRET,
    CACHE_NAMESPACE: options.cacheNamespace,
    STATS_REFRESH_DEBOUNCE_MS: '0',
    PERSISTED_OPERATIONS_DIR: writeManifests({}),
    ...options.env,
  });
  const cache = new TwoTierCache({
    maxBytes: 16 * 1024 * 1024,
    namespace: options.cacheNamespace,
    redis: options.redis,
    subscriber: duplicateConnection(options.redis),
    logger,
  });
  await listening(cache);
  const { yoga, services } = createApp({ env, database: app.database, redis: options.redis, cache, metrics: createMetrics(), logger });
  return { ...app, yoga, services, env, cache, gql: gqlOver(yoga), close: async () => cache.close() };
}

/** Waits (up to 5 s) until the cache receives other instances' invalidations, as a deployed instance soon does. */
async function listening(cache: TwoTierCache): Promise<void> {
  const timeout = new Promise<never>((_, reject) => setTimeout(() => reject(new Error('the response cache never subscribed to invalidations')), 5000).unref());
  await Promise.race([cache.listening(), timeout]);
}
