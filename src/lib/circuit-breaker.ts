// A small circuit breaker: after `threshold` consecutive failures the circuit opens for
// `cooldownMs`, so a dead dependency costs callers a branch, not a timeout. One probe call
// is let through after the cooldown (half-open); its success closes the circuit.
export type BreakerState = 'closed' | 'open' | 'half-open'

export class CircuitBreaker {
  private failures = 0
  private openedAt = 0
  private probing = false

  constructor(
    readonly name: string,
    private readonly threshold = 3,
    private readonly cooldownMs = 1000,
    private readonly onChange?: (state: BreakerState) => void,
  ) {}

  get state(): BreakerState {
    if (this.failures < this.threshold) return 'closed'
    return Date.now() - this.openedAt >= this.cooldownMs ? 'half-open' : 'open'
  }

  /** True when a call may be attempted now. */
  allow(): boolean {
    const s = this.state
    if (s === 'closed') return true
    if (s === 'half-open' && !this.probing) {
      this.probing = true
      return true
    }
    return false
  }

  success(): void {
    const wasOpen = this.failures >= this.threshold
    this.failures = 0
    this.probing = false
    if (wasOpen) this.onChange?.('closed')
  }

  failure(): void {
    this.probing = false
    this.failures++
    if (this.failures >= this.threshold) {
      if (this.failures === this.threshold) this.onChange?.('open')
      this.openedAt = Date.now()
    }
  }
}
