import type { CacheInvalidator } from './infra/cache/two-tier-cache.js';
import type { Db } from './infra/db.js';
import { QuestionnairesService } from './modules/questionnaires/questionnaires-service.js';
import { ResponsesService } from './modules/questionnaires/responses-service.js';
import { SubscribersService } from './modules/subscribers/subscribers-service.js';
import { TopicsService } from './modules/topics/topics-service.js';
import { EnrollmentsService } from './modules/workshops/enrollments-service.js';
import { WorkshopsService } from './modules/workshops/workshops-service.js';
import type { TokenSigner } from './shared/tokens.js';

/** The domain services, built once per app from its dependencies. */
export function createServices(deps: { db: Db; tokens: TokenSigner; cache: CacheInvalidator }) {
  const topics = new TopicsService(deps.db);
  const subscribers = new SubscribersService(deps.db, deps.tokens, topics, deps.cache);
  return {
    topics,
    subscribers,
    workshops: new WorkshopsService(deps.db, topics, deps.cache),
    enrollments: new EnrollmentsService(deps.db, subscribers, deps.tokens, deps.cache),
    questionnaires: new QuestionnairesService(deps.db, deps.cache),
    responses: new ResponsesService(deps.db, subscribers, deps.cache),
  };
}

/** For scripts that change nothing cached by a running server (or run with none). */
export const NO_CACHE: CacheInvalidator = { invalidate: async () => {} };

export type Services = ReturnType<typeof createServices>;
