import { z } from 'zod';
import { recordRevision } from '../audit/revisions.js';
import type { ApiKey } from '../../generated/prisma/client.js';
import type { Db } from '../../infra/db.js';
import { ForbiddenError, NotFoundError } from '../../shared/errors.js';
import { parseInput } from '../../shared/validation.js';
import type { CacheInvalidator } from '../../infra/cache/two-tier-cache.js';
import { apiKeyCacheEntity, createApiKey } from './api-keys-service.js';
import { isAdmin, type Principal } from './principal.js';

const createApiKeyInput = z
  .object({
    name: z.string().trim().min(1, 'must not be empty').max(100, 'must be at most 100 characters'),
    role: z.enum(['ADMIN', 'EDITOR', 'PARTNER']),
    client: z
      .string()
      .regex(/^[a-z0-9][a-z0-9_-]{0,62}$/, 'must be the name of a persisted-operation manifest (persisted/<client>.json)')
      .nullish(),
    expiresAt: z.date().nullish(),
  })
  .refine((k) => k.role !== 'PARTNER' || k.client, { path: ['client'], message: 'is required for PARTNER keys' })
  .refine((k) => k.role === 'PARTNER' || !k.client, { path: ['client'], message: 'is only for PARTNER keys' })
  .refine((k) => !k.expiresAt || k.expiresAt.getTime() > Date.now(), { path: ['expiresAt'], message: 'must be in the future' });

/** API key management for admins (GraphQL); the key itself is returned once, at creation. */
export class ApiKeysAdminService {
  constructor(
    private readonly db: Db,
    private readonly cache: Pick<CacheInvalidator, 'invalidate'>,
  ) {}

  list(principal: Principal, options: { includeRevoked: boolean }): Promise<ApiKey[]> {
    requireAdmin(principal);
    return this.db.apiKey.findMany({ where: options.includeRevoked ? {} : { revokedAt: null }, orderBy: [{ createdAt: 'asc' }, { id: 'asc' }] });
  }

  async create(principal: Principal, raw: unknown): Promise<{ apiKey: ApiKey; key: string }> {
    requireAdmin(principal);
    const input = parseInput(createApiKeyInput, raw);
    return this.db.$transaction(async (tx) => {
      const { key, id } = await createApiKey(tx, input);
      const apiKey = await tx.apiKey.findUniqueOrThrow({ where: { id } });
      await recordRevision(tx, principal, { type: 'ApiKey', id, action: 'CREATE', before: null, after: apiKey });
      return { key, apiKey };
    });
  }

  /**
   * Idempotent. The invalidation makes every instance forget the key's cached lookup: at once here, within
   * moments elsewhere (Redis pub/sub), and within the lookup cache time (30 s) when Redis cannot be reached.
   */
  async revoke(principal: Principal, id: string): Promise<ApiKey> {
    requireAdmin(principal);
    const current = await this.db.apiKey.findUnique({ where: { id } });
    if (!current) throw new NotFoundError('ApiKey');
    if (current.revokedAt) return current;
    const revoked = await this.db.$transaction(async (tx) => {
      const revoked = await tx.apiKey.update({ where: { id }, data: { revokedAt: new Date() } });
      await recordRevision(tx, principal, { type: 'ApiKey', id, action: 'REVOKE', before: current, after: revoked });
      return revoked;
    });
    await this.cache.invalidate([apiKeyCacheEntity(id)]);
    return revoked;
  }
}

function requireAdmin(principal: Principal): void {
  if (!isAdmin(principal)) throw new ForbiddenError('Only admins may manage API keys');
}

