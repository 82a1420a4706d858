// In-process cache in front of a Redis cache (an "L1"): a hit is a Map lookup instead of a Redis
// round trip. It is only correct while every instance hears every invalidation, so it is off
// unless `enabled` (the invalidation bus is subscribed; see src/infra/cache-bus.ts), and cleared
// whenever that stops being true.
//
// Stale fills are refused by an epoch: a reader notes `epoch` before it asks Redis or Postgres and
// may store what it got only if no invalidation (of any key) arrived meanwhile. Invalidations are
// rare next to reads, so refusing every fill that overlaps one costs nothing measurable.
//
// Eviction is CLOCK (second chance) rather than strict LRU: a hit only sets a flag, where moving
// the entry to the end of the Map on every hit cost a measurable share of a cached read.
export class NearCache<T> {
  private readonly entries = new Map<string, { value: T; expiresAt: number; used: boolean }>()
  private on = false
  /** Bumped by every drop/clear; fills carry the value they read before fetching. */
  epoch = 0

  constructor(
    private readonly maxEntries: number,
    private readonly ttlMs: number,
  ) {}

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
    const e = this.entries.get(key)
    if (!e) return undefined
    if (e.expiresAt <= performance.now()) {
      this.entries.delete(key)
      return undefined
    }
    e.used = true
    return e.value
  }

  /** Stores `value` unless the cache is off or an invalidation happened since `epochRead`. */
  fill(key: string, value: T, epochRead: number): boolean {
    if (!this.enabled || epochRead !== this.epoch) return false
    this.entries.delete(key)
    this.entries.set(key, { value, expiresAt: performance.now() + this.ttlMs, used: false })
    // Map order is insertion order: walk from the oldest; a used entry (or the one just stored) gets
    // a second chance (moved to the end, flag cleared), the first other one is evicted.
    while (this.entries.size > this.maxEntries) {
      const [oldest, e] = this.entries.entries().next().value as [string, { value: T; expiresAt: number; used: boolean }]
      this.entries.delete(oldest)
      if (e.used || oldest === key) {
        e.used = false
        this.entries.set(oldest, e)
      }
    }
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
