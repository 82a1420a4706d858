// In-process cache in front of a Redis cache (an "L1"): a hit is a Map lookup instead of a Redis
// round trip. It is only correct while every instance hears every invalidation, so it is off
// unless `enabled` (the invalidation bus is subscribed; see src/infra/cache-bus.ts), and cleared
// whenever that stops being true.
//
// Stale fills are refused by an epoch: a reader notes `epoch` before it asks Redis or Postgres and
// may store what it got only if no invalidation (of any key) arrived meanwhile. Invalidations are
// rare next to reads, so refusing every fill that overlaps one costs nothing measurable.
//
// Storage is lru-cache (size bound and TTL); a hit updates its recency in index arrays, without
// moving the entry in a Map.
import { LRUCache } from 'lru-cache'

export class NearCache<T> {
  // Boxed: lru-cache takes only non-nullish values.
  private readonly entries: LRUCache<string, { value: T }>
  private on = false
  /** Bumped by every drop/clear; fills carry the value they read before fetching. */
  epoch = 0

  constructor(
    private readonly maxEntries: number,
    ttlMs: number,
  ) {
    this.entries = new LRUCache<string, { value: T }>({ max: Math.max(1, maxEntries), ttl: ttlMs, ttlAutopurge: false })
  }

  get enabled(): boolean {
    return this.on && this.maxEntries > 0
  }

  /** Turns the cache on or off; both directions start from empty. */
  setEnabled(on: boolean): void {
    this.clear()
    this.on = on
  }

  get(key: string): T | undefined {
    if (!this.on) return undefined
    return this.entries.get(key)?.value
  }

  /** Stores `value` unless the cache is off or an invalidation happened since `epochRead`. */
  fill(key: string, value: T, epochRead: number): boolean {
    if (!this.enabled || epochRead !== this.epoch) return false
    this.entries.set(key, { value })
    return true
  }

  drop(keys: Iterable<string>): void {
    this.epoch++
    for (const k of keys) this.entries.delete(k)
  }

  clear(): void {
    this.epoch++
    this.entries.clear()
  }

  get size(): number {
    return this.entries.size
  }
}
