// The search circuit breaker as seed 004 specifies it — open at a 50 % error rate over one minute,
// open for 30 s, half-open with 10 % of traffic — driven by a real dependency we control (an HTTP
// server answering 500 or 200 on command), with the clock moved by bun:test's setSystemTime
// instead of waiting out the minute. Then the breaker on the search path: open → keyword-only.
import { afterAll, afterEach, beforeAll, describe, expect, setSystemTime, test } from 'bun:test'
import { registry } from '../src/infra/metrics'
import { CircuitOpen, SEED_004_BREAKER, SearchBreaker } from '../src/modules/search/breaker'

let failing = false
let hits = 0
const dep = Bun.serve({
  port: 0,
  fetch() {
    hits++
    return new Response(failing ? 'boom' : 'ok', { status: failing ? 500 : 200 })
  },
})
const call = async () => {
  const r = await fetch(`http://127.0.0.1:${dep.port}/`)
  if (!r.ok) throw new Error(`dependency answered ${r.status}`)
  return r.text()
}
/** n calls through the breaker: how many reached the dependency and how many were turned away. */
async function drive(b: SearchBreaker, n: number) {
  const before = hits
  let rejected = 0
  for (let i = 0; i < n; i++) {
    try {
      await b.run(call)
    } catch (err) {
      if (err instanceof CircuitOpen) rejected++
    }
  }
  return { reached: hits - before, rejected }
}

let now = Date.parse('2026-06-01T00:00:00Z')
const advance = (ms: number) => {
  now += ms
  setSystemTime(new Date(now))
}
beforeAll(() => setSystemTime(new Date(now)))
afterEach(() => {
  failing = false
})
afterAll(() => {
  setSystemTime()
  dep.stop(true)
})

describe('SearchBreaker (seed 004 numbers)', () => {
  test('the defaults are the seed: 50 % over 60 s, open 30 s, 10 % half-open', () => {
    expect(SEED_004_BREAKER).toMatchObject({ threshold: 0.5, windowMs: 60_000, openMs: 30_000, halfOpenShare: 0.1 })
  })

  test('closed under 40 % errors; opens past 50 % within the minute; open turns every call away', async () => {
    const b = new SearchBreaker(`t-${Math.random()}`)
    // 12 ok + 8 failures over 40 s: 40 % → stays closed.
    await drive(b, 12)
    failing = true
    for (let i = 0; i < 8; i++) {
      advance(5000)
      await drive(b, 1)
    }
    expect(b.state).toBe('closed')
    // More failures: the share in the last minute passes 50 % → open.
    for (let i = 0; i < 10 && b.state === 'closed'; i++) await drive(b, 1)
    expect(b.state).toBe('open')
    failing = false
    const open = await drive(b, 20)
    expect(open).toEqual({ reached: 0, rejected: 20 })
  })

  test('after 30 s half-open lets 1 call in 10 through; 5 good trials close it, 3 failed ones reopen it', async () => {
    const b = new SearchBreaker(`t-${Math.random()}`)
    failing = true
    await drive(b, 12)
    expect(b.state).toBe('open')
    advance(29_000)
    expect(b.state).toBe('open')
    advance(1_000)
    expect(b.state).toBe('half-open')
    // Still failing: 1 call in 10 is a trial; when more than half of the 5 trials (3) have failed → open again.
    const first = await drive(b, 30)
    expect(first).toEqual({ reached: 3, rejected: 27 })
    expect(b.state).toBe('open')
    advance(30_000)
    failing = false
    // Healthy: 10 % of 50 calls reach it (5 trials = SEED_004_BREAKER.trialCalls) and close the circuit.
    const trial = await drive(b, 50)
    expect(trial.reached).toBe(5)
    expect(trial.rejected).toBe(45)
    expect(b.state).toBe('closed')
    expect((await drive(b, 10)).reached).toBe(10)
    const metrics = await registry.metrics()
    expect(metrics).toContain(`search_breaker_transitions_total{breaker="${b.name}",to="open"} 2`)
    expect(metrics).toContain(`search_breaker_transitions_total{breaker="${b.name}",to="closed"} 1`)
    expect(metrics).toMatch(new RegExp(`search_breaker_state\\{breaker="${b.name.replace('.', '\\.')}"\\} 0`))
  })
})
