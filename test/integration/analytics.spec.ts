import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createLogger } from '../../src/infra/logger.js';
import { pruneClientEventIds } from '../../src/modules/analytics/events-service.js';
import { StatisticsService } from '../../src/modules/analytics/statistics-service.js';
import { ensurePartitions, partitionName } from '../../src/modules/analytics/partitions.js';
import { codesOf, dataOf, startTestApp, type TestApp } from '../testkit/app.js';
import { createWorkshop, enrollConfirmed } from '../testkit/factories.js';

const TRACK = `mutation ($events: [EventInput!]!) { trackEvents(events: $events) { accepted duplicates } }`;
const STATS = `query ($id: ID!) { workshop(id: $id) { statistics { views enrollments waitlisted cancellations conversion responses averageRating nps statsAsOf } } }`;
const DAY = 86_400_000;
const PARTNER_TOP = `query ($r: DateRangeInput!) { analytics { overview(range: $r) { views } topWorkshops(metric: VIEWS, range: $r) { workshop { id } value } } }`;

describe('analytics', () => {
  let app: TestApp;
  beforeAll(async () => {
    app = await startTestApp({ persisted: { acme: [TRACK] } });
    await ensurePartitions(app.database, { from: new Date(Date.now() - 60 * DAY), monthsAhead: 3 });
  });
  afterAll(() => app?.close());

  const view = (workshopId: string, occurredAt = new Date()) => ({ id: randomUUID(), type: 'WORKSHOP_VIEW', workshopId, occurredAt: occurredAt.toISOString() });
  const refresh = () => app.gql(`mutation { refreshStatistics }`, {}, { key: app.keys.admin });

  it('routes events to monthly partitions, and a one-month range scans one partition', async () => {
    const { id } = await createWorkshop(app);
    const lastMonth = new Date(Date.now() - 35 * DAY);
    dataOf(await app.gql(TRACK, { events: [view(id), view(id, lastMonth)] }, { key: app.keys.editor }));
    const rows = await app.database.prisma.$queryRaw<{ partition: string }[]>`
      SELECT tableoid::regclass::text AS partition FROM analytics.analytics_events WHERE workshop_id = ${Buffer.from(id, 'base64').toString().split(':')[1]}::uuid ORDER BY occurred_at`;
    expect(rows.map((r) => r.partition)).toEqual([`analytics.${partitionName(new Date(Date.UTC(lastMonth.getUTCFullYear(), lastMonth.getUTCMonth(), 1)))}`, `analytics.${partitionName(new Date(Date.UTC(new Date().getUTCFullYear(), new Date().getUTCMonth(), 1)))}`]);
    const month = new Date(Date.UTC(new Date().getUTCFullYear(), new Date().getUTCMonth(), 1));
    const next = new Date(Date.UTC(month.getUTCFullYear(), month.getUTCMonth() + 1, 1));
    const plan = await app.database.prisma.$queryRawUnsafe<{ 'QUERY PLAN': string }[]>(
      `EXPLAIN SELECT type, count(*) FROM analytics.analytics_events WHERE occurred_at >= '${month.toISOString()}' AND occurred_at < '${next.toISOString()}' GROUP BY type`,
    );
    const text = plan.map((p) => p['QUERY PLAN']).join('\n');
    const scanned = new Set(text.match(/analytics_events_(y\d{4}m\d{2}|default)/g));
    expect([...scanned]).toEqual([partitionName(month)]);
  });

  it('ignores a resent event and never counts it twice', async () => {
    const { id } = await createWorkshop(app);
    const events = [view(id), view(id)];
    expect(dataOf(await app.gql(TRACK, { events }, { key: app.keys.editor })).trackEvents).toEqual({ accepted: 2, duplicates: 0 });
    expect(dataOf(await app.gql(TRACK, { events }, { key: app.keys.editor })).trackEvents).toEqual({ accepted: 0, duplicates: 2 });
    expect(dataOf(await app.gql(TRACK, { events: [events[0], view(id)] })).trackEvents).toEqual({ accepted: 1, duplicates: 1 });
  });

  it('counts an event id once even when resent with another timestamp (another partition) or twice in one call', async () => {
    const { id } = await createWorkshop(app);
    const first = view(id);
    const resentLastMonth = { ...first, occurredAt: new Date(Date.now() - 35 * DAY).toISOString() };
    const twice = view(id);
    expect(dataOf(await app.gql(TRACK, { events: [first, twice, twice] }, { key: app.keys.editor })).trackEvents).toEqual({ accepted: 2, duplicates: 1 });
    expect(dataOf(await app.gql(TRACK, { events: [resentLastMonth] }, { key: app.keys.editor })).trackEvents).toEqual({ accepted: 0, duplicates: 1 });
    const [stored] = await app.database.prisma.$queryRaw<{ stored: number }[]>`
      SELECT count(*)::int AS stored FROM analytics.analytics_events WHERE event_id IN (${first.id}::uuid, ${twice.id}::uuid)`;
    expect(stored).toEqual({ stored: 2 });
  });

  it('forgets claimed ids only once their events are too old to be accepted again', async () => {
    const old = randomUUID();
    const recent = randomUUID();
    await app.database.prisma.$executeRaw`
      INSERT INTO analytics.client_event_ids (event_id, occurred_at) VALUES (${old}::uuid, now() - interval '402 days'), (${recent}::uuid, now() - interval '399 days')`;
    await pruneClientEventIds(app.database.prisma);
    const kept = await app.database.prisma.$queryRaw<{ event_id: string }[]>`
      SELECT event_id::text FROM analytics.client_event_ids WHERE event_id IN (${old}::uuid, ${recent}::uuid)`;
    expect(kept.map((r) => r.event_id)).toEqual([recent]);
  });

  it('stores each event once when the same batch is sent concurrently', async () => {
    const { id } = await createWorkshop(app);
    const events = Array.from({ length: 20 }, () => view(id));
    const results = await Promise.all(Array.from({ length: 4 }, () => app.gql(TRACK, { events }, { key: app.keys.editor })));
    const accepted = results.map((r) => dataOf(r).trackEvents.accepted as number);
    expect(accepted.reduce((a, b) => a + b, 0)).toBe(20);
    const [stored] = await app.database.prisma.$queryRaw<{ stored: number }[]>`
      SELECT count(*)::int AS stored FROM analytics.analytics_events WHERE event_id = ANY(${events.map((e) => e.id)}::uuid[])`;
    expect(stored).toEqual({ stored: 20 });
  });

  it('lets anonymous clients send views only, and validates events', async () => {
    const { id } = await createWorkshop(app);
    expect(codesOf(await app.gql(TRACK, { events: [{ ...view(id), type: 'ENROLLMENT' }] }))).toEqual(['FORBIDDEN']);
    expect(codesOf(await app.gql(TRACK, { events: [{ ...view(id), id: 'not-a-uuid' }] }, { key: app.keys.editor }))).toEqual(['BAD_USER_INPUT']);
    expect(codesOf(await app.gql(TRACK, { events: [view(id, new Date(Date.now() + DAY))] }, { key: app.keys.editor }))).toEqual(['BAD_USER_INPUT']);
    expect(codesOf(await app.gql(TRACK, { events: Array.from({ length: 501 }, () => view(id)) }, { key: app.keys.editor }))).toEqual(['BAD_USER_INPUT']);
  });

  it('takes anonymous events only for published workshops, close to now, with small properties', async () => {
    const { id } = await createWorkshop(app);
    const draft = await createWorkshop(app, { publish: false });
    const missing = Buffer.from(`Workshop:${randomUUID()}`).toString('base64');
    const problems = async (event: Record<string, unknown>, key?: string) => {
      const response = await app.gql(TRACK, { events: [event] }, { key, persisted: key === app.keys.partner });
      return (response.errors ?? []).map((e) => `${e.extensions?.code} ${(e.extensions?.fields ?? []).map((f: { path: string }) => f.path).join()}`);
    };
    expect(await problems(view(draft.id))).toEqual(['BAD_USER_INPUT events.0.workshopId']);
    expect(await problems(view(missing))).toEqual(['BAD_USER_INPUT events.0.workshopId']);
    expect(await problems(view(id, new Date(Date.now() - 2 * 3600_000)))).toEqual(['BAD_USER_INPUT events.0.occurredAt']);
    expect(await problems(view(id, new Date(Date.now() + 2 * 3600_000)))).toEqual(['BAD_USER_INPUT events.0.occurredAt']);
    const bulky = { ...view(id), properties: { note: 'x'.repeat(600) } };
    expect(await problems(bulky)).toEqual(['BAD_USER_INPUT events.0.properties']);
    expect(dataOf(await app.gql(TRACK, { events: [view(id, new Date(Date.now() - 30 * 60_000))] })).trackEvents.accepted).toBe(1);
    // API keys keep the wide window and budget (imports, server-side trackers), but not hidden or missing workshops.
    expect(await problems({ ...bulky, occurredAt: new Date(Date.now() - 30 * DAY).toISOString() }, app.keys.partner)).toEqual([]);
    expect(await problems(view(draft.id), app.keys.partner)).toEqual(['BAD_USER_INPUT events.0.workshopId']);
    expect(await problems(view(missing), app.keys.editor)).toEqual(['BAD_USER_INPUT events.0.workshopId']);
    expect(await problems(view(draft.id), app.keys.editor)).toEqual([]);
  });

  it('computes workshop statistics on a known fixture after a refresh', async () => {
    const { id } = await createWorkshop(app, { capacity: 2 });
    dataOf(await app.gql(TRACK, { events: Array.from({ length: 8 }, () => view(id)) }, { key: app.keys.editor }));
    const first = await enrollConfirmed(app, id, `stats-a-${randomUUID()}@example.com`);
    await enrollConfirmed(app, id, `stats-b-${randomUUID()}@example.com`);
    await enrollConfirmed(app, id, `stats-c-${randomUUID()}@example.com`); // waitlisted
    await enrollConfirmed(app, id, `stats-d-${randomUUID()}@example.com`); // waitlisted
    dataOf(await app.gql(`mutation ($id: ID!, $t: String) { cancelEnrollment(id: $id, token: $t) { status } }`, { id: first.enrollment.id, t: first.cancellationToken }));
    expect(dataOf(await refresh()).refreshStatistics).toBeTruthy();
    const stats = dataOf(await app.gql(STATS, { id }, { key: app.keys.editor })).workshop.statistics;
    // 2 seated (one promoted from the waitlist), 1 waitlisted, 1 cancelled; 8 views
    expect(stats).toMatchObject({ views: 8, enrollments: 2, waitlisted: 1, cancellations: 1, conversion: 0.25, responses: 0 });
    expect(Date.now() - Date.parse(stats.statsAsOf)).toBeLessThan(60_000);
    // Domain actions recorded their events in the same transactions.
    const overview = dataOf(
      await app.gql(`query ($r: DateRangeInput!) { analytics { overview(range: $r) { enrollments cancellations } } }`, { r: { from: new Date(Date.now() - DAY).toISOString(), to: new Date(Date.now() + DAY).toISOString() } }, { key: app.keys.editor }),
    ).analytics.overview;
    expect(overview.enrollments).toBeGreaterThanOrEqual(4);
    expect(overview.cancellations).toBeGreaterThanOrEqual(1);
  });

  it('answers dashboards from the views: timeseries with empty days filled, top workshops', async () => {
    const { id } = await createWorkshop(app);
    const base = new Date(Date.UTC(new Date().getUTCFullYear(), new Date().getUTCMonth(), 1) - 10 * DAY);
    const events = [0, 0, 2, 5].map((d) => view(id, new Date(base.getTime() + d * DAY + 3600_000)));
    dataOf(await app.gql(TRACK, { events }, { key: app.keys.editor }));
    dataOf(await refresh());
    const range = { from: base.toISOString(), to: new Date(base.getTime() + 7 * DAY).toISOString() };
    const series = dataOf(
      await app.gql(`query ($r: DateRangeInput!, $w: ID) { analytics { timeseries(metric: VIEWS, interval: DAY, range: $r, workshopId: $w) { bucket value } } }`, { r: range, w: id }, { key: app.keys.editor }),
    ).analytics.timeseries;
    expect(series.map((p: any) => p.value)).toEqual([2, 0, 1, 0, 0, 1, 0]);
    const top = dataOf(
      await app.gql(`query ($r: DateRangeInput!) { analytics { statsAsOf topWorkshops(metric: VIEWS, range: $r, limit: 3) { workshop { id } value } } }`, { r: range }, { key: app.keys.editor }),
    ).analytics;
    expect(top.topWorkshops[0]).toEqual({ workshop: { id }, value: 4 });
  });

  it('keeps refreshing without blocking or failing concurrent reads', async () => {
    const { id } = await createWorkshop(app);
    dataOf(await app.gql(TRACK, { events: [view(id)] }, { key: app.keys.editor }));
    const reads = async () => {
      for (let i = 0; i < 15; i++) {
        app.cache.clearLocal();
        const response = await app.gql(STATS, { id }, { key: app.keys.editor });
        expect(response.errors).toBeUndefined();
      }
    };
    const refreshes = async () => {
      for (let i = 0; i < 3; i++) dataOf(await refresh());
    };
    await Promise.all([reads(), refreshes(), reads()]);
  });

  it('refreshes shortly after the first write even while writes keep coming', async () => {
    const statistics = new StatisticsService(app.database, app.cache, createLogger('silent'), { intervalMs: 3_600_000, debounceMs: 100 });
    try {
      const before = await statistics.asOf();
      // Steady traffic (up to 3 s): a debounce that every write re-arms would not refresh until it stops.
      const until = Date.now() + 3_000;
      let refreshedDuringTraffic = false;
      while (Date.now() < until && !refreshedDuringTraffic) {
        statistics.scheduleRefresh();
        await new Promise((resolve) => setTimeout(resolve, 20));
        refreshedDuringTraffic = (await statistics.asOf()) > before;
      }
      expect(refreshedDuringTraffic).toBe(true);
    } finally {
      statistics.stop();
    }
  });

  it('gives partners the figures of published workshops only', async () => {
    const partnerApp = await startTestApp({ persisted: { acme: [PARTNER_TOP, STATS] } });
    try {
      const published = await createWorkshop(partnerApp);
      const draft = await createWorkshop(partnerApp, { publish: false });
      dataOf(await partnerApp.gql(TRACK, { events: [view(published.id), view(draft.id), view(draft.id)] }, { key: partnerApp.keys.editor }));
      dataOf(await partnerApp.gql(`mutation { refreshStatistics }`, {}, { key: partnerApp.keys.admin }));
      const range = { from: new Date(Date.now() - DAY).toISOString(), to: new Date(Date.now() + DAY).toISOString() };
      const top = dataOf(await partnerApp.gql(PARTNER_TOP, { r: range }, { key: partnerApp.keys.partner, persisted: true })).analytics;
      expect(top.topWorkshops).toEqual([{ workshop: { id: published.id }, value: 1 }]);
      expect(top.overview.views).toBe(1);
      expect(dataOf(await partnerApp.gql(STATS, { id: published.id }, { key: partnerApp.keys.partner, persisted: true })).workshop.statistics.views).toBe(1);
      expect(dataOf(await partnerApp.gql(STATS, { id: draft.id }, { key: partnerApp.keys.partner, persisted: true })).workshop).toBeNull();
    } finally {
      await partnerApp.close();
    }
  });

  it('shows statistics to API keys only, and refreshing to admins only', async () => {
    const { id } = await createWorkshop(app);
    expect(codesOf(await app.gql(STATS, { id }))).toEqual(['FORBIDDEN']);
    expect(codesOf(await app.gql(`{ analytics { statsAsOf } }`))).toEqual(['FORBIDDEN']);
    expect(codesOf(await app.gql(`mutation { refreshStatistics }`, {}, { key: app.keys.editor }))).toEqual(['FORBIDDEN']);
  });
});
