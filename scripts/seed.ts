/**
 * `npm run seed -- --profile=demo|year`. demo: the small embedded demo. year: a realistic year for
 * benchmarks (about 600 workshops, one every 14 hours from 305 days ago, so the last ~75 are still to
 * come and the web app's upcoming page is full; 6,000 subscribers, 24,000 responses and 1,200,000 events),
 * generated inside Postgres with generate_series (no row travels over the wire), with progress.
 * Uses DATABASE_URL (recommended for the year profile) or the embedded database in DATA_DIR. Afterwards the
 * response cache of CACHE_NAMESPACE is flushed (REDIS_URL), so running instances do not serve answers from before.
 */
import { parseArgs } from 'node:util';
import { seedDemo } from '../src/infra/demo-seed.js';
import { parseEnv } from '../src/env.js';
import { flushSharedCache } from '../src/infra/cache/flush-shared-cache.js';
import { openDatabase, type SqlSession } from '../src/infra/db.js';
import { createLogger } from '../src/infra/logger.js';
import { migrate } from '../src/infra/migrate.js';
import { ensurePartitions } from '../src/modules/analytics/partitions.js';

const { values } = parseArgs({ options: { profile: { type: 'string', default: 'demo' }, events: { type: 'string', default: '1200000' } } });
const env = parseEnv(process.env, { cli: true });
const database = await openDatabase({ url: env.DATABASE_URL, dataDir: env.DATA_DIR, poolMax: 2, statementTimeoutMs: 3_600_000, maintenanceTimeoutMs: 3_600_000 });

function progress(done: number, total: number, label: string) {
  const width = 30;
  const filled = Math.round((done / total) * width);
  process.stderr.write(`\r[${'#'.repeat(filled)}${'.'.repeat(width - filled)}] ${String(Math.round((100 * done) / total)).padStart(3)}% ${label.padEnd(40)}`);
  if (done === total) process.stderr.write('\n');
}

async function seedYear(session: SqlSession, totalEvents: number) {
  const started = Date.now();
  const months = 12;
  const steps = 5 + months + 1;
  let step = 0;
  const run = async (label: string, sql: string) => {
    progress(step, steps, label);
    await session.exec(sql);
    progress(++step, steps, label);
  };
  await ensurePartitions(database, { from: new Date(Date.now() - 366 * 86_400_000), monthsAhead: 3 });
  await run('workshops', `
    INSERT INTO workshops (id, slug, title_en, title_pl, description_en, description_pl, status, starts_at, ends_at, timezone, capacity, location, tags, created_at, updated_at)
    SELECT gen_random_uuid(), 'year-workshop-' || g, 'Workshop ' || g || ': ' || (ARRAY['GraphQL','TypeScript','Postgres','Testing','Design','Security'])[1 + g % 6],
           'Warsztat ' || g, 'A hands-on workshop, edition ' || g, 'Praktyczny warsztat, edycja ' || g,
           (CASE WHEN g % 40 = 0 THEN 'DRAFT' WHEN g % 25 = 0 THEN 'ARCHIVED' ELSE 'PUBLISHED' END)::"WorkshopStatus",
           now() - interval '305 days' + (g * interval '14 hours'), now() - interval '305 days' + (g * interval '14 hours') + interval '6 hours',
           'Europe/Warsaw', 10 + g % 30, (ARRAY['Warszawa','Kraków','Gdańsk','Online'])[1 + g % 4],
           ARRAY[(ARRAY['graphql','typescript','databases','testing','design','security'])[1 + g % 6]], now() - interval '400 days', now()
    FROM generate_series(1, 600) g ON CONFLICT (slug) DO NOTHING`);
  await run('subscribers', `
    INSERT INTO subscribers (id, email, name, locale, status, topics, preferences, confirmed_at, created_at, updated_at)
    SELECT gen_random_uuid(), 'year-person-' || g || '@example.net', 'Person ' || g, (CASE WHEN g % 2 = 0 THEN 'PL' ELSE 'EN' END)::"Locale",
           (ARRAY['ACTIVE','ACTIVE','ACTIVE','PENDING','UNSUBSCRIBED'])[1 + g % 5]::"SubscriberStatus",
           ARRAY[(ARRAY['graphql','typescript','databases','testing','design','security'])[1 + g % 6]],
           jsonb_build_object('frequency', (ARRAY['DAILY','WEEKLY','MONTHLY'])[1 + g % 3]), now() - (g % 365) * interval '1 day',
           now() - (g % 365) * interval '1 day', now()
    FROM generate_series(1, 6000) g ON CONFLICT (email) DO NOTHING`);
  await run('enrollments', `
    WITH w AS (SELECT id, capacity, starts_at, row_number() OVER (ORDER BY slug) AS n FROM workshops WHERE slug LIKE 'year-workshop-%'),
         s AS (SELECT id, row_number() OVER (ORDER BY email) - 1 AS n FROM subscribers WHERE email LIKE 'year-person-%')
    INSERT INTO enrollments (id, workshop_id, subscriber_id, status, created_at, updated_at)
    SELECT gen_random_uuid(), w.id, s.id,
           (CASE WHEN k > w.capacity THEN 'WAITLISTED' WHEN k % 12 = 0 THEN 'CANCELLED' WHEN w.starts_at < now() THEN 'ATTENDED' ELSE 'ENROLLED' END)::"EnrollmentStatus",
           w.starts_at - interval '20 days' + k * interval '1 hour', now()
    FROM w CROSS JOIN generate_series(1, 25) k JOIN s ON s.n = (w.n * 37 + k * 211) % 6000
    ON CONFLICT DO NOTHING`);
  await run('questionnaires', `
    INSERT INTO questionnaires (id, workshop_id, kind, title_en, status, allow_anonymous, created_at, updated_at)
    SELECT gen_random_uuid(), id, 'POST_WORKSHOP', 'Feedback: ' || title_en, 'OPEN', false, ends_at, now()
    FROM workshops WHERE slug LIKE 'year-workshop-%' AND starts_at < now() AND NOT EXISTS (SELECT 1 FROM questionnaires q WHERE q.workshop_id = workshops.id);
    INSERT INTO questions (id, questionnaire_id, position, type, prompt_en, options, required, created_at)
    SELECT gen_random_uuid(), q.id, p.position, p.type::"QuestionType", p.prompt, '[]'::jsonb, p.position < 2, now()
    FROM questionnaires q JOIN workshops w ON w.id = q.workshop_id AND w.slug LIKE 'year-workshop-%'
    CROSS JOIN (VALUES (0, 'RATING', 'Rating'), (1, 'NPS', 'Recommend?'), (2, 'TEXT', 'Comments')) AS p(position, type, prompt)
    WHERE NOT EXISTS (SELECT 1 FROM questions x WHERE x.questionnaire_id = q.id)`);
  await run('responses (24,000)', `
    WITH q AS (
      SELECT q.id, q.workshop_id, w.ends_at, row_number() OVER (ORDER BY q.id) AS n,
             max(x.id::text) FILTER (WHERE x.type = 'RATING') AS rating, max(x.id::text) FILTER (WHERE x.type = 'NPS') AS nps,
             max(x.id::text) FILTER (WHERE x.type = 'TEXT') AS text
      FROM questionnaires q JOIN workshops w ON w.id = q.workshop_id AND w.slug LIKE 'year-workshop-%' JOIN questions x ON x.questionnaire_id = q.id
      GROUP BY q.id, q.workshop_id, w.ends_at
    ), s AS (SELECT id, row_number() OVER (ORDER BY email) - 1 AS n FROM subscribers WHERE email LIKE 'year-person-%'),
    per AS (SELECT ceil(24000.0 / count(*))::int AS each FROM q)
    INSERT INTO questionnaire_responses (id, questionnaire_id, subscriber_id, answers, started_at, submitted_at, completion_seconds, idempotency_key)
    SELECT gen_random_uuid(), q.id, s.id,
           jsonb_build_object(q.rating, 1 + (q.n + k) % 5, q.nps, (q.n * 7 + k * 3) % 11) || CASE WHEN k % 3 = 0 THEN jsonb_build_object(q.text, 'Comment ' || k) ELSE '{}' END,
           q.ends_at + k * interval '10 minutes' - interval '3 minutes', q.ends_at + k * interval '10 minutes', 60 + (k * 17) % 400, 'year-' || q.id || '-' || k
    FROM q CROSS JOIN per CROSS JOIN generate_series(1, per.each) k JOIN s ON s.n = (q.n * 53 + k * 97) % 6000
    ON CONFLICT DO NOTHING`);
  for (let m = months; m >= 1; m--) {
    await run(`events, ${m} month(s) ago`, `
      WITH w AS (SELECT array_agg(id ORDER BY slug) AS ids FROM workshops WHERE slug LIKE 'year-workshop-%')
      INSERT INTO analytics.analytics_events (event_id, type, workshop_id, channel, occurred_at, properties)
      SELECT gen_random_uuid(),
             (ARRAY['WORKSHOP_VIEW','WORKSHOP_VIEW','WORKSHOP_VIEW','WORKSHOP_VIEW','PAGE_VIEW','PAGE_VIEW','NEWSLETTER_OPEN','NEWSLETTER_CLICK','QUESTIONNAIRE_START','ENROLLMENT'])[1 + (g * 7) % 10],
             w.ids[1 + (g * 31) % array_length(w.ids, 1)],
             (ARRAY['web','newsletter','partner'])[1 + g % 3],
             now() - ${m} * interval '30 days' + (g % 2592000) * interval '1 second',
             '{}'::jsonb
      FROM w, generate_series(1, ${Math.ceil(totalEvents / months)}) g`);
  }
  await run(
    'statistics',
    'REFRESH MATERIALIZED VIEW analytics.daily_metrics; REFRESH MATERIALIZED VIEW analytics.daily_totals; REFRESH MATERIALIZED VIEW analytics.workshop_statistics; UPDATE analytics.refreshes SET refreshed_at = now(); ANALYZE;',
  );
  process.stderr.write(`done in ${Math.round((Date.now() - started) / 1000)} s\n`);
}

try {
  await migrate(database);
  if (values.profile === 'year') {
    const session = await database.session();
    try {
      await seedYear(session, Number(values.events));
    } finally {
      session.release();
    }
    const [counts] = await database.prisma.$queryRaw<Record<string, number>[]>`
      SELECT (SELECT count(*)::int FROM workshops) AS workshops, (SELECT count(*)::int FROM subscribers) AS subscribers,
             (SELECT count(*)::int FROM enrollments) AS enrollments, (SELECT count(*)::int FROM questionnaire_responses) AS responses,
             (SELECT count(*)::int FROM analytics.analytics_events) AS events`;
    console.log(counts);
  } else if (values.profile === 'demo') {
    console.log(await seedDemo(database.prisma));
  } else {
    throw new Error(`Unknown profile "${values.profile}": use demo or year`);
  }
  const flushed = await flushSharedCache(env, createLogger('warn'));
  if (flushed) console.log(`response cache "${flushed.namespace}" flushed: ${flushed.entries} entries`);
} finally {
  await database.close();
}
process.exit(0);
