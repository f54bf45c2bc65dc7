import { complexityFromQuery } from '@pothos/plugin-complexity';
import { getOperationAST, Kind, type ExecutionArgs } from 'graphql';
import type { Plugin } from 'graphql-yoga';
import type { RedisClient } from '../infra/redis.js';
import { RateLimiterRes } from 'rate-limiter-flexible';
import { tierOf, type LimitTier, type Limits } from '../config/limits.js';
import type { Context } from '../context.js';
import type { RedisGuard } from '../infra/redis-guard.js';
import { RateWindow, rejection } from '../infra/rate-window.js';
import { requestPrincipal } from '../modules/auth/request-principal.js';
import { clientAddress, type ProxyTrust } from '../shared/client-address.js';
import { costLimitError, RateLimitedError } from '../shared/errors.js';

/** Anonymous enrollments per hour (ENROLLMENTS_PER_IP_PER_HOUR, ENROLLMENTS_PER_EMAIL_PER_HOUR). */
export interface EnrollmentLimits {
  perAddressPerHour: number;
  perEmailPerHour: number;
}

/** What a response reports in `extensions.cost` (as GitHub's and Shopify's cost budgets do). */
export interface CostReport {
  /** This operation's cost (Pothos complexity, variables applied). */
  requested: number;
  /** What is left of the caller's budget for this minute. */
  remaining: number;
  /** When the budget is full again (ISO 8601). */
  resetAt: string;
}

/**
 * Per-minute budgets per API key, or per client address for anonymous callers: a request count,
 * and a cost budget (query cost summed over executed operations). Shared through Redis when there
 * is one; per instance while Redis is unreachable (see RedisGuard).
 */
export class RateLimits {
  private readonly requests: Record<LimitTier, RateWindow>;
  private readonly cost: Record<LimitTier, RateWindow>;
  /** Bad API keys per address: past the anonymous request rate, unknown keys are no longer looked up. */
  private readonly badCredentials: RateWindow;

  /** Anonymous enrollments per hour, per client address and per email address. */
  private readonly enrollmentsByAddress: RateWindow;
  private readonly enrollmentsByEmail: RateWindow;

  constructor(options: {
    limits: Record<LimitTier, Limits>;
    enrollments: EnrollmentLimits;
    redis: RedisClient | null;
    guard: RedisGuard | null;
    namespace: string;
    trustProxy: ProxyTrust;
  }) {
    const windows = (kind: string, points: (limits: Limits) => number) =>
      Object.fromEntries(
        (Object.keys(options.limits) as LimitTier[]).map((tier) => [
          tier,
          new RateWindow({ keyPrefix: `${options.namespace}:${kind}:${tier}`, points: points(options.limits[tier]) }, options.redis, options.guard),
        ]),
      ) as Record<LimitTier, RateWindow>;
    this.requests = windows('rl', (limits) => limits.requestsPerMinute);
    this.cost = windows('cost', (limits) => limits.costPerMinute);
    this.badCredentials = windows('auth', (limits) => limits.requestsPerMinute).anonymous;
    const hourly = (kind: string, points: number) => new RateWindow({ keyPrefix: `${options.namespace}:${kind}`, points, duration: 3600 }, options.redis, options.guard);
    this.enrollmentsByAddress = hourly('enroll-ip', options.enrollments.perAddressPerHour);
    this.enrollmentsByEmail = hourly('enroll-email', options.enrollments.perEmailPerHour);
    this.trustProxy = options.trustProxy;
  }

  private readonly trustProxy: ProxyTrust;

  private address(request: Request, serverContext: unknown): string {
    return `ip:${clientAddress(request, serverContext, this.trustProxy)}`;
  }

  /** Who a request counts against: its API key, or its address when anonymous. */
  private bucketOf(request: Request, serverContext: unknown): string {
    const principal = requestPrincipal(request);
    return principal.kind === 'apiKey' ? `key:${principal.keyId}` : this.address(request, serverContext);
  }

  /** Each request's one count (see countRequest). */
  private readonly counted = new WeakMap<Request, Promise<void>>();

  /**
   * One request against the caller's per-minute count; RATE_LIMITED (429) past it. Once per Request:
   * the response cache's fast lane counts a request before the pipeline does, and a request it then
   * leaves to the pipeline (a miss) gets the same outcome again, refusal included, without a second count.
   * The fast lane counts only requests without credentials, so the principal is settled by then.
   */
  countRequest(request: Request, serverContext: unknown): Promise<void> {
    let count = this.counted.get(request);
    if (!count) {
      count = this.requests[tierOf(requestPrincipal(request))].take(this.bucketOf(request, serverContext)).then(() => {});
      this.counted.set(request, count);
    }
    return count;
  }

  /**
   * A request whose credentials failed counts against its address, like an anonymous one: random
   * keys cannot buy a fresh budget each, and the lookups they cost are bounded per address.
   */
  async countInvalidCredentials(request: Request, serverContext: unknown): Promise<void> {
    const address = this.address(request, serverContext);
    await this.badCredentials.consume(address).catch(() => {});
    await this.requests.anonymous.take(address);
  }

  /**
   * Refuses, before any database lookup, an unknown key from an address that sent as many bad keys
   * this minute as anonymous callers may send requests. (Anonymous traffic alone does not stop a
   * valid key's first lookup: a partner behind a busy NAT still gets in.)
   */
  async assertMayLookUpKey(request: Request, serverContext: unknown): Promise<void> {
    if (await this.badCredentials.exhausted(this.address(request, serverContext))) throw new RateLimitedError(60);
  }

  /**
   * One enrollment attempt, counted against the client address (anonymous callers; null for a
   * partner, whose server enrolls many people) and the email it names: anyone may enroll anyone, so
   * one address cannot take a workshop's seats in many names, nor many callers fill one person's
   * calendar or mailbox (every attempt may mail that address). RATE_LIMITED (429) past either bound.
   */
  async countEnrollment(address: string | null, email: string): Promise<void> {
    const normalized = email.trim().toLowerCase();
    if (address !== null) await this.enrollmentsByAddress.take(`ip:${address}`);
    await this.enrollmentsByEmail.take(`email:${normalized}`);
  }

  /** Takes an operation's cost from the caller's per-minute cost budget; RATE_LIMITED when it has not that much left. */
  async chargeCost(request: Request, serverContext: unknown, cost: number): Promise<CostReport> {
    const window = this.cost[tierOf(requestPrincipal(request))];
    const bucket = this.bucketOf(request, serverContext);
    const result = await window.consume(bucket, cost).catch(async (error) => {
      // The window counted the points while refusing them: give them back, a refused operation costs nothing.
      if (error instanceof RateLimiterRes) await window.refund(bucket, cost);
      throw rejection(error);
    });
    return { requested: cost, remaining: result.remainingPoints, resetAt: new Date(Date.now() + result.msBeforeNext).toISOString() };
  }
}

/**
 * The cost of the operation Yoga runs, with the fragments it may spread (Pothos' helper takes the first
 * operation); null when its variables do not coerce (subscribing or executing then reports them).
 */
function operationCost(args: ExecutionArgs & { contextValue: Context }): number | null {
  const { document, operationName, contextValue, variableValues, schema } = args;
  const operation = getOperationAST(document, operationName);
  if (!operation) return 0;
  const only = { ...document, definitions: document.definitions.filter((d) => d.kind !== Kind.OPERATION_DEFINITION || d === operation) };
  try {
    return complexityFromQuery(only, { schema, ctx: contextValue, variables: variableValues ?? {} }).complexity;
  } catch {
    return null;
  }
}

/**
 * Counts every request (429 with Retry-After past the per-minute count) and charges each executed
 * operation its cost; the response's `extensions.cost` tells what is left. Cached answers are served
 * without executing and cost nothing; an operation over the per-query cost limit (deferred fragments
 * and streamed lists included) is refused before it executes and is not charged either. This is the one
 * place the cost is computed and the limit enforced (Pothos' complexity plugin only declares each
 * field's cost: see src/builder.ts); a subscription over the limit is refused before it subscribes.
 */
export function useRateLimit(limits: RateLimits): Plugin<Context> {
  const reports = new WeakMap<Request, CostReport>();
  return {
    async onParams({ request, context }) {
      await limits.countRequest(request, context);
    },
    onSubscribe({ args, setResultAndStopExecution }) {
      const limit = args.contextValue.limits.cost;
      const cost = operationCost(args);
      if (cost !== null && cost > limit) setResultAndStopExecution({ errors: [costLimitError(cost, limit)] });
    },
    async onExecute({ args, setResultAndStopExecution }) {
      const context = args.contextValue;
      const cost = operationCost(args);
      if (cost === null) return;
      // Refused here, before anything runs: Pothos checks as root fields resolve, and a root field inside
      // a deferred fragment resolves only after the first part of the response has been sent.
      if (cost > context.limits.cost) {
        setResultAndStopExecution({ errors: [costLimitError(cost, context.limits.cost)] });
        return;
      }
      try {
        reports.set(context.request, await limits.chargeCost(context.request, context, cost));
      } catch (error) {
        if (!(error instanceof RateLimitedError)) throw error;
        setResultAndStopExecution({ errors: [error] });
      }
    },
    onResultProcess({ request, result, setResult }) {
      const report = reports.get(request);
      if (!report || Array.isArray(result) || Symbol.asyncIterator in result) return;
      setResult({ ...result, extensions: { ...result.extensions, cost: report } });
    },
  };
}
