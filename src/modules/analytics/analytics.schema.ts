import { builder } from '../../builder.js';
import { ValidationError } from '../../shared/errors.js';
import { encodeGlobalId } from '../../shared/ids.js';
import { isWithheld } from '../auth/group-size.js';
import { workshopVisibility } from '../workshops/workshop-visibility.js';
import { WorkshopRef } from '../workshops/workshop.schema.js';
import { EVENT_TYPES } from './events-service.js';
import { METRIC_EVENT, type WorkshopStatisticsRow } from './analytics-queries.js';

const EventTypeEnum = builder.enumType('EventType', { values: EVENT_TYPES });
const MetricEnum = builder.enumType('Metric', { values: Object.keys(METRIC_EVENT) as (keyof typeof METRIC_EVENT)[] });
const IntervalEnum = builder.enumType('Interval', { values: ['DAY', 'WEEK', 'MONTH'] as const });

const DateRangeInput = builder.inputType('DateRangeInput', {
  description: 'UTC instants; `to` is exclusive. Analytics count whole UTC days.',
  fields: (t) => ({ from: t.field({ type: 'DateTime', required: true }), to: t.field({ type: 'DateTime', required: true }) }),
});

const RESPONSE_FIGURE = 'Null for all but editors when fewer than SUMMARY_MIN_GROUP_SIZE (default 5) responses were given.';

const WorkshopStatisticsRef = builder.objectRef<WorkshopStatisticsRow>('WorkshopStatistics').implement({
  description: 'From the materialized statistics (refreshed hourly and shortly after activity); see statsAsOf.',
  fields: (t) => ({
    id: t.id({ resolve: (s) => encodeGlobalId('WorkshopStatistics', s.workshopId) }),
    views: t.exposeInt('views'),
    enrollments: t.exposeInt('enrollments', { description: 'Seats taken (ENROLLED or ATTENDED).' }),
    waitlisted: t.exposeInt('waitlisted'),
    cancellations: t.exposeInt('cancellations'),
    attendanceRate: t.exposeFloat('attendanceRate', { nullable: true, description: 'Attended ÷ seats taken, once the workshop has ended.' }),
    conversion: t.exposeFloat('conversion', { nullable: true, description: 'Seats taken ÷ views.' }),
    responses: t.exposeInt('responses'),
    // Drawn from the responses: withheld from partners below the minimum group size (see isWithheld).
    averageRating: t.float({ nullable: true, description: RESPONSE_FIGURE, resolve: (s, _args, ctx) => (isWithheld(ctx, s.responses) ? null : s.averageRating) }),
    nps: t.float({ nullable: true, description: `−100 to 100. ${RESPONSE_FIGURE}`, resolve: (s, _args, ctx) => (isWithheld(ctx, s.responses) ? null : s.nps) }),
    averageCompletionSeconds: t.float({ nullable: true, description: RESPONSE_FIGURE, resolve: (s, _args, ctx) => (isWithheld(ctx, s.responses) ? null : s.averageCompletionSeconds) }),
    statsAsOf: t.field({ type: 'DateTime', resolve: (_s, _args, ctx) => ctx.services.statistics.asOf() }),
  }),
});

builder.objectField(WorkshopRef, 'statistics', (t) =>
  t.field({
    type: WorkshopStatisticsRef,
    nullable: true,
    complexity: 5,
    description: 'API keys only: editors for every workshop, partners for published ones.',
    authScopes: { apiKey: true },
    resolve: (w, _args, ctx) => ctx.loaders.analytics.statistics.load(w.id),
  }),
);

const OverviewRef = builder.objectRef<Record<string, number>>('AnalyticsOverview').implement({
  fields: (t) => ({
    ...Object.fromEntries(
      Object.entries(METRIC_EVENT).map(([metric, type]) => [
        metric.toLowerCase().replace(/_(\w)/g, (_m, c: string) => c.toUpperCase()),
        t.int({ resolve: (o) => o[type] ?? 0 }),
      ]),
    ),
    conversion: t.float({
      nullable: true,
      description: 'Enrollments ÷ workshop views in the range.',
      resolve: (o) => ((o.WORKSHOP_VIEW ?? 0) > 0 ? (o.ENROLLMENT ?? 0) / o.WORKSHOP_VIEW! : null),
    }),
  }),
});

const PointRef = builder.objectRef<{ bucket: Date; value: number }>('TimeseriesPoint').implement({
  fields: (t) => ({ bucket: t.expose('bucket', { type: 'DateTime', description: 'Start of the day, week or month (UTC).' }), value: t.exposeInt('value') }),
});

const TopWorkshopRef = builder.objectRef<{ workshopId: string; value: number }>('TopWorkshop').implement({
  fields: (t) => ({
    workshop: t.field({
      type: WorkshopRef,
      nullable: true,
      resolve: async (row, _args, ctx) => workshopVisibility(ctx.principal).visible(await ctx.loaders.workshops.byId.load(row.workshopId)),
    }),
    value: t.exposeInt('value'),
  }),
});

const AnalyticsRef = builder.objectRef<Record<string, never>>('Analytics').implement({
  description: 'Dashboards, answered from pre-aggregated daily metrics.',
  fields: (t) => ({
    statsAsOf: t.field({ type: 'DateTime', resolve: (_a, _args, ctx) => ctx.services.statistics.asOf() }),
    overview: t.field({
      type: OverviewRef,
      complexity: 10,
      args: { range: t.arg({ type: DateRangeInput, required: true }) },
      resolve: (_a, { range }, ctx) => ctx.services.analytics.overview(ctx.principal, range),
    }),
    timeseries: t.field({
      type: [PointRef],
      complexity: 20,
      args: {
        metric: t.arg({ type: MetricEnum, required: true }),
        interval: t.arg({ type: IntervalEnum, required: true }),
        range: t.arg({ type: DateRangeInput, required: true }),
        workshopId: t.arg.globalID({ for: WorkshopRef }),
      },
      resolve: (_a, args, ctx) => ctx.services.analytics.timeseries(ctx.principal, args.metric, args.interval, args.range, args.workshopId?.id),
    }),
    topWorkshops: t.field({
      type: [TopWorkshopRef],
      complexity: (args) => ({ field: 10, multiplier: Math.max(1, args.limit ?? 10) }),
      args: {
        metric: t.arg({ type: MetricEnum, required: true }),
        range: t.arg({ type: DateRangeInput, required: true }),
        limit: t.arg.int({ defaultValue: 10, description: '1 to 50.' }),
      },
      resolve: (_a, args, ctx) => {
        const limit = args.limit ?? 10;
        if (limit < 1 || limit > 50) throw new ValidationError('limit must be between 1 and 50', [{ path: 'limit', message: 'must be between 1 and 50' }]);
        return ctx.services.analytics.topWorkshops(ctx.principal, args.metric, args.range, limit);
      },
    }),
  }),
});

builder.queryField('analytics', (t) =>
  t.field({ type: AnalyticsRef, nullable: true, authScopes: { apiKey: true }, description: 'API keys only.', resolve: () => ({}) }),
);

const EventInput = builder.inputType('EventInput', {
  fields: (t) => ({
    id: t.string({ required: true, description: 'A UUID the client generates: resending the same event never counts twice.' }),
    type: t.field({ type: EventTypeEnum, required: true }),
    workshopId: t.id(),
    channel: t.string(),
    occurredAt: t.field({ type: 'DateTime', required: true }),
    properties: t.field({ type: 'JSON' }),
  }),
});

const TrackEventsPayload = builder.objectRef<{ accepted: number; duplicates: number }>('TrackEventsPayload').implement({
  fields: (t) => ({ accepted: t.exposeInt('accepted'), duplicates: t.exposeInt('duplicates', { description: 'Events already stored.' }) }),
});

builder.mutationFields((t) => ({
  trackEvents: t.field({
    type: TrackEventsPayload,
    description:
      'Up to 500 events per call, of workshops the caller can see. Anonymous clients may send WORKSHOP_VIEW and PAGE_VIEW only, stamped within an hour of now, with at most 512 bytes of properties each (API keys: 400 days back, 4 KiB).',
    args: { events: t.arg({ type: [EventInput], required: true }) },
    resolve: (_root, { events }, ctx) => ctx.services.events.track(ctx.principal, events),
  }),
  refreshStatistics: t.field({
    type: 'DateTime',
    description: 'Refreshes the materialized statistics now (ADMIN); returns the new statsAsOf.',
    resolve: (_root, _args, ctx) => ctx.services.statistics.refreshAs(ctx.principal),
  }),
}));
