import type { CacheInvalidator } from '../../infra/cache/two-tier-cache.js';
import type { Database } from '../../infra/db.js';
import type { Logger } from '../../infra/logger.js';
import type { ServiceObserver } from '../../infra/metrics.js';
import { ForbiddenError } from '../../shared/errors.js';
import { isAdmin, type Principal } from '../auth/principal.js';

/** Advisory lock id for statistics refreshes: one instance refreshes at a time. */
export const REFRESH_LOCK = 4_242_001;

export interface StatisticsSchedule {
  /** Periodic refresh. @default 1 hour */
  intervalMs: number;
  /** Refresh this long after the first write since the last refresh, so activity shows up soon. @default 30 s */
  debounceMs: number;
}

/**
 * Refreshes the materialized statistics CONCURRENTLY (reads keep being answered from the previous
 * contents meanwhile), in one transaction under a Postgres advisory lock so only one instance
 * refreshes at a time and the views change together, then
 * records the time (statsAsOf) and evicts cached analytics answers.
 */
export class StatisticsService {
  private debounce: NodeJS.Timeout | undefined;
  private interval: NodeJS.Timeout | undefined;

  constructor(
    private readonly database: Database,
    private readonly cache: CacheInvalidator,
    private readonly logger: Logger,
    private readonly schedule: StatisticsSchedule | null,
    private readonly observer?: ServiceObserver,
  ) {}

  start(): void {
    if (!this.schedule || this.interval) return;
    this.interval = setInterval(() => void this.refresh().catch((e) => this.logger.warn({ err: (e as Error).message }, 'statistics refresh failed')), this.schedule.intervalMs);
    this.interval.unref();
  }

  stop(): void {
    clearInterval(this.interval);
    clearTimeout(this.debounce);
    this.debounce = undefined;
  }

  /**
   * Called after writes that change statistics; coalesces them into one refresh `debounceMs` after the
   * first. Not re-armed by later writes: under steady traffic a trailing debounce would never fire.
   */
  scheduleRefresh = (): void => {
    if (!this.schedule || this.debounce) return;
    this.debounce = setTimeout(() => {
      this.debounce = undefined;
      void this.refresh().catch((e) => this.logger.warn({ err: (e as Error).message }, 'statistics refresh failed'));
    }, this.schedule.debounceMs);
    this.debounce.unref();
  };

  async refreshAs(principal: Principal): Promise<Date> {
    if (!isAdmin(principal)) throw new ForbiddenError('Only admins may refresh statistics');
    await this.refresh();
    return this.asOf();
  }

  /** Returns false when another instance holds the lock (it is refreshing right now). */
  async refresh(): Promise<boolean> {
    const start = performance.now();
    try {
      const refreshed = await this.refreshUnderLock();
      if (refreshed) this.observer?.statisticsRefreshed((performance.now() - start) / 1000, true);
      return refreshed;
    } catch (error) {
      this.observer?.statisticsRefreshed((performance.now() - start) / 1000, false);
      throw error;
    }
  }

  private async refreshUnderLock(): Promise<boolean> {
    // One maintenance transaction (its own statement timeout: at scale a refresh outlasts the
    // request timeout); the lock ends with it, also when a refresh fails.
    const refreshed = await this.database.maintenance(async (tx) => {
      const [lock] = await tx.query<{ locked: boolean }>('SELECT pg_try_advisory_xact_lock($1) AS locked', [REFRESH_LOCK]);
      if (!lock?.locked) return false;
      // daily_totals rolls up daily_metrics, so it comes after it.
      for (const view of ['daily_metrics', 'daily_totals', 'workshop_statistics']) {
        await tx.exec(`REFRESH MATERIALIZED VIEW CONCURRENTLY analytics.${view}`);
        await tx.query('UPDATE analytics.refreshes SET refreshed_at = now() WHERE view = $1', [view]);
      }
      return true;
    });
    if (!refreshed) return false;
    await this.cache.invalidate([{ typename: 'WorkshopStatistics' }, { typename: 'Query.analytics' }, { typename: 'Analytics' }]);
    return true;
  }

  async asOf(): Promise<Date> {
    const [row] = await this.database.reporting.$queryRaw<{ asOf: Date }[]>`SELECT min(refreshed_at) AS "asOf" FROM analytics.refreshes`;
    return row?.asOf ?? new Date(0);
  }
}
