// Generic cache-aside over Redis with the protections a hot catalog needs:
// - TTL ± 10 % jitter, so keys filled together do not expire together;
// - stampede protection: in-process single-flight, then a short Redis lock (SET NX PX) across
//   instances; instances that lose the lock poll briefly for the winner's value;
// - negative caching: a loader's `null` (404) is cached for a short TTL;
// - stale-write guard: every key has a generation counter that invalidation bumps. A loader reads
//   the generation BEFORE it reads the database and stores its value only if the generation is
//   unchanged, so "loader reads old row → writer commits and invalidates → loader writes old
//   value" cannot leave a stale entry; the loader then reloads so its waiters get the new value;
// - Redis down (or circuit open): read-through to the loader, never an error to the client;
// - optional in-process L1 (`near`): a hit skips Redis. Invalidations are broadcast and
//   acknowledged by every instance before invalidate() returns (src/infra/cache-bus.ts).
// Events go to the `cache_events_total` counter: local_hit, hit, miss, load, stampede_suppressed,
// stale_skipped.
import { attachNearCache, invalidationChannel, invalidationMessage, whenSubscribed } from '../infra/cache-bus'
import { cacheEvents } from '../infra/metrics'
import { withRedis } from '../infra/redis'
import { FILL_SCRIPT, GEN_TTL_MS, LOCK_SCRIPT, NEGATIVE, UNLOCK_SCRIPT } from './cache-aside-redis'
import { NearCache } from './near-cache'

export type Codec<T> = { encode: (v: T) => string; decode: (s: string) => T }

export type CacheAsideOptions<T> = {
  /** Metric label. */
  name: string
  ttlSeconds: number
  negativeTtlSeconds: number
  /** Redis lock lifetime: longer than a normal load, short enough that a crashed holder is harmless. */
  lockMs?: number
  /** How long an instance that lost the lock polls for the winner's value before loading itself. */
  waitMs?: number
  pollMs?: number
  codec?: Codec<T>
  /** In-process L1 in front of Redis (positive entries only); size 0 keeps it off. */
  near?: { maxEntries: number; ttlMs: number }
}

const UNAVAILABLE = Symbol('redis unavailable')
type Loaded<T> = { value: T | null; loaded: boolean }

export const jitteredTtlMs = (seconds: number, rand = Math.random): number => Math.round(seconds * 1000 * (0.9 + 0.2 * rand()))

export class CacheAside<T> {
  private readonly flights = new Map<string, Promise<Loaded<T>>>()
  private readonly codec: Codec<T>
  private readonly lockMs: number
  private readonly waitMs: number
  private readonly pollMs: number
  private readonly near: NearCache<T> | null
  private attached = false

  constructor(private readonly opts: CacheAsideOptions<T>) {
    this.codec = opts.codec ?? { encode: (v) => JSON.stringify(v), decode: (s) => JSON.parse(s) as T }
    this.lockMs = opts.lockMs ?? 2000
    this.waitMs = opts.waitMs ?? 1000
    this.pollMs = opts.pollMs ?? 10
    this.near = opts.near ? new NearCache<T>(opts.near.maxEntries, opts.near.ttlMs) : null
  }

  /** Joins the invalidation bus (lazily, on first use; boot calls it early). Resolves once the L1 is on, or after `ms`. */
  async startNear(ms = 2000): Promise<boolean> {
    const near = this.near
    if (!near) return false
    if (!this.attached) {
      this.attached = true
      attachNearCache(near as NearCache<unknown>)
    }
    return (await whenSubscribed(ms)) && near.enabled
  }

  // Bound label children: a hit costs an increment, not a label-hash lookup.
  private readonly counters = new Map<string, { inc: (n?: number) => void }>()
  private event(event: string, n = 1): void {
    if (n <= 0) return
    let c = this.counters.get(event)
    if (!c) {
      c = cacheEvents.labels({ cache: this.opts.name, event })
      this.counters.set(event, c)
    }
    c.inc(n)
  }

  /** The in-process (L1) value of `key`, synchronously; undefined when not there (ask get()). */
  peek(key: string): T | undefined {
    const local = this.near?.get(key)
    if (local !== undefined) this.event('local_hit')
    return local
  }

  /** The cached value of `key`, or `load()`'s result (null = not found, cached briefly). */
  async get(key: string, load: () => Promise<T | null>): Promise<T | null> {
    if (this.near) {
      if (!this.attached) void this.startNear(0)
      const local = this.near.get(key)
      if (local !== undefined) {
        this.event('local_hit')
        return local
      }
    }
    const inflight = this.flights.get(key)
    if (inflight) {
      const r = await inflight
      this.event(r.loaded ? 'stampede_suppressed' : 'hit')
      return r.value
    }
    const flight = this.fetch(key, load).finally(() => {
      if (this.flights.get(key) === flight) this.flights.delete(key)
    })
    this.flights.set(key, flight)
    return (await flight).value
  }

  /**
   * Many keys at once (list hydration): one MGET; the misses are loaded with one `loadMany` call
   * and written back under the same generation guard. No cross-instance lock on this path — a
   * batch of cold keys costs one query, not one per key.
   */
  async getMany(keys: string[], loadMany: (missing: string[]) => Promise<Map<string, T>>): Promise<(T | null)[]> {
    if (keys.length === 0) return []
    if (!this.near) return this.getManyRemote(keys, loadMany)
    // The L1 first, as in get(); only the rest goes to Redis (and Postgres).
    if (!this.attached) void this.startNear(0)
    const near = this.near
    const local = keys.map((k) => near.get(k))
    const remote = keys.filter((_, i) => local[i] === undefined)
    this.event('local_hit', keys.length - remote.length)
    if (remote.length === 0) return local as T[]
    const fetched = await this.getManyRemote(remote, loadMany, near.epoch)
    let j = 0
    return local.map((v) => (v === undefined ? (fetched[j++] as T | null) : v))
  }

  /** getMany past the L1; values found in Redis are kept in the L1 unless an invalidation came since `epoch`. */
  private async getManyRemote(
    keys: string[],
    loadMany: (missing: string[]) => Promise<Map<string, T>>,
    epoch?: number,
  ): Promise<(T | null)[]> {
    const cached = await withRedis<(string | null)[] | null>(
      (r) => r.mget(...keys),
      () => null,
    )
    if (!cached) {
      this.event('load')
      const loaded = await loadMany(keys)
      return keys.map((k) => loaded.get(k) ?? null)
    }
    const decoded = cached.map((s) => (s === null ? null : this.decode(s)))
    if (epoch !== undefined) {
      for (const [i, k] of keys.entries()) {
        const v = decoded[i]
        if (v !== null && v !== undefined) this.near?.fill(k, v, epoch)
      }
    }
    const missing = keys.filter((_, i) => cached[i] === null)
    this.event('hit', keys.length - missing.length)
    if (missing.length === 0) return decoded
    this.event('miss', missing.length)
    // Generations are read before the database, exactly as in get().
    const gens = await withRedis<(string | null)[] | null>(
      (r) => r.mget(...missing.map((k) => `${k}:gen`)),
      () => null,
    )
    this.event('load')
    const loaded = await loadMany(missing)
    if (gens) {
      await withRedis(
        async (r) => {
          const p = r.pipeline()
          missing.forEach((k, i) => {
            const v = loaded.get(k) ?? null
            const payload = v === null ? NEGATIVE : this.codec.encode(v)
            const ttl = jitteredTtlMs(v === null ? this.opts.negativeTtlSeconds : this.opts.ttlSeconds)
            p.eval(FILL_SCRIPT, 3, k, `${k}:gen`, `${k}:lock`, gens[i] ?? '0', payload, ttl, '')
          })
          await p.exec()
        },
        () => undefined,
      )
    }
    return keys.map((k, i) => (cached[i] === null ? (loaded.get(k) ?? null) : (decoded[i] as T | null)))
  }

  /** Drops the entries and bumps their generations; call after the write commits, before responding. */
  async invalidate(...keys: string[]): Promise<void> {
    if (keys.length === 0) return
    // Readers arriving after this point must not join a load that may have read the old row.
    for (const k of keys) this.flights.delete(k)
    this.near?.drop(keys)
    // A process that writes must hear the acks, so it joins the bus too (once; bounded wait).
    if (this.near && !this.attached) await this.startNear()
    const note = this.near ? invalidationMessage(keys) : null
    await withRedis(
      async (r) => {
        const m = r.multi()
        for (const k of keys) m.incr(`${k}:gen`).pexpire(`${k}:gen`, GEN_TTL_MS).unlink(k)
        if (note) m.publish(invalidationChannel(), note.message)
        const res = await m.exec()
        // Every instance (this one included) drops its L1 copies before we return.
        if (note) await note.awaitAcks(Number(res?.at(-1)?.[1] ?? 0))
      },
      () => note?.cancel(),
    )
    // A read that got the old value from Redis just before the MULTI may have filled the L1 since.
    this.near?.drop(keys)
  }

  private decode(s: string): T | null {
    return s === NEGATIVE ? null : this.codec.decode(s)
  }

  private async fetch(key: string, load: () => Promise<T | null>): Promise<Loaded<T>> {
    // Read before Redis/Postgres: an invalidation arriving meanwhile makes the L1 refuse this value.
    const epoch = this.near?.epoch ?? 0
    const remember = (value: T | null) => {
      if (value !== null) this.near?.fill(key, value, epoch)
    }
    const cached = await withRedis<string | null | typeof UNAVAILABLE>(
      (r) => r.get(key),
      () => UNAVAILABLE,
    )
    if (typeof cached === 'string') {
      this.event('hit')
      const value = this.decode(cached)
      remember(value)
      return { value, loaded: false }
    }
    this.event('miss')
    if (cached === UNAVAILABLE) return this.loadOnly(load)

    const token = Bun.randomUUIDv7()
    const lock = await withRedis<[number, string] | null>(
      (r) => r.eval(LOCK_SCRIPT, 2, `${key}:lock`, `${key}:gen`, token, this.lockMs) as Promise<[number, string]>,
      () => null,
    )
    if (!lock) return this.loadOnly(load)
    let [acquired, gen] = lock
    if (!acquired) {
      const winner = await this.waitForWinner(key)
      if (winner !== undefined) {
        this.event('stampede_suppressed')
        remember(winner)
        return { value: winner, loaded: true }
      }
    }
    // We hold the lock, or the holder was too slow. Loads whose fill is refused because the key was
    // invalidated meanwhile are retried (twice at most) so waiters never receive the old row.
    for (let attempt = 0; ; attempt++) {
      const value = await this.loadCounted(load, key, acquired ? token : '')
      const payload = value === null ? NEGATIVE : this.codec.encode(value)
      const ttl = jitteredTtlMs(value === null ? this.opts.negativeTtlSeconds : this.opts.ttlSeconds)
      const stored = await withRedis(
        (r) => r.eval(FILL_SCRIPT, 3, key, `${key}:gen`, `${key}:lock`, gen, payload, ttl, acquired ? token : '') as Promise<number>,
        () => -1,
      )
      if (stored === 1) remember(value)
      if (stored !== 0 || attempt >= 2) return { value, loaded: true }
      this.event('stale_skipped')
      const fresh = await withRedis(
        (r) => r.get(`${key}:gen`),
        () => null,
      )
      if (fresh === null) return { value, loaded: true }
      gen = fresh
      acquired = 0
    }
  }

  private async loadCounted(load: () => Promise<T | null>, key: string, token: string): Promise<T | null> {
    this.event('load')
    try {
      return await load()
    } catch (err) {
      if (token) {
        await withRedis(
          (r) => r.eval(UNLOCK_SCRIPT, 1, `${key}:lock`, token),
          () => null,
        )
      }
      throw err
    }
  }

  private async loadOnly(load: () => Promise<T | null>): Promise<Loaded<T>> {
    this.event('load')
    return { value: await load(), loaded: true }
  }

  /** Polls for the lock holder's value; undefined when it did not appear in time. */
  private async waitForWinner(key: string): Promise<T | null | undefined> {
    const deadline = performance.now() + this.waitMs
    while (performance.now() < deadline) {
      await Bun.sleep(this.pollMs)
      const polled: [string | null, number] = await withRedis<[string | null, number] | null>(
        async (r) => {
          const res = await r.multi().get(key).exists(`${key}:lock`).exec()
          return [(res?.[0]?.[1] as string | null) ?? null, Number(res?.[1]?.[1] ?? 0)]
        },
        () => null,
      ).then((x) => x ?? [null, 0])
      const [value, locked] = polled
      if (value !== null) return this.decode(value)
      // The holder released without filling (its load failed or was invalidated): stop waiting.
      if (!locked) return undefined
    }
    return undefined
  }
}
