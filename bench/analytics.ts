/**
 * `npm run bench:analytics`: dashboard queries answered from the materialized views (what the API
 * runs) vs the same answers aggregated from the raw events, on the year profile, side by side.
 * Uses BENCH_DATABASE_URL when given (already seeded with `npm run seed -- --profile=year`);
 * otherwise creates a database on 127.0.0.1, seeds the year profile (~30 s) and drops it after.
 */
import { execFileSync } from 'node:child_process';
import pg from 'pg';
import { createScratchDatabase, median, p95 } from './lib.js';

const RUNS = Number(process.env.RUNS ?? 30);

interface Dashboard {
  name: string;
  views: string;
  raw: string;
}

const DAY = `(occurred_at AT TIME ZONE 'UTC')::date`;
const STATISTICS = 'views, enrollments, waitlisted, cancellations, attendance_rate, conversion, responses, average_rating, nps, average_completion_seconds';
const DASHBOARDS: Dashboard[] = [
  {
    name: 'overview, last 90 days',
    views: `SELECT type, sum(events)::bigint AS n FROM analytics.daily_totals WHERE day >= current_date - 90 AND day < current_date + 1 GROUP BY type ORDER BY type`,
    raw: `SELECT type, count(*)::bigint AS n FROM analytics.analytics_events WHERE ${DAY} >= current_date - 90 AND ${DAY} < current_date + 1 GROUP BY type ORDER BY type`,
  },
  {
    name: 'views per week, one year',
    views: `SELECT date_trunc('week', day) AS bucket, sum(events)::bigint AS n FROM analytics.daily_totals WHERE type = 'WORKSHOP_VIEW' AND day >= current_date - 365 GROUP BY 1 ORDER BY 1`,
    raw: `SELECT date_trunc('week', ${DAY}) AS bucket, count(*)::bigint AS n FROM analytics.analytics_events WHERE type = 'WORKSHOP_VIEW' AND ${DAY} >= current_date - 365 GROUP BY 1 ORDER BY 1`,
  },
  {
    name: 'top 10 workshops by views, 30 days',
    views: `SELECT workshop_id, sum(events)::bigint AS n FROM analytics.daily_metrics WHERE type = 'WORKSHOP_VIEW' AND day >= current_date - 30 AND workshop_id IS NOT NULL GROUP BY 1 ORDER BY n DESC, workshop_id LIMIT 10`,
    raw: `SELECT workshop_id, count(*)::bigint AS n FROM analytics.analytics_events WHERE type = 'WORKSHOP_VIEW' AND ${DAY} >= current_date - 30 AND workshop_id IS NOT NULL GROUP BY 1 ORDER BY n DESC, workshop_id LIMIT 10`,
  },
  {
    // Every figure Workshop.statistics returns, from the view vs computed as the view's definition does.
    name: 'one workshop: Workshop.statistics',
    views: `SELECT ${STATISTICS} FROM analytics.workshop_statistics WHERE workshop_id = $1`,
    raw: `WITH views AS (
        SELECT count(*)::bigint AS views FROM analytics.analytics_events WHERE workshop_id = $1 AND type = 'WORKSHOP_VIEW'
      ), seats AS (
        SELECT count(*) FILTER (WHERE status IN ('ENROLLED', 'ATTENDED'))::bigint AS enrollments, count(*) FILTER (WHERE status = 'WAITLISTED')::bigint AS waitlisted,
               count(*) FILTER (WHERE status = 'CANCELLED')::bigint AS cancellations, count(*) FILTER (WHERE status = 'ATTENDED')::bigint AS attended
        FROM public.enrollments WHERE workshop_id = $1
      ), answers AS (
        SELECT r.id AS response_id, r.completion_seconds, q.type, (r.answers ->> q.id::text)::int AS value
        FROM public.questionnaires qn
        JOIN public.questionnaire_responses r ON r.questionnaire_id = qn.id
        LEFT JOIN public.questions q ON q.questionnaire_id = qn.id AND q.type IN ('RATING', 'NPS') AND r.answers ? q.id::text
        WHERE qn.workshop_id = $1
      ), feedback AS (
        SELECT count(DISTINCT response_id)::bigint AS responses, avg(value) FILTER (WHERE type = 'RATING')::float8 AS average_rating,
               round(100.0 * (count(*) FILTER (WHERE type = 'NPS' AND value >= 9) - count(*) FILTER (WHERE type = 'NPS' AND value <= 6))
                     / nullif(count(*) FILTER (WHERE type = 'NPS'), 0), 1)::float8 AS nps,
               avg(completion_seconds)::float8 AS average_completion_seconds
        FROM answers
      ), figures AS (
        SELECT v.views, s.enrollments, s.waitlisted, s.cancellations,
               CASE WHEN w.ends_at < now() AND s.enrollments > 0 THEN s.attended::float8 / s.enrollments END AS attendance_rate,
               CASE WHEN v.views > 0 THEN s.enrollments::float8 / v.views END AS conversion,
               f.responses, f.average_rating, f.nps, f.average_completion_seconds
        FROM public.workshops w, views v, seats s, feedback f WHERE w.id = $1
      )
      SELECT ${STATISTICS} FROM figures`,
  },
];

async function time(client: pg.Client, sql: string, params: unknown[]): Promise<{ ms: number[]; rows: unknown[] }> {
  const ms: number[] = [];
  let rows: unknown[] = [];
  for (let i = 0; i < RUNS; i++) {
    const started = process.hrtime.bigint();
    rows = (await client.query(sql, params)).rows;
    ms.push(Number(process.hrtime.bigint() - started) / 1e6);
  }
  return { ms: ms.sort((a, b) => a - b), rows };
}


async function main() {
  let url = process.env.BENCH_DATABASE_URL;
  const scratch = url ? null : await createScratchDatabase('workshops_bench_year');
  try {
    if (scratch) {
      url = scratch.url;
      console.log('seeding the year profile…');
      execFileSync('npx', ['tsx', 'scripts/seed.ts', '--profile=year'], { env: { ...process.env, DATABASE_URL: url }, stdio: ['ignore', 'inherit', 'inherit'] });
    }
    const client = new pg.Client({ connectionString: url });
    await client.connect();
    try {
      const [{ events }] = (await client.query('SELECT count(*)::int AS events FROM analytics.analytics_events')).rows;
      const [{ id }] = (await client.query(`SELECT workshop_id AS id FROM analytics.daily_metrics WHERE workshop_id IS NOT NULL GROUP BY 1 ORDER BY sum(events) DESC LIMIT 1`)).rows;
      console.log(`\n${events.toLocaleString('en')} events; ${RUNS} runs per query, after one warm-up; median / p95 in ms\n`);
      console.log(`${'dashboard query'.padEnd(44)} ${'views'.padStart(14)} ${'raw events'.padStart(16)} ${'ratio'.padStart(8)}`);
      let worstRatio = Infinity;
      let worstViewsP95 = 0;
      for (const dashboard of DASHBOARDS) {
        const params = dashboard.views.includes('$1') ? [id] : [];
        await client.query(dashboard.views, params);
        await client.query(dashboard.raw, params);
        const views = await time(client, dashboard.views, params);
        const raw = await time(client, dashboard.raw, params);
        if (JSON.stringify(views.rows) !== JSON.stringify(raw.rows)) throw new Error(`${dashboard.name}: the views and the raw events disagree`);
        const ratio = median(raw.ms) / median(views.ms);
        worstRatio = Math.min(worstRatio, ratio);
        worstViewsP95 = Math.max(worstViewsP95, p95(views.ms));
        console.log(
          `${dashboard.name.padEnd(44)} ${`${median(views.ms).toFixed(2)} / ${p95(views.ms).toFixed(2)}`.padStart(14)} ${`${median(raw.ms).toFixed(1)} / ${p95(raw.ms).toFixed(1)}`.padStart(16)} ${`${ratio.toFixed(0)}×`.padStart(8)}`,
        );
      }
      console.log(`\nslowest ratio ${worstRatio.toFixed(0)}× (target ≥ 50×); slowest p95 from the views ${worstViewsP95.toFixed(2)} ms (target < 10 ms)`);
    } finally {
      await client.end();
    }
  } finally {
    await scratch?.drop();
  }
}

await main();
