import { RateLimiterMemory, RateLimiterRedis, RateLimiterRes } from 'rate-limiter-flexible';
import { RateLimitedError } from '../shared/errors.js';
import type { RedisGuard } from './redis-guard.js';
import type { RedisClient } from './redis.js';

/** How often points admitted ahead of Redis are written to it. */
const FLUSH_MS = 100;
/** The share of a window's points one instance may admit ahead of Redis: the most it can overshoot by. */
const AHEAD_SHARE = 0.01;

/** One key's window as this instance knows it: what Redis had counted at the last answer, and what it has not yet been told. */
interface Share {
  /** Points Redis had counted in this window when it last answered (every instance's). */
  known: number;
  /** Points admitted here since, not yet written to Redis. */
  ahead: number;
  /** When the window ends (epoch ms), as Redis reported it. */
  resetAt: number;
}

/**
 * A fixed window (one minute unless told) counted in Redis, or per instance while there is none or it
 * does not answer (see RedisGuard).
 *
 * A key's first points in a window, and every point near its limit, are counted by Redis before they
 * are admitted. In between, this instance admits up to 1 % of the window's points ahead of Redis from
 * what Redis last answered plus what it admitted since, and writes them every 100 ms: a busy caller
 * costs no Redis round trip per request, and with N instances it can overshoot its window by at most
 * N % (each instance's unwritten share). Windows under 100 points are always counted by Redis first, so
 * small limits stay exact. (rate-limiter-flexible counts one command per call and has no such mode.)
 */
export class RateWindow {
  private readonly memory: RateLimiterMemory;
  private readonly redis: RateLimiterRedis | null;
  private readonly shares = new Map<string, Share>();
  /** Keys with points admitted ahead of Redis. */
  private readonly unwritten = new Set<string>();
  private readonly aheadLimit: number;
  private flushTimer: NodeJS.Timeout | null = null;

  constructor(
    private readonly settings: { keyPrefix: string; points: number; duration?: number },
    redis: RedisClient | null,
    private readonly guard: RedisGuard | null,
  ) {
    const options = { duration: 60, ...settings };
    this.memory = new RateLimiterMemory(options);
    // The memory window is the insurance. The guard, not rate-limiter-flexible's insuranceLimiter,
    // decides when to use it: the library falls back only once a command has failed, so a frozen
    // Redis would cost every request its full command timeout.
    this.redis = redis ? new RateLimiterRedis({ ...options, storeClient: redis, rejectIfRedisNotReady: true }) : null;
    this.aheadLimit = Math.floor(settings.points * AHEAD_SHARE);
  }

  /** Takes `points`; rejects with the RateLimiterRes when the window has not that many left. */
  consume(key: string, points = 1): Promise<RateLimiterRes> {
    if (!this.redis || !this.guard) return this.memory.consume(key, points);
    const share = this.shares.get(key);
    const now = Date.now();
    if (share && now < share.resetAt && share.ahead + points <= this.aheadLimit && share.known + share.ahead + points <= this.settings.points) {
      share.ahead += points;
      this.markUnwritten(key);
      const consumed = share.known + share.ahead;
      return Promise.resolve(new RateLimiterRes(this.settings.points - consumed, share.resetAt - now, consumed, false));
    }
    // Counted by Redis now, with whatever this instance admitted ahead of it in this window.
    const ahead = share && now < share.resetAt ? share.ahead : 0;
    if (share) share.ahead = 0;
    return this.count(key, points + ahead);
  }

  /** Like `consume`, but past the window it throws RATE_LIMITED with the seconds until it resets. */
  take(key: string, points = 1): Promise<RateLimiterRes> {
    return this.consume(key, points).catch((error: unknown) => {
      throw rejection(error);
    });
  }

  /** Gives back `points` (a refused operation is not charged). */
  async refund(key: string, points: number): Promise<void> {
    const { redis, guard } = this;
    const give = (limiter: RateLimiterMemory | RateLimiterRedis) => limiter.reward(key, points).then(() => {});
    await (!redis || !guard ? give(this.memory) : guard.run(() => give(redis), () => give(this.memory)));
    const share = this.shares.get(key);
    if (share) share.known = Math.max(0, share.known - points);
  }

  /** Whether `key` has used up its window, without counting anything. */
  async exhausted(key: string): Promise<boolean> {
    const { redis, guard } = this;
    const read = (limiter: RateLimiterMemory | RateLimiterRedis) => limiter.get(key);
    const state = !redis || !guard ? await read(this.memory) : await guard.run(() => read(redis), () => read(this.memory));
    return state !== null && state.remainingPoints <= 0;
  }

  /** Counts `points` in Redis (the memory window while the guard says Redis is away) and notes what it answered. */
  private count(key: string, points: number): Promise<RateLimiterRes> {
    const redis = this.redis!;
    const isAnswer = (error: unknown) => error instanceof RateLimiterRes;
    return this.guard!.run(
      () => redis.consume(key, points).then((result) => (this.note(key, result), result), (error: unknown) => {
        if (isAnswer(error)) this.note(key, error as RateLimiterRes);
        throw error;
      }),
      () => (this.shares.delete(key), this.memory.consume(key, points)),
      isAnswer,
    );
  }

  private note(key: string, result: RateLimiterRes): void {
    if (this.aheadLimit === 0) return;
    const now = Date.now();
    const resetAt = now + result.msBeforeNext;
    this.forgetEndedWindows(now);
    const share = this.shares.get(key);
    // Answers may arrive out of order: within one window the count only grows.
    if (share && Math.abs(share.resetAt - resetAt) < FLUSH_MS * 10) share.known = Math.max(share.known, result.consumedPoints);
    else this.shares.set(key, { known: result.consumedPoints, ahead: share?.ahead ?? 0, resetAt });
  }

  private markUnwritten(key: string): void {
    this.unwritten.add(key);
    if (!this.flushTimer) {
      this.flushTimer = setTimeout(() => this.flush(), FLUSH_MS);
      this.flushTimer.unref();
    }
  }

  /** Writes the points admitted ahead of Redis. */
  private flush(): void {
    this.flushTimer = null;
    for (const key of this.unwritten) {
      const share = this.shares.get(key);
      if (!share || share.ahead === 0) continue;
      const points = share.ahead;
      share.ahead = 0;
      // Already admitted: a refusal here only tells the count (noted by count()).
      this.count(key, points).catch(() => {});
    }
    this.unwritten.clear();
  }

  private lastSweep = Date.now();

  /** Once a minute: every key counted once keeps a share until its window ends. */
  private forgetEndedWindows(now: number): void {
    if (now - this.lastSweep < 60_000) return;
    this.lastSweep = now;
    for (const [key, share] of this.shares) if (share.resetAt <= now && share.ahead === 0) this.shares.delete(key);
  }
}

export function rejection(error: unknown): RateLimitedError {
  if (!(error instanceof RateLimiterRes)) throw error;
  return new RateLimitedError(Math.max(1, Math.ceil(error.msBeforeNext / 1000)));
}
