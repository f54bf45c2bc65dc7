import type { Limits } from './config/limits.js';
import type { Db } from './infra/db.js';
import type { RequestReads } from './infra/replicas.js';
import type { Principal } from './modules/auth/principal.js';
import type { RateLimits } from './plugins/use-rate-limit.js';
import type { Services } from './services.js';
import type { Locale } from './shared/locale.js';
import { createAnalyticsLoaders } from './modules/analytics/analytics-queries.js';
import { createQuestionnaireLoaders } from './modules/questionnaires/questionnaire-loaders.js';
import { createSubscriberLoaders } from './modules/subscribers/subscriber-loaders.js';
import { createTopicLoaders } from './modules/topics/topic-loaders.js';
import { createWorkshopLoaders } from './modules/workshops/workshop-loaders.js';

/** Built once per request: who is asking, in which language, and request-scoped loaders. */
export interface Context {
  db: Db;
  /** Read routing: once this request wrote, its reads go to the primary (plugins/use-read-routing.ts). */
  reads: RequestReads;
  principal: Principal;
  locale: Locale;
  /** Who is calling, as per-IP limits count it (src/shared/client-address.ts: trusted proxies, IPv6 by /64). */
  clientAddress: string;
  services: Services;
  /** The caller's tier limits (query cost is checked against them). */
  limits: Limits;
  /** Figures about fewer people than this are withheld from non-editors (SUMMARY_MIN_GROUP_SIZE). */
  minGroupSize: number;
  /** Per-action bounds beyond the request rate (anonymous enrollments per address and email). */
  rateLimits: Pick<RateLimits, 'countEnrollment'>;
  loaders: ReturnType<typeof createLoaders>;
}

/** `reporting`: the client of dashboard figures, which prefer a replica (Database.reporting). */
export function createLoaders(db: Db, reporting: Db = db) {
  return {
    workshops: createWorkshopLoaders(db),
    subscribers: createSubscriberLoaders(db),
    questionnaires: createQuestionnaireLoaders(db),
    analytics: createAnalyticsLoaders(reporting),
    topics: createTopicLoaders(db),
  };
}
