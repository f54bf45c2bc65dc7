import { z } from 'zod';
import { roleOf, type Principal } from '../modules/auth/principal.js';

/** What one caller class may send. Anonymous < partner < editor/admin. */
export interface Limits {
  /** Selection depth (graphql-armor; introspection excluded). */
  depth: number;
  /** Aliases per operation (graphql-armor). */
  aliases: number;
  /** Directives per operation (graphql-armor). */
  directives: number;
  /** Lexical tokens in the document. */
  tokens: number;
  /** Characters in the document. */
  characters: number;
  /** Query cost (Pothos complexity: 1 per field, connections multiply by first/last). */
  cost: number;
  /** Requests per minute per API key, or per IP address for anonymous callers. */
  requestsPerMinute: number;
  /** Query cost per minute per API key / IP, summed over executed operations (`extensions.cost`). */
  costPerMinute: number;
}

export type LimitTier = 'anonymous' | 'partner' | 'editor';

/** @default the table below; override any value with LIMITS='{"anonymous":{"cost":500}}'. */
export const DEFAULT_LIMITS: Record<LimitTier, Limits> = {
  anonymous: { depth: 8, aliases: 10, directives: 10, tokens: 1_000, characters: 10_000, cost: 2_000, requestsPerMinute: 300, costPerMinute: 30_000 },
  partner: { depth: 10, aliases: 20, directives: 20, tokens: 2_000, characters: 20_000, cost: 10_000, requestsPerMinute: 1_200, costPerMinute: 200_000 },
  editor: { depth: 14, aliases: 50, directives: 50, tokens: 5_000, characters: 50_000, cost: 50_000, requestsPerMinute: 3_000, costPerMinute: 1_000_000 },
};

/**
 * The development relaxations (env.relaxed) keep the same shape limits but lift the request rate, so
 * local benchmarks and GraphiQL sessions are never throttled (see README "Security and limits").
 */
export const DEVELOPMENT_REQUESTS_PER_MINUTE = 1_000_000;

const limitsOverride = z
  .object(
    Object.fromEntries(
      (['anonymous', 'partner', 'editor'] as const).map((tier) => [
        tier,
        z
          .object({
            depth: z.number().int().positive(),
            aliases: z.number().int().nonnegative(),
            directives: z.number().int().nonnegative(),
            tokens: z.number().int().positive(),
            characters: z.number().int().positive(),
            cost: z.number().int().positive(),
            requestsPerMinute: z.number().int().positive(),
            costPerMinute: z.number().int().positive(),
          })
          .partial()
          .strict()
          .optional(),
      ]),
    ),
  )
  .strict();

/** Parses the LIMITS override (JSON) onto the defaults; throws a readable message when invalid. */
export function resolveLimits(json: string | undefined, relaxed: boolean): Record<LimitTier, Limits> {
  let override: Partial<Record<LimitTier, Partial<Limits>>> = {};
  if (json) {
    let raw: unknown;
    try {
      raw = JSON.parse(json);
    } catch {
      throw new Error('must be JSON, e.g. {"anonymous":{"cost":500}}');
    }
    const parsed = limitsOverride.safeParse(raw);
    if (!parsed.success) throw new Error(parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; '));
    override = parsed.data as typeof override;
  }
  const tiers = Object.keys(DEFAULT_LIMITS) as LimitTier[];
  return Object.fromEntries(
    tiers.map((tier) => {
      const limits = { ...DEFAULT_LIMITS[tier], ...override[tier] };
      if (relaxed && !override[tier]?.requestsPerMinute) limits.requestsPerMinute = DEVELOPMENT_REQUESTS_PER_MINUTE;
      if (relaxed && !override[tier]?.costPerMinute) limits.costPerMinute = DEVELOPMENT_REQUESTS_PER_MINUTE * limits.cost;
      return [tier, limits];
    }),
  ) as Record<LimitTier, Limits>;
}

export function tierOf(principal: Principal): LimitTier {
  const role = roleOf(principal);
  if (role === 'ADMIN' || role === 'EDITOR') return 'editor';
  return role === 'PARTNER' ? 'partner' : 'anonymous';
}
