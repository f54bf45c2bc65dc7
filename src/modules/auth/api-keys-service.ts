import { createHash, randomBytes } from 'node:crypto';
import { LRUCache } from 'lru-cache';
import type { Db } from '../../infra/db.js';
import { UnauthenticatedError } from '../../shared/errors.js';
import type { Principal, Role } from './principal.js';

/** Documented key of the embedded development database (seeded there only; production refuses it). */
export const DEVELOPMENT_ADMIN_KEY = 'wk_dev_admin_key_for_the_embedded_demo_only';

const KEY_PREFIX = 'wk_';

export function hashApiKey(key: string): string {
  return createHash('sha256').update(key).digest('hex');
}

export function generateApiKey(): string {
  return KEY_PREFIX + randomBytes(32).toString('base64url');
}

export async function createApiKey(
  db: Db,
  input: { name: string; role: Role; client?: string | null; key?: string },
): Promise<{ key: string; id: string }> {
  if (input.role === 'PARTNER' && !input.client) throw new Error('PARTNER keys need the client whose manifest they may run');
  const key = input.key ?? generateApiKey();
  const record = await db.apiKey.create({
    data: { name: input.name, role: input.role, client: input.client ?? null, keyHash: hashApiKey(key), prefix: key.slice(0, 10) },
  });
  return { key, id: record.id };
}

/**
 * Resolves `Authorization: Bearer <key>` to a principal. Lookups are cached briefly per process
 * (keys are read on every request); a revocation takes effect within `ttlMs`.
 */
export class ApiKeyAuthenticator {
  private readonly cache: LRUCache<string, Principal | 'invalid'>;

  constructor(private readonly db: Db, ttlMs = 30_000) {
    this.cache = new LRUCache({ max: 10_000, ttl: ttlMs });
  }

  async authenticate(authorization: string | null): Promise<Principal> {
    if (!authorization) return { kind: 'anonymous' };
    const match = /^Bearer\s+(\S+)\s*$/i.exec(authorization);
    if (!match?.[1]) throw new UnauthenticatedError('Authorization header must be "Bearer <api key>"');
    const hash = hashApiKey(match[1]);
    let principal = this.cache.get(hash);
    if (!principal) {
      const record = await this.db.apiKey.findUnique({ where: { keyHash: hash } });
      principal =
        record && !record.revokedAt
          ? { kind: 'apiKey', keyId: record.id, name: record.name, role: record.role, client: record.client }
          : 'invalid';
      this.cache.set(hash, principal);
    }
    if (principal === 'invalid') throw new UnauthenticatedError('Invalid or revoked API key');
    return principal;
  }
}
