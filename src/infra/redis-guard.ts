import { CircuitBreaker, type BreakerState } from './cache/circuit-breaker.js';

/** Beyond this a Redis call on the request path counts as failed: a healthy Redis answers in ~1 ms. */
export const REQUEST_PATH_REDIS_TIMEOUT_MS = 100;

class RedisTimeoutError extends Error {}

/**
 * Bounds the Redis calls a request waits for outside the response cache (which has its own breaker):
 * each call gets `timeoutMs`, and after a few failures a circuit breaker skips Redis for a while, so a
 * frozen Redis costs a handful of requests `timeoutMs` once, not every request its command timeout.
 * Skipped or failed calls run `fallback` (the per-instance stand-in) instead.
 */
export class RedisGuard {
  private readonly breaker: CircuitBreaker;

  constructor(options: { timeoutMs?: number; onStateChange?: (state: BreakerState) => void } = {}) {
    this.timeoutMs = options.timeoutMs ?? REQUEST_PATH_REDIS_TIMEOUT_MS;
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
