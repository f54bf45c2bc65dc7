import type { CacheFlush, CacheInvalidator } from '../../infra/cache/two-tier-cache.js';
import { ForbiddenError } from '../../shared/errors.js';
import { isAdmin, type Principal } from '../auth/principal.js';

/** Operators' handle on the response cache. */
export class ResponseCacheService {
  constructor(private readonly cache: CacheInvalidator) {}

  /** Drops every cached answer on every instance (ADMIN), e.g. after writes made outside the API. */
  flushAs(principal: Principal): Promise<CacheFlush> {
    if (!isAdmin(principal)) throw new ForbiddenError('Only admins may flush the response cache');
    return this.cache.flush();
  }
}
