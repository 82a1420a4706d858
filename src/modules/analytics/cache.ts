// Cache per window with event-driven invalidation (seed 003's table, fresher): every key carries a
// generation that the order-event consumer bumps (at most every INVALIDATE_MS), so a new order is
// on the dashboard within that plus the outbox lag; the TTL (ANALYTICS_CACHE_TTL_SECONDS) bounds how
// far a rolling window can trail the clock when no order arrives.
import { config } from '../../config'
import { key, withRedis } from '../../infra/redis'
import { CacheAside } from '../../lib/cache-aside'

const cache = new CacheAside<unknown>({
  name: 'analytics',
  ttlSeconds: config.ANALYTICS_CACHE_TTL_SECONDS,
  negativeTtlSeconds: 1,
  // A local hit skips Redis for the value; the generation is still read from Redis every time.
  near: { maxEntries: 1000, ttlMs: Math.min(1000, config.ANALYTICS_CACHE_TTL_SECONDS * 1000) },
})

const GEN = () => key('analytics', 'gen')
/** During a sale every order is an event: one bump per this many ms, not one per order. */
export const INVALIDATE_MS = 250

/** `load()` through the cache; `now` given (an explicit clock, tests) bypasses it. */
export async function cached<T>(name: string, now: Date | undefined, load: () => Promise<T>): Promise<T> {
  if (now) return load()
  const gen = await withRedis<string | null | undefined>(
    (r) => r.get(GEN()),
    () => undefined,
  )
  // Redis down: straight to Postgres (the figures are still exact, just not cached).
  if (gen === undefined) return load()
  return (await cache.get(`analytics:${gen ?? 0}:${name}`, load)) as T
}

let pending: Timer | null = null
/** Marks the figures stale (trailing, coalesced): the next read after the bump recomputes. */
export function invalidateAnalytics(): Promise<void> {
  if (pending) return Promise.resolve()
  return new Promise((resolve) => {
    pending = setTimeout(async () => {
      pending = null
      await withRedis(
        (r) => r.incr(GEN()),
        () => 0,
      )
      resolve()
    }, INVALIDATE_MS)
  })
}

/** Bumps the generation now (tests, the rebuild job). */
export async function invalidateAnalyticsNow(): Promise<void> {
  await withRedis(
    (r) => r.incr(GEN()),
    () => 0,
  )
}
