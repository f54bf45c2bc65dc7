-- Check-in: when an enrollment became ATTENDED.
ALTER TABLE "enrollments" ADD COLUMN "checked_in_at" TIMESTAMPTZ(3);

-- The per-workshop statistics keep the attended count and its rate unconditionally. The view used to
-- write the rate only when the workshop had ended at refresh time (`ends_at < now()`), so a refresh
-- during or before the workshop (every check-in schedules one) left it null until the next periodic
-- refresh, up to an hour later. "Only once the workshop has ended" is now applied when it is read.
DROP MATERIALIZED VIEW analytics.workshop_statistics;
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
       coalesce(s.attended, 0) AS attended,
       CASE WHEN coalesce(s.enrollments, 0) > 0 THEN s.attended::float8 / s.enrollments END AS attendance_rate,
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
