const MINUTE = 60_000;

/**
 * How long each kind of data may be served from the response cache (milliseconds). An entry lives
 * as long as the shortest TTL of anything it contains. Mutations are never cached. Personal data
 * (types below marked PRIVATE) is cached only per API key, never for the shared anonymous session.
 */
export const TTL_POLICY = {
  /** Anything not listed (e.g. a bare `__typename`). */
  default: 5 * MINUTE,
  perSchemaCoordinate: {
    // Workshop and content metadata
    Workshop: 60 * MINUTE,
    Topic: 60 * MINUTE,
    // Analytics: 10 min, and evicted by every statistics refresh
    WorkshopStatistics: 10 * MINUTE,
    Analytics: 10 * MINUTE,
    // Subscriber preferences (the self-service view; its cache key holds the person's token)
    MySubscription: 15 * MINUTE,
    // Personalized results and personal data
    Enrollment: 5 * MINUTE,
    Subscriber: 5 * MINUTE,
    // API keys (admins): never cached, a listing must show a key created or revoked a moment ago
    ApiKey: 0,
    // Job queues (admins): live figures, never cached
    JobQueue: 0,
    // Newsletters (editors): their progress changes with every delivery
    Newsletter: 0,
    NewsletterProgress: 0,
    // Revisions and the audit log: never cached, a new write must show at once (nothing evicts a log page)
    Revision: 0,
    // Introspection is never cached (the schema can change under a running cache)
    'Query.__schema': 0,
  } as Record<string, number>,
  /** Types cached only within one principal's session. */
  private: ['Enrollment', 'Subscriber'],
  /** Types never handed to shared HTTP caches (CDNs), even in an anonymous answer: a person's own data. */
  personal: ['Enrollment', 'Subscriber', 'MySubscription'],
  /**
   * Stale-while-revalidate for hot reads: a hit on an entry holding one of these types, within this
   * long of its expiry, is served and refreshed in the background, so a hot entry never expires into a miss.
   */
  refreshAhead: { MySubscription: 5 * MINUTE } as Record<string, number>,
  /**
   * Fields that change with every enrollment or response. Entries holding them keep their long TTL
   * here (every write evicts them), but no invalidation reaches a browser or a CDN: a public HTTP
   * answer selecting one of them is cached there for at most `volatileMaxAge` (ms), then served stale
   * for `staleWhileRevalidate` while it is fetched again.
   */
  volatile: ['Workshop.seatsLeft', 'Workshop.enrollmentCount', 'Workshop.waitlistCount', 'Questionnaire.responseCount', 'Questionnaire.summary'],
  publicHttp: { volatileMaxAge: 30_000, staleWhileRevalidate: 30_000 },
};
