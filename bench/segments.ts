/**
 * `npm run bench:segments`: `subscriberSegments` at hundreds of thousands of subscribers. Times the
 * service's query (what the API runs) beside the straightforward form it replaced (a per-row plan
 * lookup, grouping on text labels), checks both give the same counts, and prints the ratio.
 * Creates a database on 127.0.0.1 with SUBSCRIBERS people (default 300,000; 10 % PREMIUM) and drops it after.
 */
import { openDatabase } from '../src/infra/db.js';
import { migrate } from '../src/infra/migrate.js';
import { TwoTierCache } from '../src/infra/cache/two-tier-cache.js';
import { createLogger } from '../src/infra/logger.js';
import type { Principal } from '../src/modules/auth/principal.js';
import type { SegmentDimension } from '../src/modules/subscribers/subscribers-service.js';
import { createServices } from '../src/services.js';
import { TokenSigner } from '../src/shared/tokens.js';
import { createScratchDatabase, median, p95 } from './lib.js';

const SUBSCRIBERS = Number(process.env.SUBSCRIBERS ?? 300_000);
const RUNS = Number(process.env.RUNS ?? 10);

const GROUPINGS: SegmentDimension[][] = [['STATUS'], ['TOPIC'], ['PLAN'], ['TOPIC', 'LOCALE', 'STATUS', 'PLAN']];

/** The form the service used before: the plan looked up per subscriber, groups keyed by text. */
function straightforward(dims: SegmentDimension[]): string {
  const column = {
    TOPIC: 'topic',
    LOCALE: 's.locale::text',
    STATUS: 's.status::text',
    PLAN: `coalesce(p.plan::text, 'FREE')`,
  };
  const selected = (['TOPIC', 'LOCALE', 'STATUS', 'PLAN'] as const).map((d) => `${dims.includes(d) ? column[d] : 'NULL'} AS "${d.toLowerCase()}"`);
  return `SELECT ${selected.join(', ')}, count(*)::int AS count FROM subscribers s
    ${dims.includes('TOPIC') ? 'LEFT JOIN LATERAL unnest(s.topics) AS topic ON true' : ''}
    ${dims.includes('PLAN') ? `LEFT JOIN LATERAL (SELECT sub.plan FROM subscriptions sub WHERE sub.subscriber_id = s.id AND sub.status = 'ACTIVE'
      AND (sub.expires_at IS NULL OR sub.expires_at > now()) ORDER BY sub.plan DESC LIMIT 1) p ON true` : ''}
    WHERE s.status IS NOT NULL AND s.erased_at IS NULL
    GROUP BY ${dims.map((d) => column[d]).join(', ')}`;
}

async function time<T>(work: () => Promise<T>): Promise<{ ms: number[]; result: T }> {
  let result = await work(); // warm-up
  const ms: number[] = [];
  for (let i = 0; i < RUNS; i++) {
    const started = process.hrtime.bigint();
    result = await work();
    ms.push(Number(process.hrtime.bigint() - started) / 1e6);
  }
  return { ms: ms.sort((a, b) => a - b), result };
}

const sorted = (rows: object[]) => JSON.stringify(rows.map((row) => JSON.stringify(row)).sort());

async function main() {
  const scratch = await createScratchDatabase('workshops_bench_segments');
  const logger = createLogger('silent');
  const database = await openDatabase({ url: scratch.url, dataDir: '', poolMax: 4, statementTimeoutMs: 60_000 });
  const cache = new TwoTierCache({ maxBytes: 1024 * 1024, namespace: scratch.name, redis: null, subscriber: null, logger });
  try {
    await migrate(database);
    process.stderr.write(`seeding ${SUBSCRIBERS.toLocaleString('en')} subscribers…\n`);
    await database.prisma.$executeRawUnsafe(`
      INSERT INTO subscribers (id, email, locale, created_at, updated_at, status, topics, preferences)
      SELECT gen_random_uuid(), 'bench-' || g || '@example.com', (ARRAY['EN','PL'])[1 + g % 2]::"Locale", now(), now(),
             (ARRAY['ACTIVE','ACTIVE','ACTIVE','PENDING','UNSUBSCRIBED','BOUNCED'])[1 + g % 6]::"SubscriberStatus",
             CASE g % 5 WHEN 0 THEN ARRAY['graphql'] WHEN 1 THEN ARRAY['graphql','testing'] WHEN 2 THEN ARRAY['design','data','security']
                        WHEN 3 THEN ARRAY[]::text[] ELSE ARRAY['data'] END,
             jsonb_build_object('frequency', (ARRAY['DAILY','WEEKLY','MONTHLY'])[1 + g % 3])
      FROM generate_series(1, ${SUBSCRIBERS}) g`);
    await database.prisma.$executeRawUnsafe(`
      INSERT INTO subscriptions (id, subscriber_id, plan, status, expires_at)
      SELECT gen_random_uuid(), id, CASE WHEN random() < 0.1 THEN 'PREMIUM' ELSE 'FREE' END::"Plan", 'ACTIVE', now() + interval '30 days' FROM subscribers`);
    await database.prisma.$executeRawUnsafe('ANALYZE');

    const services = createServices({ database, tokens: new TokenSigner('b'.repeat(32)), cache, logger, statisticsSchedule: null });
    const editor: Principal = { kind: 'apiKey', keyId: 'bench', name: 'bench', role: 'EDITOR', client: null };
    console.log(`\n${SUBSCRIBERS.toLocaleString('en')} subscribers; ${RUNS} runs per query, after one warm-up; median / p95 in ms\n`);
    console.log(`${'subscriberSegments(groupBy)'.padEnd(34)} ${'the API'.padStart(16)} ${'per-row plan'.padStart(18)} ${'ratio'.padStart(7)}`);
    let slowest = 0;
    for (const dims of GROUPINGS) {
      const api = await time(() => services.subscribers.segments(editor, dims));
      const before = await time(() => database.prisma.$queryRawUnsafe<object[]>(straightforward(dims)));
      if (sorted(api.result) !== sorted(before.result)) throw new Error(`${dims.join(', ')}: the two queries disagree`);
      slowest = Math.max(slowest, p95(api.ms));
      console.log(
        `${`[${dims.join(', ')}]`.padEnd(34)} ${`${median(api.ms).toFixed(0)} / ${p95(api.ms).toFixed(0)}`.padStart(16)} ${`${median(before.ms).toFixed(0)} / ${p95(before.ms).toFixed(0)}`.padStart(18)} ${`${(median(before.ms) / median(api.ms)).toFixed(1)}×`.padStart(7)}`,
      );
    }
    console.log(`\nslowest p95 of the API's query: ${slowest.toFixed(0)} ms`);
  } finally {
    cache.close();
    await database.close();
    await scratch.drop();
  }
}

await main();
