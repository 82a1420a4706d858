// Cache-aside: hits, invalidation (read-after-write), stampede protection in one process and across
// instances, negative caching, the stale-write race, TTL jitter, Redis going away, and the
// in-process L1 with its acknowledged cross-instance invalidation.
import { afterAll, beforeAll, describe, expect, test } from 'bun:test'
import { sql } from 'drizzle-orm'
import Redis from 'ioredis'
import { config } from '../src/config'
import { invalidationChannel } from '../src/infra/cache-bus'
import { db } from '../src/infra/db'
import { tcpReachable } from '../src/infra/embedded'
import { cacheEvents, registry } from '../src/infra/metrics'
import { key, pingRedis, redis, redisUrl } from '../src/infra/redis'
import { CacheAside, jitteredTtlMs } from '../src/lib/cache-aside'
import { NearCache } from '../src/lib/near-cache'
import { invalidateProduct, productCache, productKey } from '../src/modules/catalog/cache'
import { type ApiProcess, createUser, freePort, req, startApi } from './helpers'

let admin: { token: string }
beforeAll(async () => {
  admin = await createUser('admin')
  // The shared client connects lazily; until it is ready the cache (correctly) reads through.
  expect(await pingRedis()).toBe('ok')
  expect(await productCache.startNear()).toBe(true)
})

async function events(cache: string): Promise<Record<string, number>> {
  const out: Record<string, number> = {}
  for (const v of (await cacheEvents.get()).values) if (v.labels.cache === cache) out[String(v.labels.event)] = v.value
  return out
}
async function delta(cache: string, fn: () => Promise<unknown>): Promise<Record<string, number>> {
  const before = await events(cache)
  await fn()
  const after = await events(cache)
  const d: Record<string, number> = {}
  for (const k of Object.keys(after)) if ((after[k] ?? 0) - (before[k] ?? 0) !== 0) d[k] = (after[k] ?? 0) - (before[k] ?? 0)
  return d
}
async function newProduct(extra: Record<string, unknown> = {}) {
  const r = await req('POST', '/api/v1/products', {
    token: admin.token,
    body: { name: 'Cached thing', priceCents: 500, initialStock: 3, ...extra },
  })
  expect(r.status).toBe(201)
  return r.body as { id: string; priceCents: number }
}

describe('product cache over HTTP', () => {
  test('first read loads, second read is an in-process hit (no database load, no Redis round trip)', async () => {
    const p = await newProduct()
    expect(await delta('product', () => req('GET', `/api/v1/products/${p.id}`))).toEqual({ miss: 1, load: 1 })
    expect(await delta('product', () => req('GET', `/api/v1/products/${p.id}`))).toEqual({ local_hit: 1 })
    const ttl = await redis()!.pttl(productKey(p.id))
    expect(ttl).toBeGreaterThan(config.CACHE_TTL_SECONDS * 1000 * 0.9 - 1000)
    expect(ttl).toBeLessThanOrEqual(config.CACHE_TTL_SECONDS * 1000 * 1.1)
  })

  test('read after PATCH sees the new value (invalidated before the response)', async () => {
    const p = await newProduct()
    await req('GET', `/api/v1/products/${p.id}`)
    const patch = await req('PATCH', `/api/v1/products/${p.id}`, { token: admin.token, body: { priceCents: 777 } })
    expect(patch.status).toBe(200)
    const got = await req('GET', `/api/v1/products/${p.id}`)
    expect(got.body.priceCents).toBe(777)
  })

  test('stock change elsewhere + invalidateProduct → next read shows the new availability', async () => {
    const p = await newProduct()
    expect((await req('GET', `/api/v1/products/${p.id}`)).body.available).toBe(3)
    await db.execute(sql`update inventory set reserved = 2 where product_id = ${p.id}`)
    await invalidateProduct(p.id)
    expect((await req('GET', `/api/v1/products/${p.id}`)).body.available).toBe(1)
  })

  test('lists reuse product bodies: a stock change shows in a cached list page as soon as on the product page', async () => {
    const cat = (await req('POST', '/api/v1/categories', { token: admin.token, body: { name: `Cache list ${Bun.randomUUIDv7()}` } })).body
      .id
    const p = await newProduct({ categoryId: cat })
    const list = () => req('GET', `/api/v1/products?categoryId=${cat}`)
    expect((await list()).body.items[0].available).toBe(3)
    expect(await delta('search', () => list())).toMatchObject({ local_hit: 1 }) // the page itself is cached (in-process L1)
    expect(await delta('product', () => list())).toEqual({ local_hit: 1 }) // and so are the bodies it lists
    await db.execute(sql`update inventory set reserved = 3 where product_id = ${p.id}`)
    await invalidateProduct(p.id)
    expect((await list()).body.items[0].available).toBe(0)
  })

  test('delete → 404 immediately, and the 404 is cached (negative caching)', async () => {
    const p = await newProduct()
    await req('GET', `/api/v1/products/${p.id}`)
    expect((await req('DELETE', `/api/v1/products/${p.id}`, { token: admin.token })).status).toBe(204)
    expect(await delta('product', async () => expect((await req('GET', `/api/v1/products/${p.id}`)).status).toBe(404))).toEqual({
      miss: 1,
      load: 1,
    })
    expect(await delta('product', async () => expect((await req('GET', `/api/v1/products/${p.id}`)).status).toBe(404))).toEqual({ hit: 1 })
    const ttl = await redis()!.pttl(productKey(p.id))
    expect(ttl).toBeLessThanOrEqual(config.CACHE_NEGATIVE_TTL_SECONDS * 1100)
  })

  test('100 concurrent cold reads of one key → exactly one database load', async () => {
    const p = await newProduct()
    await invalidateProduct(p.id)
    const d = await delta('product', async () => {
      const rs = await Promise.all(Array.from({ length: 100 }, () => req('GET', `/api/v1/products/${p.id}`)))
      expect(rs.every((r) => r.status === 200 && r.body.id === p.id)).toBe(true)
    })
    expect(d.load).toBe(1)
    expect(d.stampede_suppressed).toBe(99)
  })
})

describe('CacheAside', () => {
  const mk = (name: string, extra: Partial<ConstructorParameters<typeof CacheAside<string>>[0]> = {}) =>
    new CacheAside<string>({ name, ttlSeconds: 60, negativeTtlSeconds: 5, ...extra })

  test('two instances (separate single-flight maps) share one load through the Redis lock', async () => {
    const a = mk('t-lock')
    const b = mk('t-lock')
    const k = key('t', 'lock', Bun.randomUUIDv7())
    let loads = 0
    const loader = async () => {
      loads++
      await Bun.sleep(60)
      return 'value'
    }
    const results = await Promise.all(Array.from({ length: 40 }, (_, i) => (i % 2 ? a : b).get(k, loader)))
    expect(results.every((r) => r === 'value')).toBe(true)
    expect(loads).toBe(1)
  })

  test('a lock holder that dies: waiters stop waiting after waitMs and load themselves', async () => {
    const c = mk('t-dead', { waitMs: 100, lockMs: 10_000 })
    const k = key('t', 'dead', Bun.randomUUIDv7())
    await redis()!.set(`${k}:lock`, 'someone-else', 'PX', 10_000)
    const t0 = performance.now()
    expect(await c.get(k, async () => 'mine')).toBe('mine')
    expect(performance.now() - t0).toBeGreaterThanOrEqual(90)
  })

  test('negative caching: null is cached, invalidation clears it', async () => {
    const c = mk('t-neg')
    const k = key('t', 'neg', Bun.randomUUIDv7())
    let loads = 0
    const loader = async () => {
      loads++
      return null
    }
    expect(await c.get(k, loader)).toBeNull()
    expect(await c.get(k, loader)).toBeNull()
    expect(loads).toBe(1)
    await c.invalidate(k)
    expect(await c.get(k, async () => 'now exists')).toBe('now exists')
  })

  test('stale-write race: loader reads the old row, writer invalidates, loader must not cache the old value', async () => {
    const c = mk('t-race')
    const k = key('t', 'race', Bun.randomUUIDv7())
    let row = 'old'
    let release!: () => void
    const gate = new Promise<void>((ok) => {
      release = ok
    })
    let calls = 0
    const loader = async () => {
      calls++
      const seen = row // the database read
      if (calls === 1) await gate // ...then the loader stalls before writing the cache
      return seen
    }
    const reading = c.get(k, loader)
    await Bun.sleep(20)
    row = 'new' // writer commits
    await c.invalidate(k) // ...and invalidates before responding
    release()
    // The caller that raced gets the new row (its fill was refused, it reloaded), and so does the cache.
    expect(await reading).toBe('new')
    expect(await redis()!.get(k)).toBe(JSON.stringify('new'))
    expect(await c.get(k, loader)).toBe('new')
  })

  test('reads after invalidate do not join a load that started before it', async () => {
    const c = mk('t-join')
    const k = key('t', 'join', Bun.randomUUIDv7())
    let row = 'old'
    const loader = async () => {
      const seen = row
      await Bun.sleep(50)
      return seen
    }
    const first = c.get(k, loader)
    await Bun.sleep(10)
    row = 'new'
    await c.invalidate(k)
    expect(await c.get(k, loader)).toBe('new')
    await first
  })

  test('TTL jitter stays within ±10 % and actually varies', () => {
    const ttls = Array.from({ length: 1000 }, () => jitteredTtlMs(300))
    expect(Math.min(...ttls)).toBeGreaterThanOrEqual(270_000)
    expect(Math.max(...ttls)).toBeLessThanOrEqual(330_000)
    expect(new Set(ttls).size).toBeGreaterThan(100)
  })

  test('a loader error is not cached and releases the lock', async () => {
    const c = mk('t-err')
    const k = key('t', 'err', Bun.randomUUIDv7())
    await expect(c.get(k, () => Promise.reject(new Error('db down')))).rejects.toThrow('db down')
    expect(await redis()!.exists(`${k}:lock`)).toBe(0)
    expect(await c.get(k, async () => 'ok')).toBe('ok')
  })
})

describe('NearCache (in-process L1)', () => {
  test('off until enabled; eviction spares what was read since (LRU); TTL expires entries', async () => {
    const n = new NearCache<string>(2, 40)
    expect(n.fill('a', '1', n.epoch)).toBe(false) // not enabled yet
    n.setEnabled(true)
    n.fill('a', '1', n.epoch)
    n.fill('b', '2', n.epoch)
    expect(n.get('a')).toBe('1') // a is now the most recent
    n.fill('c', '3', n.epoch)
    expect([n.get('a'), n.get('b'), n.get('c')]).toEqual(['1', undefined, '3'])
    n.fill('d', '4', n.epoch) // a and c were both read: one pass clears their flags, then one goes
    expect(n.size).toBe(2)
    expect(n.get('d')).toBe('4')
    await Bun.sleep(60)
    expect(n.get('a')).toBeUndefined()
  })

  test('a fill that overlapped an invalidation is refused; disabling clears everything', () => {
    const n = new NearCache<string>(10, 60_000)
    n.setEnabled(true)
    const before = n.epoch // a reader notes the epoch, then goes to Redis/Postgres…
    n.drop(['other']) // …an invalidation (of any key) arrives meanwhile…
    expect(n.fill('k', 'old', before)).toBe(false) // …so what it read may be old: not kept
    expect(n.fill('k', 'new', n.epoch)).toBe(true)
    n.setEnabled(false)
    expect(n.get('k')).toBeUndefined()
    n.setEnabled(true)
    expect(n.get('k')).toBeUndefined()
  })
})

describe('L1 invalidation across instances', () => {
  let a: ApiProcess
  let b: ApiProcess
  beforeAll(async () => {
    ;[a, b] = await Promise.all([startApi({ DATABASE_POOL_MAX: '2' }), startApi({ DATABASE_POOL_MAX: '2' })])
  })
  afterAll(async () => {
    await Promise.all([a?.stop(), b?.stop()])
  })
  const localHits = async (api: ApiProcess) => {
    const text = await (await fetch(`${api.url}/metrics`)).text()
    return Number(/cache_events_total\{cache="product",event="local_hit"\} (\d+)/.exec(text)?.[1] ?? 0)
  }

  test('B serves from its L1, A writes, the very next read on B has the new value (25 rounds)', async () => {
    const p = await newProduct()
    const hitsBefore = await localHits(b)
    for (let i = 0; i < 25; i++) {
      for (let j = 0; j < 2; j++) expect((await fetch(`${b.url}/api/v1/products/${p.id}`)).status).toBe(200)
      const patch = await fetch(`${a.url}/api/v1/products/${p.id}`, {
        method: 'PATCH',
        headers: { authorization: `Bearer ${admin.token}`, 'content-type': 'application/json' },
        body: JSON.stringify({ priceCents: 1000 + i }),
      })
      expect(patch.status).toBe(200)
      const got = (await (await fetch(`${b.url}/api/v1/products/${p.id}`)).json()) as { priceCents: number }
      expect(got.priceCents).toBe(1000 + i)
    }
    // The reads really were served from B's memory (else this test would prove nothing about the L1).
    expect((await localHits(b)) - hitsBefore).toBeGreaterThanOrEqual(25)
  }, 30_000)

  test('invalidate waits for every receiver: a subscriber that never acknowledges costs the timeout and is counted', async () => {
    const silent = new Redis(redisUrl() as string)
    try {
      await silent.subscribe(invalidationChannel())
      const p = await newProduct()
      const timeouts = async () => (await registry.getSingleMetric('cache_invalidation_ack_timeouts_total')?.get())?.values[0]?.value ?? 0
      const before = await timeouts()
      const t0 = performance.now()
      await invalidateProduct(p.id)
      expect(performance.now() - t0).toBeGreaterThanOrEqual(200)
      expect((await timeouts()) - before).toBe(1)
    } finally {
      await silent.unsubscribe() // acknowledged by Redis: the next PUBLISH no longer counts it
      silent.disconnect()
    }
    // With only acknowledging instances left, an invalidation is quick again.
    const t1 = performance.now()
    await invalidateProduct(Bun.randomUUIDv7())
    expect(performance.now() - t1).toBeLessThan(200)
  })

  test('a dropped bus connection clears the L1 (messages may have been lost) and it comes back', async () => {
    const p = await newProduct()
    await req('GET', `/api/v1/products/${p.id}`)
    expect(await delta('product', () => req('GET', `/api/v1/products/${p.id}`))).toEqual({ local_hit: 1 })
    const clients = (await redis()!.client('LIST')) as string
    const line = clients.split('\n').find((l) => l.includes(`name=stampede-subscriber-${process.pid} `))
    const id = /id=(\d+)/.exec(line ?? '')?.[1]
    expect(id).toBeDefined()
    await redis()!.client('KILL', 'ID', id as string)
    for (let i = 0; i < 100 && (await productCache.startNear(0)); i++) await Bun.sleep(2)
    expect(await productCache.startNear()).toBe(true) // resubscribed
    expect(await delta('product', () => req('GET', `/api/v1/products/${p.id}`))).toEqual({ hit: 1 })
  })
})

describe('Redis outage', () => {
  let redisProc: Bun.Subprocess | null = null
  let api: ApiProcess | null = null
  afterAll(async () => {
    await api?.stop()
    redisProc?.kill()
  })

  test('Redis stopped → reads and writes still 200 (read-through to Postgres)', async () => {
    const port = freePort()
    redisProc = Bun.spawn(['redis-server', '--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'], {
      stdout: 'ignore',
      stderr: 'ignore',
    })
    for (let i = 0; i < 50 && !(await tcpReachable('127.0.0.1', port)); i++) await Bun.sleep(50)
    // A small pool: other suites on this shared Postgres may be near max_connections.
    api = await startApi({ REDIS_URL: `redis://127.0.0.1:${port}`, REDIS_PREFIX: `${config.REDIS_PREFIX}-outage`, DATABASE_POOL_MAX: '3' })
    const p = await newProduct()
    const get = (id: string) => fetch(`${api!.url}/api/v1/products/${id}`)
    const warm = await get(p.id)
    expect(warm.status).toBe(200)
    expect((await get(p.id)).status).toBe(200)

    redisProc.kill()
    await redisProc.exited
    for (let i = 0; i < 5; i++) {
      const r = await get(p.id)
      expect(r.status).toBe(200)
      expect(((await r.json()) as { id: string }).id).toBe(p.id)
    }
    // A write through the Redis-less instance, then a read: the new value, not an error.
    const patch = await fetch(`${api.url}/api/v1/products/${p.id}`, {
      method: 'PATCH',
      headers: { authorization: `Bearer ${admin.token}`, 'content-type': 'application/json' },
      body: JSON.stringify({ priceCents: 4242 }),
    })
    expect(patch.status).toBe(200)
    expect(((await (await get(p.id)).json()) as { priceCents: number }).priceCents).toBe(4242)
    const list = await fetch(`${api.url}/api/v1/products?limit=5`)
    expect(list.status).toBe(200)
    const featured = await fetch(`${api.url}/api/v1/products/featured`)
    expect(featured.status).toBe(200)
  }, 30_000)
})
