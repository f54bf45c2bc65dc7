import { hash, randomBytes } from 'node:crypto';
import { LRUCache } from 'lru-cache';
import { invalidationTags } from '../../infra/cache/two-tier-cache.js';
import type { Db } from '../../infra/db.js';
import { InvalidCredentialsError } from '../../shared/errors.js';
import { cacheEntity } from '../../shared/ids.js';
import type { Principal, Role } from './principal.js';

/** Documented key of the embedded development database (seeded there only; production refuses it). */
export const DEVELOPMENT_ADMIN_KEY = 'wk_dev_admin_key_for_the_embedded_demo_only';

const KEY_PREFIX = 'wk_';
/** lastUsedAt is written at most this often per key, not on every request. */
const LAST_USED_INTERVAL_MS = 60_000;

export function hashApiKey(key: string): string {
  return hash('sha256', key, 'hex');
}

/** The cache tag a key's revocation invalidates (ApiKeysAdminService) and its lookup is forgotten by. */
export function apiKeyCacheEntity(keyId: string) {
  return cacheEntity('ApiKey', keyId);
}

const apiKeyTag = (keyId: string) => invalidationTags([apiKeyCacheEntity(keyId)])[0]!;

export function generateApiKey(): string {
  return KEY_PREFIX + randomBytes(32).toString('base64url');
}

export async function createApiKey(
  db: Pick<Db, 'apiKey'>,
  input: { name: string; role: Role; client?: string | null; key?: string; expiresAt?: Date | null },
): Promise<{ key: string; id: string }> {
  if (input.role === 'PARTNER' && !input.client) throw new Error('PARTNER keys need the client whose manifest they may run');
  const key = input.key ?? generateApiKey();
  const record = await db.apiKey.create({
    data: { name: input.name, role: input.role, client: input.client ?? null, keyHash: hashApiKey(key), prefix: key.slice(0, 10), expiresAt: input.expiresAt ?? null },
  });
  return { key, id: record.id };
}

/**
 * Resolves `Authorization: Bearer <key>` to a principal. Valid keys are cached briefly per process
 * (keys are read on every request; a revocation is forgotten at once, see forgetInvalidated, and one
 * this instance cannot hear of, without Redis, takes effect within `ttlMs`). Keys found invalid
 * are remembered apart, shortly and in a bounded set: a stream of made-up keys costs one lookup
 * each at most, and cannot evict the valid keys.
 */
/** Whether a key is still usable (not revoked, not expired): long-lived requests (live subscriptions) ask again per event. */
export async function isApiKeyActive(db: Db, keyId: string, now = new Date()): Promise<boolean> {
  const key = await db.apiKey.findUnique({ where: { id: keyId }, select: { revokedAt: true, expiresAt: true } });
  return Boolean(key && !key.revokedAt && (!key.expiresAt || key.expiresAt > now));
}

export class ApiKeyAuthenticator {
  private readonly valid: LRUCache<string, Principal>;
  private readonly invalid: LRUCache<string, true>;

  /** Bumped when lookups are forgotten: a lookup begun before is answered but not cached (it may predate a revocation). */
  private forgettings = 0;

  /** Keys whose lastUsedAt this process wrote in the last minute. */
  private readonly touched = new LRUCache<string, true>({ max: 10_000, ttl: LAST_USED_INTERVAL_MS });

  constructor(private readonly db: Db, private readonly ttlMs = 30_000) {
    this.valid = new LRUCache({ max: 10_000, ttl: ttlMs });
    this.invalid = new LRUCache({ max: 10_000, ttl: 10_000 });
  }

  /**
   * The caller, or InvalidCredentialsError (401). `beforeLookup` runs before a key that is in neither
   * cache is looked up in the database, and may refuse (the rate limiter does, for an exhausted address).
   */
  async authenticate(authorization: string | null, beforeLookup?: () => Promise<void>): Promise<Principal> {
    if (!authorization) return { kind: 'anonymous' };
    const match = /^Bearer\s+(\S+)\s*$/i.exec(authorization);
    if (!match?.[1]) throw new InvalidCredentialsError('Authorization header must be "Bearer <api key>"');
    const hash = hashApiKey(match[1]);
    const cached = this.valid.get(hash);
    if (cached) return this.used(cached);
    if (!this.invalid.has(hash)) {
      const forgettings = this.forgettings;
      await beforeLookup?.();
      const record = await this.db.apiKey.findUnique({ where: { keyHash: hash } });
      const msLeft = record?.expiresAt ? record.expiresAt.getTime() - Date.now() : Infinity;
      if (record && !record.revokedAt && msLeft > 0) {
        const principal: Principal = { kind: 'apiKey', keyId: record.id, name: record.name, role: record.role, client: record.client };
        // An expiring key's lookup is cached no longer than the key lives; one overtaken by a revocation, not at all.
        if (forgettings === this.forgettings) this.valid.set(hash, principal, { ttl: Math.max(1, Math.min(this.ttlMs, msLeft)) });
        return this.used(principal);
      }
      this.invalid.set(hash, true);
    }
    throw new InvalidCredentialsError('Invalid, expired or revoked API key');
  }

  /**
   * Forgets the cached lookups of the keys an invalidation names (`ApiKey:<id>`: a revocation, on this
   * instance or, through the response cache's channel, another), or all of them (`*`, `ApiKey`), so a
   * revoked key is refused at once rather than within the cache time.
   */
  forgetInvalidated(tags: readonly string[]): void {
    if (!tags.some((tag) => tag === '*' || tag.startsWith('ApiKey'))) return;
    this.forgettings += 1;
    if (tags.includes('*') || tags.includes('ApiKey')) return this.valid.clear();
    const named = new Set(tags);
    for (const [hash, principal] of this.valid.entries()) {
      if (principal.kind === 'apiKey' && named.has(apiKeyTag(principal.keyId))) this.valid.delete(hash);
    }
  }

  /** Records lastUsedAt at most once a minute per key: per process here, and across instances by the WHERE. */
  private async used(principal: Principal): Promise<Principal> {
    if (principal.kind !== 'apiKey' || this.touched.has(principal.keyId)) return principal;
    const keyId = principal.keyId;
    this.touched.set(keyId, true);
    const now = new Date();
    await this.db.apiKey
      .updateMany({ where: { id: keyId, OR: [{ lastUsedAt: null }, { lastUsedAt: { lt: new Date(now.getTime() - LAST_USED_INTERVAL_MS) } }] }, data: { lastUsedAt: now } })
      .catch(() => this.touched.delete(keyId));
    return principal;
  }
}
