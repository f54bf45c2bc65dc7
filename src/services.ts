import type { CacheInvalidator } from './infra/cache/two-tier-cache.js';
import type { Database } from './infra/db.js';
import type { Logger } from './infra/logger.js';
import type { ServiceObserver } from './infra/metrics.js';
import { AnalyticsQueries } from './modules/analytics/analytics-queries.js';
import { EventsService } from './modules/analytics/events-service.js';
import { StatisticsService, type StatisticsSchedule } from './modules/analytics/statistics-service.js';
import { ResponseCacheService } from './modules/cache/response-cache-service.js';
import { QuestionnairesService } from './modules/questionnaires/questionnaires-service.js';
import { ResponsesService } from './modules/questionnaires/responses-service.js';
import { SubscribersService } from './modules/subscribers/subscribers-service.js';
import { NewslettersService } from './modules/newsletters/newsletters-service.js';
import { JobsAdminService } from './modules/jobs/jobs-admin-service.js';
import type { JobSystem } from './infra/jobs/types.js';
import { ApiKeysAdminService } from './modules/auth/api-key-admin-service.js';
import { TopicsService } from './modules/topics/topics-service.js';
import { AuditService } from './modules/audit/audit-service.js';
import { LiveUpdates, publishingWorkshopChanges } from './modules/live/live-updates.js';
import { EnrollmentNotices } from './modules/workshops/enrollment-notices.js';
import { EnrollmentsService } from './modules/workshops/enrollments-service.js';
import { WorkshopsService } from './modules/workshops/workshops-service.js';
import type { TokenSigner } from './shared/tokens.js';

/** The domain services, built once per app from its dependencies. */
export function createServices(deps: {
  database: Database;
  tokens: TokenSigner;
  cache: CacheInvalidator;
  logger: Logger;
  /** Statistics refreshes: periodic and after writes; null refreshes only on demand. */
  statisticsSchedule: StatisticsSchedule | null;
  /** Reports background work to the metrics. */
  observer?: ServiceObserver;
  /** The job system, when this app has one (the ADMIN queue API reads it). */
  jobs?: JobSystem | null;
  /** Live updates for subscriptions; every invalidation of a workshop publishes its change. @default in memory, this process only */
  live?: LiveUpdates;
  /** How long an unconfirmed enrollment holds its seat (ENROLLMENT_HOLD_HOURS). @default 24 */
  enrollmentHoldHours?: number;
}) {
  const db = deps.database.prisma;
  const live = deps.live ?? new LiveUpdates(db, { redis: null, namespace: 'local', maxPerClient: 10, logger: deps.logger });
  const cache = publishingWorkshopChanges(deps.cache, live);
  const topics = new TopicsService(db, cache);
  const subscribers = new SubscribersService(db, deps.tokens, topics, cache, deps.database.reporting);
  const notices = new EnrollmentNotices(deps.tokens);
  const statistics = new StatisticsService(deps.database, cache, deps.logger, deps.statisticsSchedule, deps.observer);
  return {
    topics,
    apiKeys: new ApiKeysAdminService(db, cache),
    subscribers,
    statistics,
    // Dashboards read materialized views, eventually consistent by design: a replica serves them when it can.
    analytics: new AnalyticsQueries(deps.database.reporting),
    events: new EventsService(db, statistics.scheduleRefresh, deps.observer),
    workshops: new WorkshopsService(db, topics, cache, notices),
    enrollments: new EnrollmentsService(db, subscribers, deps.tokens, notices, cache, statistics.scheduleRefresh, deps.enrollmentHoldHours ?? 24),
    questionnaires: new QuestionnairesService(db, cache),
    responses: new ResponsesService(db, subscribers, cache, statistics.scheduleRefresh),
    responseCache: new ResponseCacheService(cache),
    jobsAdmin: new JobsAdminService(deps.jobs ?? null),
    newsletters: new NewslettersService(db, topics, deps.jobs ?? null),
    live,
    audit: new AuditService(db),
  };
}


export type Services = ReturnType<typeof createServices>;
