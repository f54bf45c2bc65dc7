/**
 * `npm run bench:newsletters`: renders and sends one newsletter to SUBSCRIBERS (default 10,000) ACTIVE
 * subscribers through a local SMTP server (the `smtp-server` package on loopback, counting what it
 * accepts), with the app's own job handlers: BullMQ when REDIS_URL is set, the in-process runner
 * otherwise. Prints deliveries per minute (fan-out start to the last SENT) and the p95 of one delivery
 * job (claim, render, SMTP, mark sent). Creates its own database on BENCH_ADMIN_DATABASE_URL's server
 * and drops it after.
 */
import { randomBytes } from 'node:crypto';
import { startBackground } from '../src/background.js';
import { parseEnv } from '../src/env.js';
import { TwoTierCache } from '../src/infra/cache/two-tier-cache.js';
import { openDatabase } from '../src/infra/db.js';
import { createJobSystem } from '../src/infra/jobs/index.js';
import { createLogger } from '../src/infra/logger.js';
import { migrate } from '../src/infra/migrate.js';
import type { Principal } from '../src/modules/auth/principal.js';
import { createServices } from '../src/services.js';
import { TokenSigner } from '../src/shared/tokens.js';
import { startSmtpServer } from '../test/testkit/smtp.js';
import { createScratchDatabase, p95 } from './lib.js';

const SUBSCRIBERS = Number(process.env.SUBSCRIBERS ?? 10_000);
const TIMEOUT_MS = Number(process.env.TIMEOUT_MS ?? 20 * 60_000);
const editor: Principal = { kind: 'apiKey', keyId: 'bench', name: 'bench', role: 'EDITOR', client: null };

const scratch = await createScratchDatabase('bench_newsletters');
const smtp = await startSmtpServer();
const logger = createLogger('warn');
const database = await openDatabase({ url: scratch.url, dataDir: '', poolMax: 10, statementTimeoutMs: 60_000 });
const durations: number[] = [];
const namespace = `bench-${randomBytes(3).toString('hex')}`;
const jobs = createJobSystem({
  redis: process.env.REDIS_URL,
  namespace,
  backoffMs: 200,
  lockMs: 90_000,
  logger,
  observer: { finished: (queue, seconds, outcome) => void (queue === 'newsletters' && outcome === 'completed' && durations.push(seconds * 1000)), deadLettered: () => {} },
});
try {
  await migrate(database);
  const db = database.prisma;
  await db.$executeRaw`
    INSERT INTO subscribers (id, email, locale, status, topics, preferences, confirmed_at, created_at, updated_at)
    SELECT gen_random_uuid(), 'bench-' || i || '@example.com', (CASE WHEN i % 3 = 0 THEN 'PL' ELSE 'EN' END)::"Locale", 'ACTIVE',
           CASE WHEN i % 2 = 0 THEN ARRAY['graphql', 'testing'] ELSE ARRAY['graphql'] END, '{"frequency":"MONTHLY"}', now(), now(), now()
    FROM generate_series(1, ${SUBSCRIBERS}) i`;
  await db.$executeRaw`
    INSERT INTO workshops (id, slug, title_en, title_pl, description_en, status, starts_at, ends_at, timezone, capacity, tags, updated_at)
    SELECT gen_random_uuid(), 'bench-' || i, 'Workshop ' || i, 'Warsztat ' || i, 'A session.', 'PUBLISHED', now() + (i || ' days')::interval,
           now() + (i || ' days')::interval + interval '3 hours', 'Europe/Warsaw', 30, ARRAY['graphql'], now() FROM generate_series(1, 12) i`;
  const env = parseEnv({ DATABASE_URL: scratch.url, TOKEN_SECRET: randomBytes(32).toString('hex'), DEVELOPMENT_RELAXATIONS: 'true', LOG_LEVEL: 'warn', SMTP_URL: smtp.url, SMTP_POOL_SIZE: '8', PUBLIC_URL: 'https://workshops.example', CACHE_NAMESPACE: namespace, STATS_REFRESH_DEBOUNCE_MS: '0', ...(process.env.REDIS_URL ? { REDIS_URL: process.env.REDIS_URL } : {}) });
  const cache = new TwoTierCache({ maxBytes: 1024 * 1024, namespace, redis: null, subscriber: null, logger });
  const services = createServices({ database, tokens: new TokenSigner(env.TOKEN_SECRET), cache, logger, statisticsSchedule: null, jobs });
  const background = await startBackground({ env, database, services, jobs, logger });
  const newsletter = await services.newsletters.create(editor, { subjectEn: 'This month', subjectPl: 'W tym miesiącu', introEn: 'Our picks.', introPl: 'Nasze propozycje.', topics: ['graphql'] });
  const startedAt = new Date();
  await services.newsletters.schedule(editor, newsletter.id, new Date());
  const deadline = Date.now() + TIMEOUT_MS;
  let status = 'SCHEDULED';
  while (status !== 'SENT' && Date.now() < deadline) {
    await new Promise((resolve) => setTimeout(resolve, 250));
    status = (await db.newsletter.findUniqueOrThrow({ where: { id: newsletter.id } })).status;
  }
  const [last] = await db.$queryRaw<{ last: Date | null }[]>`SELECT max(sent_at) AS last FROM newsletter_deliveries WHERE newsletter_id = ${newsletter.id}::uuid`;
  const elapsedMs = (last?.last ?? new Date()).getTime() - startedAt.getTime();
  const progress = await services.newsletters.progress(newsletter.id);
  await background.close();
  durations.sort((a, b) => a - b);
  const accepted = smtp.received.length;
  console.log(`newsletter to ${SUBSCRIBERS} subscribers (${jobs.kind} jobs, SMTP pool of ${env.SMTP_POOL_SIZE} to a local smtp-server):`);
  console.log(`  status ${status}; sent ${progress.sent}, failed ${progress.failed}, skipped ${progress.skipped}; accepted by the SMTP server ${accepted}`);
  console.log(`  ${(elapsedMs / 1000).toFixed(1)} s from scheduling to the last delivery: ${Math.round(progress.sent / (elapsedMs / 60_000)).toLocaleString('en')} deliveries/min (target >= 1,000)`);
  console.log(`  one delivery job: p95 ${p95(durations).toFixed(1)} ms, median ${durations[Math.floor(durations.length / 2)]!.toFixed(1)} ms`);
  if (status !== 'SENT' || accepted !== SUBSCRIBERS) process.exitCode = 1;
} finally {
  await database.close();
  await smtp.close();
  await scratch.drop();
}
process.exit();
