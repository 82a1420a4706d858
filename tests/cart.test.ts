// Cart: a Redis hash per user with sliding expiry, live prices and availability; and what happens
// when Redis is down (a real API process pointed at a dead Redis): cart 503, /pay 503 with no
// payment row, while checkout with explicit items still works (Postgres is the fence).
import { afterAll, beforeAll, describe, expect, test } from 'bun:test'
import { eq } from 'drizzle-orm'
import { payments, products } from '../db/schema'
import { config } from '../src/config'
import { db } from '../src/infra/db'
import { key, redis } from '../src/infra/redis'
import { type ApiProcess, createUser, freePort, req, startApi } from './helpers'
import { newKey, order, productWithStock } from './orders-fixtures'

describe('cart', () => {
  test('add, update, remove, clear; current prices and availability; sliding expiry', async () => {
    const u = await createUser()
    const a = await productWithStock(3)
    const b = await productWithStock(10)
    expect((await req('GET', '/api/v1/cart', { token: u.token })).body).toEqual({ items: [], totalCents: 0, currency: null })

    const put = (id: string, quantity: number) => req('PUT', `/api/v1/cart/items/${id}`, { token: u.token, body: { quantity } })
    expect((await put(a, 5)).status).toBe(200)
    const r = await put(b, 1)
    expect(r.status).toBe(200)
    const lineA = r.body.items.find((i: { productId: string }) => i.productId === a)
    expect(lineA).toMatchObject({ quantity: 5, available: 3, inStock: false, currency: 'USD' })
    expect(r.body.totalCents).toBe(r.body.items.reduce((s: number, i: { lineTotalCents: number }) => s + i.lineTotalCents, 0))
    const ttl = await redis()!.ttl(key('cart', u.id))
    expect(ttl).toBeGreaterThan(config.CART_TTL_SECONDS - 10)

    // Prices are live: a price change shows up in the cart.
    await db.update(products).set({ priceCents: 777 }).where(eq(products.id, b))
    const live = await req('GET', '/api/v1/cart', { token: u.token })
    expect(live.body.items.find((i: { productId: string }) => i.productId === b).unitPriceCents).toBe(777)

    expect((await put(a, 2)).body.items.find((i: { productId: string }) => i.productId === a)).toMatchObject({ quantity: 2, inStock: true })
    expect((await put(a, 0)).body.items.map((i: { productId: string }) => i.productId)).toEqual([b])
    expect((await req('DELETE', `/api/v1/cart/items/${b}`, { token: u.token })).body.items).toEqual([])
    await put(a, 1)
    expect((await req('DELETE', '/api/v1/cart', { token: u.token })).status).toBe(204)
    expect((await req('GET', '/api/v1/cart', { token: u.token })).body.items).toEqual([])
  })

  test('validation: unknown product 404, bad quantities 422, malformed id 422, no token 401', async () => {
    const u = await createUser()
    const a = await productWithStock(3)
    const put = (id: string, body: unknown) => req('PUT', `/api/v1/cart/items/${id}`, { token: u.token, body })
    const unknown = await put(Bun.randomUUIDv7(), { quantity: 1 })
    expect(unknown.status).toBe(404)
    expect(unknown.headers.get('content-type')).toContain('application/problem+json')
    for (const [i, body] of [{ quantity: -1 }, { quantity: 101 }, { quantity: 1.5 }, {}, { quantity: 1e12 }].entries()) {
      expect([i, (await put(a, body)).status]).toEqual([i, 422])
    }
    expect((await put('not-a-uuid', { quantity: 1 })).status).toBe(422)
    expect((await req('GET', '/api/v1/cart')).status).toBe(401)
  })

  test('a cart holds at most 50 products', async () => {
    const u = await createUser()
    const ids = await Promise.all(Array.from({ length: 51 }, () => productWithStock(1)))
    const k = key('cart', u.id)
    await redis()!.hset(k, Object.fromEntries(ids.slice(0, 50).map((id) => [id, '1'])))
    const r = await req('PUT', `/api/v1/cart/items/${ids[50]}`, { token: u.token, body: { quantity: 1 } })
    expect(r.status).toBe(422)
    expect(r.body.errors[0].field).toBe('productId')
    // Changing a line already in the cart is fine.
    expect((await req('PUT', `/api/v1/cart/items/${ids[0]}`, { token: u.token, body: { quantity: 2 } })).status).toBe(200)
  })

  test('checkout fromCart with an empty cart → 422', async () => {
    const u = await createUser()
    const r = await req('POST', '/api/v1/orders', { token: u.token, body: { fromCart: true }, headers: { 'idempotency-key': newKey() } })
    expect(r.status).toBe(422)
    expect(r.body.errors[0].field).toBe('fromCart')
  })
})

describe('Redis down', () => {
  let api: ApiProcess
  beforeAll(async () => {
    // A Redis URL nothing listens on: the process runs degraded from the start.
    api = await startApi({ REDIS_URL: `redis://127.0.0.1:${freePort()}`, JOBS_ENABLED: 'false', DATABASE_POOL_MAX: '4' })
  })
  afterAll(async () => {
    await api?.stop()
  })

  const call = async (method: string, path: string, token: string, body?: unknown, headers: Record<string, string> = {}) => {
    const res = await fetch(`${api.url}${path}`, {
      method,
      headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json', ...headers },
      body: body === undefined ? undefined : JSON.stringify(body),
    })
    return { status: res.status, body: (await res.json().catch(() => null)) as Record<string, unknown> }
  }

  test('cart → 503 dependency_unavailable; checkout with items still works; /pay → 503 and no payment row', async () => {
    const u = await createUser()
    const a = await productWithStock(5)
    const cart = await call('GET', '/api/v1/cart', u.token)
    expect(cart.status).toBe(503)
    expect(cart.body.code).toBe('dependency_unavailable')
    expect((await call('PUT', `/api/v1/cart/items/${a}`, u.token, { quantity: 1 })).status).toBe(503)

    const o = await call('POST', '/api/v1/orders', u.token, { items: [{ productId: a, quantity: 1 }] }, { 'idempotency-key': newKey() })
    expect(o.status).toBe(201)
    const key = newKey()
    const p = await call('POST', `/api/v1/orders/${o.body.id}/pay`, u.token, { paymentMethod: 'pm_card_ok' }, { 'idempotency-key': key })
    expect(p.status).toBe(503)
    expect(
      await db
        .select()
        .from(payments)
        .where(eq(payments.orderId, String(o.body.id))),
    ).toHaveLength(0)
    // The key was released (5xx): the same request may be retried (and fails the same way here).
    expect(
      (await call('POST', `/api/v1/orders/${o.body.id}/pay`, u.token, { paymentMethod: 'pm_card_ok' }, { 'idempotency-key': key })).status,
    ).toBe(503)
    expect((await order(u.token, [{ productId: a, quantity: 1 }])).status).toBe(201)
  }, 30_000)
})
