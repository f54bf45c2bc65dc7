import { CircuitBreaker, type BreakerState } from './cache/circuit-breaker.js';

class RedisTimeoutError extends Error {}

/**
 * Bounds the Redis calls a request waits for outside the response cache (which has its own breaker):
 * each call gets `timeoutMs`, and after a few failures a circuit breaker skips Redis for a while, so a
 * frozen Redis costs a handful of requests `timeoutMs` once, not every request its command timeout.
 * Skipped or failed calls run `fallback` (the per-instance stand-in) instead.
 */
export class RedisGuard {
  private readonly breaker: CircuitBreaker;

  /** `timeoutMs`: beyond it a call counts as failed (REDIS_REQUEST_TIMEOUT_MS). */
  constructor(options: { timeoutMs: number; onStateChange?: (state: BreakerState) => void }) {
    this.timeoutMs = options.timeoutMs;
    this.breaker = new CircuitBreaker({ failureThreshold: 3, openMs: 2_000, onStateChange: options.onStateChange });
  }

  private readonly timeoutMs: number;

  get state(): BreakerState {
    return this.breaker.current;
  }

  /**
   * `call` against Redis, or `fallback` while the breaker is open or when `call` fails or is late.
   * An error that `isAnswer` accepts is Redis answering (a limiter's rejection) and passes through.
   */
  async run<T>(call: () => Promise<T>, fallback: () => Promise<T>, isAnswer: (error: unknown) => boolean = () => false): Promise<T> {
    if (!this.breaker.allows()) return fallback();
    let timer: NodeJS.Timeout | undefined;
    const late = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new RedisTimeoutError()), this.timeoutMs);
    });
    try {
      const result = await Promise.race([call(), late]);
      this.breaker.succeeded();
      return result;
    } catch (error) {
      if (isAnswer(error)) {
        this.breaker.succeeded();
        throw error;
      }
      this.breaker.failed();
      return fallback();
    } finally {
      clearTimeout(timer);
    }
  }
}
