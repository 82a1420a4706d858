// Recommendations against real Postgres and Redis: the co-occurrence model (normalised score, min
// support), exclusions, cold start, per-user cache invalidation, Redis loss → Postgres, the
// idempotent incremental update, and the deterministic seed (in throwaway databases of its own).
import { afterAll, beforeAll, describe, expect, test } from 'bun:test'
import postgres from 'postgres'
import { runMigrations } from '../db/migrate'
import { COMPLETED_ORDER_STATUSES } from '../db/schema'
import { SeedRefused, seed } from '../db/seed'
import { sql } from '../src/infra/db'
import { deleteByPrefix, key, redis } from '../src/infra/redis'
import { countInProcess, onOrderPaid, rebuildRecommendations } from '../src/modules/recommendations/service'
import { readNeighbours } from '../src/modules/recommendations/store'
import { createUser, freePort, req, startApi } from './helpers'

const uuid = () => Bun.randomUUIDv7()

async function product(opts: { stock?: number; deleted?: boolean } = {}): Promise<string> {
  const id = uuid()
  await sql`insert into products (id, name, price_cents, currency, deleted_at)
    values (${id}, ${`Recs test ${id.slice(-6)}`}, 1999, 'USD', ${opts.deleted ? new Date().toISOString() : null})`
  await sql`insert into inventory (product_id, on_hand) values (${id}, ${opts.stock ?? 100})`
  return id
}

async function order(userId: string, productIds: string[], status = 'delivered'): Promise<string> {
  const id = uuid()
  await sql.begin(async (tx) => {
    await tx`insert into orders (id, user_id, status, total_cents, currency, reservation_expires_at)
      values (${id}, ${userId}, ${status}, ${1999 * productIds.length}, 'USD', now())`
    for (const p of productIds)
      await tx`insert into order_items (order_id, product_id, quantity, unit_price_cents) values (${id}, ${p}, 1, 1999)`
  })
  return id
}

async function neighboursInDb(productId: string): Promise<{ neighbour_id: string; support: number; rank: number }[]> {
  return sql`select neighbour_id, support, rank from product_neighbours where product_id = ${productId} order by rank`
}

// The fixture: A–B is a planted pair (B is a niche product bought almost only with A); Best is a
// best-seller that shares even MORE orders with A than B does — raw counts would pick it, cosine
// must not. D (deleted) and O (out of stock) are strong neighbours of A that must never be served.
// X–Y share 2 orders (below min support 3), Z–W exactly 3.
const f = {} as Record<'A' | 'B' | 'Best' | 'D' | 'O' | 'X' | 'Y' | 'Z' | 'W', string> & { fillers: string[]; buyer: string }

beforeAll(async () => {
  for (const k of ['A', 'B', 'Best', 'X', 'Y', 'Z', 'W'] as const) f[k] = await product()
  f.D = await product({ deleted: true })
  f.O = await product({ stock: 0 })
  f.fillers = await Promise.all(Array.from({ length: 30 }, () => product()))
  const u = (await createUser()).id
  f.buyer = u
  const filler = (i: number) => f.fillers[i % f.fillers.length] as string
  for (let i = 0; i < 12; i++) await order(u, [f.A, f.B]) // A–B: 12 shared orders, B sold 12 times
  for (let i = 0; i < 15; i++) await order(u, [f.A, f.Best]) // A–Best: 15 shared orders…
  for (let i = 0; i < 200; i++) await order(u, [f.Best, filler(i), filler(i + 7)]) // …but Best is everywhere
  for (let i = 0; i < 10; i++) await order(u, [f.A, f.D, f.O])
  for (let i = 0; i < 2; i++) await order(u, [f.X, f.Y])
  for (let i = 0; i < 3; i++) await order(u, [f.Z, f.W])
  for (let i = 0; i < 5; i++) await order(u, [f.A, f.B], 'cancelled') // not completed: must not count
  expect((await rebuildRecommendations()).redis).toBe(true)
}, 60_000)

describe('co-occurrence model', () => {
  test('a planted pair beats a best-seller with more raw co-purchases (normalised score)', async () => {
    const n = await neighboursInDb(f.A)
    expect(n[0]?.neighbour_id).toBe(f.B)
    expect(n[0]?.support).toBe(12) // cancelled orders are not counted
    const best = n.find((x) => x.neighbour_id === f.Best)
    expect(best?.support).toBe(15)
    expect(best?.rank).toBeGreaterThan(1)
  })

  test('minimum support filters pairs seen in fewer than RECS_MIN_SUPPORT orders', async () => {
    expect(await neighboursInDb(f.X)).toEqual([])
    expect((await neighboursInDb(f.Z)).map((x) => x.neighbour_id)).toEqual([f.W])
  })

  test('Redis holds the same neighbours as Postgres', async () => {
    const members = await redis()?.zrange(key('cooccurrence', f.A), 0, -1)
    expect(members?.sort()).toEqual((await neighboursInDb(f.A)).map((x) => x.neighbour_id).sort())
    const viaRead = (await readNeighbours([f.A])).get(f.A)?.map((x) => x.id)
    expect(viaRead).toEqual((await neighboursInDb(f.A)).map((x) => x.neighbour_id))
  })
})

describe('GET /products/:id/also-bought', () => {
  test('excludes the product itself, deleted and out-of-stock products, and enriches summaries', async () => {
    expect((await neighboursInDb(f.A)).map((x) => x.neighbour_id)).toEqual(expect.arrayContaining([f.D, f.O]))
    const res = await req('GET', `/api/v1/products/${f.A}/also-bought?limit=10`)
    expect(res.status).toBe(200)
    const ids = res.body.items.map((x: { id: string }) => x.id)
    expect(ids[0]).toBe(f.B)
    expect(ids).toContain(f.Best)
    expect(ids).not.toContain(f.A)
    expect(ids).not.toContain(f.D)
    expect(ids).not.toContain(f.O)
    expect(res.body.items[0]).toMatchObject({ id: f.B, priceCents: 1999, currency: 'USD', available: 100 })
    expect(res.body.items[0].score).toBeGreaterThan(0)
  })

  test('limit is honoured', async () => {
    const res = await req('GET', `/api/v1/products/${f.A}/also-bought?limit=1`)
    expect(res.body.items).toHaveLength(1)
  })

  test('unknown or deleted product → 404, malformed id and bad limit → 422 problem+json', async () => {
    expect((await req('GET', `/api/v1/products/${uuid()}/also-bought`)).status).toBe(404)
    expect((await req('GET', `/api/v1/products/${f.D}/also-bought`)).status).toBe(404)
    const bad = await req('GET', '/api/v1/products/not-a-uuid/also-bought')
    expect(bad.status).toBe(422)
    expect(bad.headers.get('content-type')).toContain('application/problem+json')
    for (const limit of ['0', '31', 'abc']) {
      const r = await req('GET', `/api/v1/products/${f.A}/also-bought?limit=${limit}`)
      expect(r.status).toBe(422)
      expect(JSON.stringify(r.body.errors)).toContain('limit')
    }
  })

  test('Redis keys lost → served from Postgres, and Redis is repopulated', async () => {
    const r = redis()
    if (!r) throw new Error('tests need Redis')
    await deleteByPrefix(r, key('cooccurrence'))
    expect(await r.exists(key('cooccurrence', f.A))).toBe(0)
    const res = await req('GET', `/api/v1/products/${f.A}/also-bought`)
    expect(res.status).toBe(200)
    expect(res.body.items[0].id).toBe(f.B)
    expect(await r.zrevrange(key('cooccurrence', f.A), 0, 0)).toEqual([f.B])
  })
})

test('Redis unreachable: a real API process serves both routes from Postgres', async () => {
  const api = await startApi({ REDIS_URL: `redis://127.0.0.1:${freePort()}` })
  try {
    const res = await fetch(`${api.url}/api/v1/products/${f.A}/also-bought?limit=3`)
    expect(res.status).toBe(200)
    expect(((await res.json()) as { items: { id: string }[] }).items[0]?.id).toBe(f.B)
    const u = await createUser()
    await order(u.id, [f.A])
    const mine = await fetch(`${api.url}/api/v1/recommendations`, { headers: { authorization: `Bearer ${u.token}` } })
    expect(mine.status).toBe(200)
    expect(((await mine.json()) as { items: { id: string }[] }).items[0]?.id).toBe(f.B)
  } finally {
    await api.stop()
  }
}, 30_000)

describe('GET /recommendations', () => {
  test('needs a signed-in user', async () => {
    expect((await req('GET', '/api/v1/recommendations')).status).toBe(401)
  })

  test('cold start: a new customer gets best sellers', async () => {
    const u = await createUser()
    const res = await req('GET', '/api/v1/recommendations?limit=5', { token: u.token })
    expect(res.status).toBe(200)
    expect(res.body.items).toHaveLength(5)
    expect(res.body.items.every((x: { reason: string }) => x.reason === 'popular')).toBe(true)
    const [top] = await sql<{ product_id: string }[]>`select product_id from product_popularity order by rank limit 1`
    expect(top?.product_id).toBe(f.Best)
    expect(res.body.items[0].id).toBe(f.Best)
  })

  test('neighbours of past purchases, never what was bought; cache invalidated by a purchase', async () => {
    const u = await createUser()
    await order(u.id, [f.A])
    const first = await req('GET', '/api/v1/recommendations?limit=10', { token: u.token })
    expect(first.status).toBe(200)
    const ids = first.body.items.map((x: { id: string }) => x.id)
    expect(ids[0]).toBe(f.B)
    expect(first.body.items[0].reason).toBe('bought_together')
    expect(ids).not.toContain(f.A)
    expect(ids).not.toContain(f.D)
    expect(ids).not.toContain(f.O)
    const cacheKey = key('recommendations', u.id)
    expect(await redis()?.exists(cacheKey)).toBe(1)
    const ttl = (await redis()?.ttl(cacheKey)) ?? 0
    expect(ttl).toBeGreaterThan(0)

    // Served from the cache until the user buys: a purchase made behind the service's back is not seen…
    const b = await order(u.id, [f.B], 'paid')
    expect((await req('GET', '/api/v1/recommendations?limit=10', { token: u.token })).body.items[0].id).toBe(f.B)
    // …and the order.paid hook invalidates it.
    await onOrderPaid(b)
    expect(await redis()?.exists(cacheKey)).toBe(0)
    const after = await req('GET', '/api/v1/recommendations?limit=10', { token: u.token })
    const afterIds = after.body.items.map((x: { id: string }) => x.id)
    expect(afterIds).not.toContain(f.B)
    expect(afterIds).not.toContain(f.A)
  })

  test('limit bounds → 422', async () => {
    const u = await createUser()
    expect((await req('GET', '/api/v1/recommendations?limit=51', { token: u.token })).status).toBe(422)
  })
})

describe('incremental update (order.paid)', () => {
  test('folds a paid order in, exactly once even when called concurrently', async () => {
    const [p, q] = [await product(), await product()]
    const u = await createUser()
    for (let i = 0; i < 2; i++) await order(u.id, [p, q])
    await rebuildRecommendations()
    expect(await neighboursInDb(p)).toEqual([]) // support 2 < 3

    const third = await order(u.id, [p, q], 'paid')
    const results = await Promise.all([onOrderPaid(third), onOrderPaid(third), onOrderPaid(third)])
    expect(results.filter((r) => r.applied)).toHaveLength(1)
    expect(await neighboursInDb(p)).toEqual([{ neighbour_id: q, support: 3, rank: 1 }])
    expect(await neighboursInDb(q)).toEqual([{ neighbour_id: p, support: 3, rank: 1 }])
    expect(await redis()?.zrevrange(key('cooccurrence', p), 0, -1)).toEqual([q])

    expect((await onOrderPaid(third)).applied).toBe(false)
    expect(await neighboursInDb(p)).toEqual([{ neighbour_id: q, support: 3, rank: 1 }])
    // The hourly rebuild agrees with the incremental result.
    await rebuildRecommendations()
    expect(await neighboursInDb(p)).toEqual([{ neighbour_id: q, support: 3, rank: 1 }])
  })

  test('orders that are not completed are ignored', async () => {
    const [p, q] = [await product(), await product()]
    const u = await createUser()
    const pending = await order(u.id, [p, q], 'pending_payment')
    expect(await onOrderPaid(pending)).toEqual({ applied: false, products: 0 })
    expect(await onOrderPaid(uuid())).toEqual({ applied: false, products: 0 })
  })

  test('the in-SQL strategy computes the same neighbours as the streaming one', async () => {
    await rebuildRecommendations({ strategy: 'sql' })
    const viaSql = await neighboursInDb(f.A)
    await rebuildRecommendations({ strategy: 'stream', batchOrders: 100 }) // many small keyset pages
    expect(await neighboursInDb(f.A)).toEqual(viaSql)
  })
})

// --- the seed, in throwaway databases so it can insist on emptiness -------------------------------
describe('db:seed', () => {
  const server = process.env.TEST_SERVER_DATABASE_URL ?? (process.env.DATABASE_URL as string)
  const base = new URL(process.env.DATABASE_URL as string).pathname.slice(1)
  const made: string[] = []
  const admin = postgres(server, { max: 1, onnotice: () => {} })
  const open = async (suffix: string) => {
    const name = `${base}_${suffix}`
    await admin.unsafe(`create database "${name}"`)
    made.push(name)
    const u = new URL(server)
    u.pathname = `/${name}`
    await runMigrations(u.toString())
    return postgres(u.toString(), { max: 2, onnotice: () => {} })
  }
  const clients: postgres.Sql[] = []
  afterAll(async () => {
    for (const c of clients) await c.end()
    for (const name of made) await admin.unsafe(`drop database if exists "${name}" with (force)`)
    await admin.end()
  }, 30_000)

  const opts = { products: 300, categories: 24, users: 80, orders: 3000, seed: 7, now: new Date('2026-01-01T00:00:00Z') }
  const dump = async (db: postgres.Sql) => ({
    products: await db`select id, name, price_cents, category_id, deleted_at from products order by id`,
    users: await db`select id, email, name from users order by id`,
    orders: await db`select id, user_id, status, total_cents, created_at from orders order by id`,
    items: await db`select order_id, product_id, quantity, unit_price_cents from order_items order by order_id, product_id`,
    stock: await db`select product_id, on_hand from inventory order by product_id`,
  })

  test('same seed → same data; planted pairs are recovered as top neighbours', async () => {
    const [a, b, c] = [await open('seed_a'), await open('seed_b'), await open('seed_c')]
    clients.push(a, b, c)
    const ra = await seed(a, opts, 'test')
    const rb = await seed(b, opts, 'test')
    await seed(c, { ...opts, seed: 8 }, 'test')
    expect(ra.orders).toBe(3000)
    expect(ra.lines).toBeGreaterThan(6000)
    expect(ra.plantedPairs).toEqual(rb.plantedPairs)
    const [da, db, dc] = [await dump(a), await dump(b), await dump(c)]
    expect(da).toEqual(db)
    expect(dc.orders).not.toEqual(da.orders)

    // The production counting code over the seeded orders finds the planted partners.
    const model = await countInProcess({ measure: 'cosine', k: 10, minSupport: 3 }, 1000, a)
    const completed = await a`select count(*)::int as n from orders where status in ${a(COMPLETED_ORDER_STATUSES)}`
    expect(model.orders).toBe(completed[0]?.n)
    const found = ra.plantedPairs.filter(([x, y]) => model.lists.get(x)?.some((n) => n.id === y)).length
    expect(found / ra.plantedPairs.length).toBeGreaterThanOrEqual(0.8)
  }, 60_000)

  test('refuses a non-empty database without --reset, and --reset in production', async () => {
    const d = await open('seed_d')
    clients.push(d)
    const small = { ...opts, products: 20, users: 5, orders: 20 }
    await seed(d, small, 'test')
    await expect(seed(d, small, 'test')).rejects.toBeInstanceOf(SeedRefused)
    await expect(seed(d, { ...small, reset: true }, 'production')).rejects.toBeInstanceOf(SeedRefused)
    const r = await seed(d, { ...small, reset: true }, 'test')
    expect(r.products).toBe(20)
    expect((await d`select count(*)::int as n from products`)[0]?.n).toBe(20)
  }, 60_000)
})
