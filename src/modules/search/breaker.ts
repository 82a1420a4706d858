// Circuit breakers of the search path (seed 004): open at a 50 % error rate over one minute, stay
// open 30 s, then half-open with 10 % of the traffic. cockatiel does the error-rate window
// (SamplingBreaker), the open timer and the half-open verdict (halfOpenSampling); it lets *every*
// call into a half-open circuit and queues those past the trial count behind the verdict, so the
// gate here admits only every 10th call while half-open and sends the rest to the fallback at once.
import { CircuitState, circuitBreaker, handleAll, SamplingBreaker } from 'cockatiel'
import { counter, gauge } from '../../infra/metrics'

export type BreakerOptions = {
  /** error share that opens the circuit (0.5) */
  threshold: number
  /** the rolling window the share is measured over (60 s) */
  windowMs: number
  /** how long the circuit stays open (30 s) */
  openMs: number
  /** share of traffic let through while half-open (0.1) */
  halfOpenShare: number
  /** trial calls that decide half-open → closed (or back to open when half of them fail) */
  trialCalls: number
  /** fewer calls than this per second over the window never open the circuit (noise guard) */
  minimumRps: number
}

export const SEED_004_BREAKER: BreakerOptions = {
  threshold: 0.5,
  windowMs: 60_000,
  openMs: 30_000,
  halfOpenShare: 0.1,
  trialCalls: 5,
  // 10 calls a minute: two failures out of three requests must not take semantic search down.
  minimumRps: 10 / 60,
}

export type BreakerState = 'closed' | 'open' | 'half-open'
const STATE_VALUE: Record<BreakerState, number> = { closed: 0, 'half-open': 1, open: 2 }

const breakers: SearchBreaker[] = []
const transitions = counter('search_breaker_transitions_total', 'Search circuit breaker transitions', ['breaker', 'to'])
gauge('search_breaker_state', 'Search circuit breaker state: 0 closed, 1 half-open, 2 open', ['breaker'], function () {
  for (const b of breakers) this.set({ breaker: b.name }, STATE_VALUE[b.state])
})

/** Thrown into the fallback when the breaker did not let the call through. */
export class CircuitOpen extends Error {
  constructor(readonly breaker: string) {
    super(`${breaker} circuit open`)
  }
}

export class SearchBreaker {
  private readonly policy
  private openedAt = 0
  private calls = 0
  private trialsInFlight = 0

  constructor(
    readonly name: string,
    readonly opts: BreakerOptions = SEED_004_BREAKER,
  ) {
    this.policy = circuitBreaker(handleAll, {
      halfOpenAfter: opts.openMs,
      breaker: new SamplingBreaker({ threshold: opts.threshold, duration: opts.windowMs, minimumRps: opts.minimumRps }),
      halfOpenSampling: { calls: opts.trialCalls, threshold: 0.5 },
    })
    this.policy.onStateChange((s) => {
      if (s === CircuitState.Open) this.openedAt = Date.now()
      transitions.inc({ breaker: name, to: s === CircuitState.Open ? 'open' : s === CircuitState.HalfOpen ? 'half-open' : 'closed' })
    })
    breakers.push(this)
  }

  get state(): BreakerState {
    const s = this.policy.state
    if (s === CircuitState.Closed) return 'closed'
    if (s === CircuitState.HalfOpen) return 'half-open'
    return Date.now() - this.openedAt >= this.opts.openMs ? 'half-open' : 'open'
  }

  /** Runs `fn` when the circuit admits it; otherwise (or when it fails) throws, the caller falls back. */
  async run<T>(fn: () => Promise<T>): Promise<T> {
    const state = this.state
    if (state === 'open') throw new CircuitOpen(this.name)
    if (state === 'half-open') {
      const every = Math.max(1, Math.round(1 / this.opts.halfOpenShare))
      if (this.calls++ % every !== 0 || this.trialsInFlight >= this.opts.trialCalls) throw new CircuitOpen(this.name)
      this.trialsInFlight++
      try {
        return await this.policy.execute(fn)
      } finally {
        this.trialsInFlight--
      }
    }
    return this.policy.execute(fn)
  }
}
