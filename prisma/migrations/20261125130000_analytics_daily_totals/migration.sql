-- Site-wide day × type totals, rolled up from daily_metrics: site-wide dashboards read a few thousand
-- rows a year instead of one row per workshop and day.
CREATE MATERIALIZED VIEW analytics.daily_totals AS
SELECT day, type, sum(events)::bigint AS events
FROM analytics.daily_metrics
GROUP BY day, type;
CREATE UNIQUE INDEX daily_totals_key ON analytics.daily_totals (day, type);

INSERT INTO analytics.refreshes (view, refreshed_at) VALUES ('daily_totals', now());
