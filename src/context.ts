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
  loaders: RequestLoaders;
}

/**
 * A request's loaders, each module's made on first use: a request reads from one or two modules, or none
 * (`{ __typename }`, a cache hit), and making every module's DataLoaders up front was ~3 % of such a request.
 */
export class RequestLoaders {
  #workshops?: ReturnType<typeof createWorkshopLoaders>;
  #subscribers?: ReturnType<typeof createSubscriberLoaders>;
  #questionnaires?: ReturnType<typeof createQuestionnaireLoaders>;
  #analytics?: ReturnType<typeof createAnalyticsLoaders>;
  #topics?: ReturnType<typeof createTopicLoaders>;

  /** `reporting`: the client of dashboard figures, which prefer a replica (Database.reporting). */
  constructor(
    private readonly db: Db,
    private readonly reporting: Db,
  ) {}

  get workshops() {
    return (this.#workshops ??= createWorkshopLoaders(this.db));
  }
  get subscribers() {
    return (this.#subscribers ??= createSubscriberLoaders(this.db));
  }
  get questionnaires() {
    return (this.#questionnaires ??= createQuestionnaireLoaders(this.db));
  }
  get analytics() {
    return (this.#analytics ??= createAnalyticsLoaders(this.reporting));
  }
  get topics() {
    return (this.#topics ??= createTopicLoaders(this.db));
  }
}

/** `reporting`: the client of dashboard figures, which prefer a replica (Database.reporting). */
export function createLoaders(db: Db, reporting: Db = db): RequestLoaders {
  return new RequestLoaders(db, reporting);
}
