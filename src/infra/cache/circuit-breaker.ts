export type BreakerState = 'closed' | 'open' | 'half-open';

/**
 * Stops calling a failing dependency: after `failureThreshold` consecutive failures the breaker
 * opens for `openMs`, during which calls are skipped at no cost; then one probe is let through
 * (half-open) and its outcome closes or re-opens the breaker.
 */
export class CircuitBreaker {
  private state: BreakerState = 'closed';
  private failures = 0;
  private openedAt = 0;
  private probing = false;

  constructor(
    private readonly options: { failureThreshold: number; openMs: number; onStateChange?: (state: BreakerState) => void },
    private readonly now: () => number = Date.now,
  ) {}

  get current(): BreakerState {
    return this.state;
  }

  /** Whether a call may go through now (a half-open breaker lets exactly one probe through). */
  allows(): boolean {
    if (this.state === 'closed') return true;
    if (this.state === 'open' && this.now() - this.openedAt >= this.options.openMs) this.transition('half-open');
    if (this.state === 'half-open' && !this.probing) {
      this.probing = true;
      return true;
    }
    return false;
  }

  succeeded(): void {
    this.failures = 0;
    this.probing = false;
    if (this.state !== 'closed') this.transition('closed');
  }

  failed(): void {
    this.probing = false;
    this.failures++;
    if (this.state === 'half-open' || this.failures >= this.options.failureThreshold) {
      this.openedAt = this.now();
      if (this.state !== 'open') this.transition('open');
    }
  }

  private transition(state: BreakerState): void {
    this.state = state;
    this.options.onStateChange?.(state);
  }
}
