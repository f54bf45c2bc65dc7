import DataLoader from 'dataloader';
import { Prisma } from '../../generated/prisma/client.js';
import type { Db } from '../../infra/db.js';
import { ValidationError } from '../../shared/errors.js';
import { isEditor, type Principal } from '../auth/principal.js';
import { workshopVisibility } from '../workshops/workshop-visibility.js';
import type { EventType } from './events-service.js';

export interface WorkshopStatisticsRow {
  workshopId: string;
  views: number;
  enrollments: number;
  waitlisted: number;
  cancellations: number;
  attendanceRate: number | null;
  conversion: number | null;
  responses: number;
  averageRating: number | null;
  nps: number | null;
  averageCompletionSeconds: number | null;
}

export const METRIC_EVENT: Record<string, EventType> = {
  VIEWS: 'WORKSHOP_VIEW',
  ENROLLMENTS: 'ENROLLMENT',
  CANCELLATIONS: 'CANCELLATION',
  QUESTIONNAIRE_STARTS: 'QUESTIONNAIRE_START',
  QUESTIONNAIRE_SUBMITS: 'QUESTIONNAIRE_SUBMIT',
  NEWSLETTER_OPENS: 'NEWSLETTER_OPEN',
  NEWSLETTER_CLICKS: 'NEWSLETTER_CLICK',
  PAGE_VIEWS: 'PAGE_VIEW',
};

export interface DayRange {
  from: Date;
  to: Date;
}

const MAX_RANGE_DAYS = 3 * 366;

/** Whole UTC days, `to` exclusive (a range ending mid-day includes that day's counts). */
export function dayRange(range: DayRange): { from: string; to: string } {
  if (!(range.from < range.to)) throw new ValidationError('range.from must be before range.to', [{ path: 'range', message: 'from must be before to' }]);
  if (range.to.getTime() - range.from.getTime() > MAX_RANGE_DAYS * 86_400_000) {
    throw new ValidationError(`range may span at most ${MAX_RANGE_DAYS} days`, [{ path: 'range', message: `at most ${MAX_RANGE_DAYS} days` }]);
  }
  const day = (d: Date) => d.toISOString().slice(0, 10);
  const toDay = new Date(range.to.getTime() - 1);
  return { from: day(range.from), to: day(new Date(toDay.getTime() + 86_400_000)) };
}

/**
 * Editors' site-wide questions read the day × type rollup; anything per workshop, or for partners
 * (who see published workshops only), reads the per-workshop daily metrics.
 */
function source(principal: Principal, workshopId: string | null | undefined): Prisma.Sql {
  return isEditor(principal) && !workshopId ? Prisma.sql`analytics.daily_totals` : Prisma.sql`analytics.daily_metrics`;
}

/** Partners see figures of published workshops only (site-wide rows have no workshop and stay visible). */
function visibleRows(principal: Principal): Prisma.Sql {
  return isEditor(principal)
    ? Prisma.sql`TRUE`
    : Prisma.sql`(d.workshop_id IS NULL OR d.workshop_id IN (SELECT w.id FROM public.workshops w WHERE ${workshopVisibility(principal).sql('w')}))`;
}

/** Per-request loaders: the statistics of every workshop on a page in one statement. */
export function createAnalyticsLoaders(db: Db) {
  return {
    statistics: new DataLoader<string, WorkshopStatisticsRow | null>(async (ids) => {
      const rows = await db.$queryRaw<WorkshopStatisticsRow[]>`
          SELECT s.workshop_id AS "workshopId", s.views::int, s.enrollments::int, s.waitlisted::int, s.cancellations::int,
                 -- Attendance is a figure of a finished workshop; whether it has ended is decided now, not at refresh time.
                 CASE WHEN w.ends_at < now() THEN s.attendance_rate END AS "attendanceRate", s.conversion, s.responses::int,
                 s.average_rating AS "averageRating", s.nps, s.average_completion_seconds AS "averageCompletionSeconds"
          FROM analytics.workshop_statistics s JOIN public.workshops w ON w.id = s.workshop_id
          WHERE s.workshop_id = ANY(${[...ids]}::uuid[])`;
      const byId = new Map(rows.map((r) => [r.workshopId, r]));
      return ids.map((id) => byId.get(id) ?? null);
    }),
  };
}

export class AnalyticsQueries {
  constructor(private readonly db: Db) {}

  async overview(principal: Principal, range: DayRange): Promise<Record<EventType, number>> {
    const { from, to } = dayRange(range);
    const rows = await this.db.$queryRaw<{ type: EventType; total: number }[]>`
      SELECT d.type, sum(d.events)::int AS total FROM ${source(principal, null)} d
      WHERE d.day >= ${from}::date AND d.day < ${to}::date AND ${visibleRows(principal)}
      GROUP BY d.type`;
    return Object.fromEntries(rows.map((r) => [r.type, r.total])) as Record<EventType, number>;
  }

  async timeseries(principal: Principal, metric: string, interval: 'DAY' | 'WEEK' | 'MONTH', range: DayRange, workshopId?: string | null) {
    const { from, to } = dayRange(range);
    const unit = Prisma.raw(`'${interval.toLowerCase()}'`);
    return this.db.$queryRaw<{ bucket: Date; value: number }[]>`
      SELECT date_trunc(${unit}, g.day)::date::timestamptz AS bucket, coalesce(sum(d.events), 0)::int AS value
      FROM generate_series(${from}::date, ${to}::date - 1, interval '1 day') AS g(day)
      LEFT JOIN ${source(principal, workshopId)} d
        ON d.day = g.day::date AND d.type = ${METRIC_EVENT[metric]}
        ${workshopId ? Prisma.sql`AND d.workshop_id = ${workshopId}::uuid` : Prisma.empty}
        AND ${visibleRows(principal)}
      GROUP BY 1 ORDER BY 1`;
  }

  async topWorkshops(principal: Principal, metric: string, range: DayRange, limit: number) {
    const { from, to } = dayRange(range);
    return this.db.$queryRaw<{ workshopId: string; value: number }[]>`
      SELECT d.workshop_id AS "workshopId", sum(d.events)::int AS value
      FROM analytics.daily_metrics d
      WHERE d.type = ${METRIC_EVENT[metric]} AND d.day >= ${from}::date AND d.day < ${to}::date
        AND d.workshop_id IS NOT NULL AND ${visibleRows(principal)}
      GROUP BY d.workshop_id ORDER BY value DESC, d.workshop_id LIMIT ${limit}`;
  }
}
