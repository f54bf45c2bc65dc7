-- Client event ids, unique across partitions. The partitioned table's keys must include occurred_at, so
-- on their own they let an event resent with a different timestamp count twice; ingestion claims the
-- id here first and stores only the events whose id it could claim. Server-generated events (domain
-- actions, the year seed) use random ids and skip this table.
CREATE TABLE analytics.client_event_ids (
    event_id    UUID        PRIMARY KEY,
    occurred_at TIMESTAMPTZ NOT NULL
);
-- Maintenance forgets ids once their events are too old to be accepted again.
CREATE INDEX client_event_ids_occurred_at_idx ON analytics.client_event_ids (occurred_at);

INSERT INTO analytics.client_event_ids (event_id, occurred_at)
SELECT event_id, min(occurred_at) FROM analytics.analytics_events GROUP BY event_id;
