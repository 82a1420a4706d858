// A soft memory limit, like Go's GOMEMLIMIT: when the process's RSS goes over MEMORY_SOFT_LIMIT_MB,
// run a full garbage collection. Why: JavaScriptCore sizes its heap against the host's RAM, so
// under a steady stream of orders an instance settles well above what it needs (~175 MB for
// ~45 MB of live objects): garbage and freed pages are kept for the next burst. A full collection
// gives them back, but it stops the process while it runs: 35–50 ms for a ~50 MB heap on an idle
// machine, 80–250 ms in the deep-stock sale on this 2-core box. So it is off by default: it is for
// an operator whose container limit matters more than tail latency (README, "Memory").
// Guard against thrashing: if a collection does not bring RSS back under the limit (the limit is
// below the working set), the next one waits twice as long (up to 30 s) and a warning says so.
import { logger } from '../infra/logger'
import { counter } from '../infra/metrics'

const collections = counter('memory_soft_limit_collections_total', 'Full collections run because RSS was over MEMORY_SOFT_LIMIT_MB')
const pauseSeconds = counter('memory_soft_limit_pause_seconds_total', 'Time spent in those collections')

export type MemoryLimitDeps = {
  rss: () => number
  collect: () => void
  now: () => number
}

const realDeps: MemoryLimitDeps = {
  rss: () => process.memoryUsage.rss(),
  // Synchronous: an asynchronous collection (Bun.gc(false)) measured here did not bring RSS down.
  collect: () => Bun.gc(true),
  now: () => performance.now(),
}

export const MIN_GAP_MS = 500
export const MAX_GAP_MS = 30_000

/** One governor: `check()` is called on a timer; returns whether it collected. */
export function memoryGovernor(limitBytes: number, deps: MemoryLimitDeps = realDeps) {
  let gap = MIN_GAP_MS
  let last = Number.NEGATIVE_INFINITY
  return {
    check(): boolean {
      if (deps.rss() <= limitBytes) return false
      const t0 = deps.now()
      if (t0 - last < gap) return false
      deps.collect()
      const t1 = deps.now()
      last = t1
      collections.inc()
      pauseSeconds.inc((t1 - t0) / 1000)
      const after = deps.rss()
      if (after <= limitBytes) gap = MIN_GAP_MS
      else {
        if (gap === MIN_GAP_MS) {
          logger.warn(
            { rssMb: Math.round(after / 2 ** 20), limitMb: Math.round(limitBytes / 2 ** 20) },
            'memory soft limit: a full collection did not bring RSS under the limit; collecting less often (raise MEMORY_SOFT_LIMIT_MB)',
          )
        }
        gap = Math.min(gap * 2, MAX_GAP_MS)
      }
      return true
    },
    get gapMs() {
      return gap
    },
  }
}

/** Starts checking every 100 ms (reading RSS is cheap); returns the stopper. 0 = no limit. */
export function startMemoryLimit(limitMb: number): () => Promise<void> {
  if (limitMb <= 0) return async () => {}
  const governor = memoryGovernor(limitMb * 2 ** 20)
  const timer = setInterval(() => governor.check(), 100)
  timer.unref()
  return async () => clearInterval(timer)
}
