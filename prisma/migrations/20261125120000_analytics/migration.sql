-- Analytics lives in its own schema: partitioned tables and materialized views are beyond what the
-- Prisma schema can express, and Prisma's diff (which reads "public" only) never tries to undo them.
CREATE SCHEMA IF NOT EXISTS analytics;

-- Raw events, one partition per month (created ahead by the maintenance job) plus a default partition.
-- The primary key must contain the partition key: a client's event id is unique per instant, so a
-- resent event (same id, same occurred_at) is ignored.
CREATE TABLE analytics.analytics_events (
    event_id      UUID        NOT NULL,
    type          TEXT        NOT NULL CHECK (type IN ('WORKSHOP_VIEW', 'ENROLLMENT', 'CANCELLATION', 'QUESTIONNAIRE_START',
                                                       'QUESTIONNAIRE_SUBMIT', 'NEWSLETTER_OPEN', 'NEWSLETTER_CLICK', 'PAGE_VIEW')),
    workshop_id   UUID,
    subscriber_id UUID,
    channel       TEXT,
    occurred_at   TIMESTAMPTZ NOT NULL,
    received_at   TIMESTAMPTZ NOT NULL DEFAULT now(),
    properties    JSONB       NOT NULL DEFAULT '{}',
    PRIMARY KEY (event_id, occurred_at)
) PARTITION BY RANGE (occurred_at);

CREATE TABLE analytics.analytics_events_default PARTITION OF analytics.analytics_events DEFAULT;

-- Covering index from the performance plan: per-workshop time ranges answer type counts from the index alone.
CREATE INDEX analytics_events_workshop_time_idx ON analytics.analytics_events (workshop_id, occurred_at) INCLUDE (type);
CREATE INDEX analytics_events_time_type_idx ON analytics.analytics_events (occurred_at, type);

-- Per day × type × workshop counts (NULLS NOT DISTINCT: site-wide events have no workshop).
CREATE MATERIALIZED VIEW analytics.daily_metrics AS
SELECT (occurred_at AT TIME ZONE 'UTC')::date AS day, type, workshop_id, count(*)::bigint AS events
FROM analytics.analytics_events
GROUP BY 1, 2, 3;
CREATE UNIQUE INDEX daily_metrics_key ON analytics.daily_metrics (day, type, workshop_id) NULLS NOT DISTINCT;
CREATE INDEX daily_metrics_workshop_day_idx ON analytics.daily_metrics (workshop_id, day);

-- Per workshop figures. Enrollments come from the enrollments table (the source of truth), views from
-- events, ratings and NPS from questionnaire responses of the workshop's questionnaires.
CREATE MATERIALIZED VIEW analytics.workshop_statistics AS
WITH views AS (
    SELECT workshop_id, count(*)::bigint AS views
    FROM analytics.analytics_events WHERE type = 'WORKSHOP_VIEW' AND workshop_id IS NOT NULL
    GROUP BY workshop_id
), seats AS (
    SELECT workshop_id,
           count(*) FILTER (WHERE status IN ('ENROLLED', 'ATTENDED'))::bigint AS enrollments,
           count(*) FILTER (WHERE status = 'WAITLISTED')::bigint AS waitlisted,
           count(*) FILTER (WHERE status = 'CANCELLED')::bigint AS cancellations,
           count(*) FILTER (WHERE status = 'ATTENDED')::bigint AS attended
    FROM public.enrollments GROUP BY workshop_id
), answers AS (
    SELECT qn.workshop_id, r.id AS response_id, r.completion_seconds, q.type, (r.answers ->> q.id::text)::int AS value
    FROM public.questionnaires qn
    JOIN public.questionnaire_responses r ON r.questionnaire_id = qn.id
    LEFT JOIN public.questions q ON q.questionnaire_id = qn.id AND q.type IN ('RATING', 'NPS') AND r.answers ? q.id::text
    WHERE qn.workshop_id IS NOT NULL
), feedback AS (
    SELECT workshop_id,
           count(DISTINCT response_id)::bigint AS responses,
           avg(value) FILTER (WHERE type = 'RATING')::float8 AS average_rating,
           round(100.0 * (count(*) FILTER (WHERE type = 'NPS' AND value >= 9) - count(*) FILTER (WHERE type = 'NPS' AND value <= 6))
                 / nullif(count(*) FILTER (WHERE type = 'NPS'), 0), 1)::float8 AS nps,
           avg(completion_seconds)::float8 AS average_completion_seconds
    FROM answers GROUP BY workshop_id
)
SELECT w.id AS workshop_id,
       coalesce(v.views, 0) AS views,
       coalesce(s.enrollments, 0) AS enrollments,
       coalesce(s.waitlisted, 0) AS waitlisted,
       coalesce(s.cancellations, 0) AS cancellations,
       CASE WHEN w.ends_at < now() AND coalesce(s.enrollments, 0) > 0 THEN s.attended::float8 / s.enrollments END AS attendance_rate,
       CASE WHEN coalesce(v.views, 0) > 0 THEN coalesce(s.enrollments, 0)::float8 / v.views END AS conversion,
       coalesce(f.responses, 0) AS responses,
       f.average_rating,
       f.nps,
       f.average_completion_seconds
FROM public.workshops w
LEFT JOIN views v ON v.workshop_id = w.id
LEFT JOIN seats s ON s.workshop_id = w.id
LEFT JOIN feedback f ON f.workshop_id = w.id;
CREATE UNIQUE INDEX workshop_statistics_key ON analytics.workshop_statistics (workshop_id);

-- When each view was last refreshed (the API's statsAsOf).
CREATE TABLE analytics.refreshes (
    view         TEXT PRIMARY KEY,
    refreshed_at TIMESTAMPTZ NOT NULL
);
INSERT INTO analytics.refreshes (view, refreshed_at) VALUES ('daily_metrics', now()), ('workshop_statistics', now());
