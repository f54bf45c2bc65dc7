/**
 * `npm run bench:cache`: the response cache, measured in one run with one load tool and one set of
 * settings. Loopback only; every load phase is bounded in time (DURATION_S) and connections.
 *   (a) `{ __typename }`            — the server's floor
 *   (b) a page of 20 workshops with counts, cached
 *   (c) the same page with the response cache off
 *   (d) a mixed read/write workload: hit ratio, and stale reads (must be 0)
 * Uses Postgres (BENCH_DATABASE_URL, default a fresh database on 127.0.0.1) and Redis (REDIS_URL,
 * default redis://127.0.0.1:6379). Rate limits are lifted by DEVELOPMENT_RELAXATIONS=true.
 */
import { randomBytes } from 'node:crypto';
import { once } from 'node:events';
import { createServer, type Server } from 'node:http';
import autocannon from 'autocannon';
import { parseEnv } from '../src/env.js';
import { TwoTierCache } from '../src/infra/cache/two-tier-cache.js';
import { openDatabase, type Database } from '../src/infra/db.js';
import { createLogger } from '../src/infra/logger.js';
import { connectRedis } from '../src/infra/redis.js';
import { createMetrics } from '../src/infra/metrics.js';
import { migrate } from '../src/infra/migrate.js';
import { createApp } from '../src/yoga.js';
import { seedDemo } from '../src/infra/demo-seed.js';
import { createScratchDatabase } from './lib.js';

const DURATION_S = Number(process.env.DURATION_S ?? 5);
const CONNECTIONS = Number(process.env.CONNECTIONS ?? 10);
const REDIS_URL = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';

const PAGE = `{ workshops(first: 20) { totalCount edges { node { id slug title startsAt capacity enrollmentCount waitlistCount seatsLeft tags } } } }`;

async function listen(server: Server): Promise<string> {
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return `http://127.0.0.1:${(server.address() as { port: number }).port}/graphql`;
}

async function load(url: string, query: string): Promise<{ rps: number; p95: number; errors: number }> {
  const result = await autocannon({
    url,
    method: 'POST',
    connections: CONNECTIONS,
    duration: DURATION_S,
    headers: { 'content-type': 'application/json', accept: 'application/json' },
    body: JSON.stringify({ query }),
  });
  return { rps: result.requests.average, p95: result.latency.p97_5 ?? result.latency.p99, errors: result.errors + result.non2xx };
}

async function main() {
  const scratch = await createScratchDatabase('workshops_bench');
  const logger = createLogger('silent');
  // Production's connection options (src/infra/redis.ts).
  const redis = connectRedis(REDIS_URL, logger)!;
  await once(redis, 'ready');
  const namespace = `bench-${randomBytes(3).toString('hex')}`;
  const servers: Server[] = [];
  const caches: TwoTierCache[] = [];
  let database: Database | undefined;
  try {
    database = await openDatabase({ url: scratch.url, dataDir: '', poolMax: 10, statementTimeoutMs: 5000 });
    await migrate(database);
    await seedDemo(database.prisma);

    const start = async (responseCache: boolean) => {
      const env = parseEnv({ DEVELOPMENT_RELAXATIONS: 'true', LOG_LEVEL: 'silent', RESPONSE_CACHE: String(responseCache), PERSISTED_OPERATIONS_DIR: 'persisted', CACHE_NAMESPACE: namespace });
      const cache = new TwoTierCache({ maxBytes: env.CACHE_LRU_BYTES, namespace, redis, subscriber: redis.duplicate(), logger });
      await cache.listening();
      caches.push(cache);
      const server = createServer(createApp({ env, database: database!, redis, cache, metrics: createMetrics(), logger }).yoga);
      servers.push(server);
      return { url: await listen(server), cache };
    };
    const cached = await start(true);
    const uncached = await start(false);

    console.log(`autocannon: ${CONNECTIONS} connections, ${DURATION_S} s per phase, loopback only\n`);
    const a = await load(cached.url, '{ __typename }');
    const b = await load(cached.url, PAGE);
    const c = await load(uncached.url, PAGE);
    const mixed = await mixedWorkload(cached.url, cached.cache, database);

    const row = (name: string, r: { rps: number; p95: number; errors: number }) =>
      console.log(`${name.padEnd(34)} ${r.rps.toFixed(0).padStart(8)} req/s   p97.5 ${String(r.p95).padStart(4)} ms   errors ${r.errors}`);
    row('(a) { __typename }', a);
    row('(b) page of 20, cached', b);
    row('(c) page of 20, uncached', c);
    console.log('');
    console.log(`(b)/(a) throughput: ${(b.rps / a.rps).toFixed(2)}   (target ≥ 0.90)`);
    console.log(`(b)/(c) throughput: ${(b.rps / c.rps).toFixed(1)}×`);
    console.log(
      `(d) mixed workload: ${mixed.reads} reads, ${mixed.writes} writes, hit ratio ${(mixed.hitRatio * 100).toFixed(1)} % (target ≥ 80 %), stale reads ${mixed.stale} (target 0)`,
    );
    if (mixed.stale > 0 || a.errors + b.errors + c.errors > 0) process.exitCode = 1;
  } finally {
    for (const server of servers) server.close();
    for (const cache of caches) cache.close();
    await database?.close();
    const keys = await redis.keys(`{${namespace}}:*`); // benchmark clean-up of its own namespace
    if (keys.length) await redis.del(...keys);
    redis.disconnect();
    await scratch.drop();
  }
}

/**
 * 95 % reads of one of 20 workshops' counts, 5 % enrollments into them, 8 concurrent clients,
 * 2,000 operations. A read that starts after a write finished must show at least that write's
 * count; anything less is a stale read.
 */
async function mixedWorkload(url: string, cache: TwoTierCache, database: Database) {
  const workshops = await database.prisma.workshop.findMany({
    where: { status: 'PUBLISHED', startsAt: { gt: new Date() }, deletedAt: null },
    take: 20,
    select: { id: true },
  });
  const ids = workshops.map((w) => Buffer.from(`Workshop:${w.id}`).toString('base64'));
  const settled = new Map<string, number>(); // enrollments (all statuses but cancelled) known committed per workshop
  const post = async (query: string, variables: object) => {
    const response = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/json', accept: 'application/json' }, body: JSON.stringify({ query, variables }) });
    return (await response.json()) as { data?: any; errors?: unknown[] };
  };
  const READ = `query ($id: ID!) { workshop(id: $id) { enrollmentCount waitlistCount } }`;
  const before = { ...cache.stats };
  let reads = 0;
  let writes = 0;
  let stale = 0;
  let next = 0;
  const TOTAL = 2_000;
  const deadline = Date.now() + 60_000;
  const worker = async () => {
    while (next < TOTAL && Date.now() < deadline) {
      const n = next++;
      const write = n % 20 === 7;
      // Writes walk through the workshops in turn; reads spread over all of them.
      const id = ids[(write ? Math.floor(n / 20) : n) % ids.length]!;
      if (write) {
        const result = await post(`mutation ($input: EnrollInput!) { enroll(input: $input) { accepted } }`, {
          input: { workshopId: id, email: `bench-${n}-${randomBytes(3).toString('hex')}@example.com` },
        });
        if (result.errors) throw new Error(`enroll failed: ${JSON.stringify(result.errors)}`);
        writes++;
        settled.set(id, (settled.get(id) ?? 0) + 1);
      } else {
        const floor = settled.get(id) ?? 0;
        const baseline = baselines.get(id)!;
        const { data } = await post(READ, { id });
        reads++;
        if (data.workshop.enrollmentCount + data.workshop.waitlistCount < baseline + floor) {
          if (stale === 0) console.log('first stale read', id, data.workshop, baseline, floor);
          stale++;
        }
      }
    }
  };
  const baselines = new Map<string, number>();
  for (const id of ids) {
    const { data } = await post(READ, { id });
    baselines.set(id, data.workshop.enrollmentCount + data.workshop.waitlistCount);
  }
  await Promise.all(Array.from({ length: 8 }, worker));
  const hits = cache.stats.local + cache.stats.redis - before.local - before.redis;
  const lookups = hits + cache.stats.miss - before.miss;
  return { reads, writes, stale, hitRatio: hits / Math.max(1, lookups) };
}

await main();
process.exit(process.exitCode ?? 0);
