// Flash-sale events (issue 21) through the real routes, in process: admin CRUD and cancel, the
// polled view (status, remaining, serverTime, ETag), every answer of POST /sales/:id/orders, the
// per-customer limit under one buyer's concurrent requests, expiry back to the pool, the end of
// the sale back to the product, payment of a sale order, and the ledger after each.
import { describe, expect, test } from 'bun:test'
import { checkInventory } from '../scripts/inventory-check'
import { sql } from '../src/infra/db'
import { expireOverdueOrders } from '../src/modules/orders/service'
import { settlePaymentSuccess } from '../src/modules/orders/settlement'
import { sweepSales } from '../src/modules/sales/service'
import { createUser, req } from './helpers'
import { newKey, pay, stock } from './orders-fixtures'
import { buyersOf, createSale, endNow, openNow, pool, saleOrder } from './sales-fixtures'

async function ledgerClean() {
  const report = await checkInventory(sql)
  expect(report.mismatches).toEqual([])
}

describe('admin', () => {
  test('create moves the units out of sellable stock; 409 when lacking; 422 bad window; customers 403', async () => {
    const s = await createSale({ stock: 50, units: 20 })
    expect(await stock(s.productId)).toEqual({ onHand: 50, reserved: 20 })
    const inv = await req('GET', `/api/v1/inventory/${s.productId}`)
    expect(inv.body.available).toBe(30)
    const admin = await createUser('admin')
    const base = { productId: s.productId, salePriceCents: 100, perCustomerLimit: 1 }
    const future = (ms: number) => new Date(Date.now() + ms).toISOString()
    const lacking = await req('POST', '/api/v1/admin/sales', {
      token: admin.token,
      body: { ...base, units: 31, startsAt: future(60_000), endsAt: future(120_000) },
    })
    expect(lacking.status).toBe(409)
    expect(lacking.body.code).toBe('out_of_stock')
    const backwards = await req('POST', '/api/v1/admin/sales', {
      token: admin.token,
      body: { ...base, units: 1, startsAt: future(60_000), endsAt: future(30_000) },
    })
    expect(backwards.status).toBe(422)
    expect(backwards.body.errors[0].field).toBe('endsAt')
    const customer = await createUser('customer')
    expect((await req('GET', '/api/v1/admin/sales', { token: customer.token })).status).toBe(403)
    const list = await req('GET', '/api/v1/admin/sales', { token: admin.token })
    expect(list.body.items.some((x: { id: string }) => x.id === s.id)).toBe(true)
    const one = await req('GET', `/api/v1/admin/sales/${s.id}`, { token: admin.token })
    expect(one.body).toMatchObject({ id: s.id, units: 20, held: 0, sold: 0, returned: 0, perCustomerLimit: 1, status: 'scheduled' })
    await ledgerClean()
  })

  test('PATCH reschedules before the start and raises units; lowering → 422; cancel gives units back, then 410', async () => {
    const s = await createSale({ stock: 40, units: 10 })
    const admin = await createUser('admin')
    const startsAt = new Date(Date.now() + 120_000).toISOString()
    const endsAt = new Date(Date.now() + 240_000).toISOString()
    const moved = await req('PATCH', `/api/v1/admin/sales/${s.id}`, { token: admin.token, body: { startsAt, endsAt, units: 15 } })
    expect(moved.status).toBe(200)
    expect(moved.body).toMatchObject({ startsAt, endsAt, units: 15, remaining: 15 })
    expect(await stock(s.productId)).toEqual({ onHand: 40, reserved: 15 })
    const lower = await req('PATCH', `/api/v1/admin/sales/${s.id}`, { token: admin.token, body: { units: 5 } })
    expect(lower.status).toBe(422)
    expect(lower.body.errors[0].field).toBe('units')
    const cancelled = await req('POST', `/api/v1/admin/sales/${s.id}/cancel`, { token: admin.token })
    expect(cancelled.status).toBe(200)
    expect(cancelled.body).toMatchObject({ status: 'cancelled', remaining: 0, returned: 15 })
    expect(await stock(s.productId)).toEqual({ onHand: 40, reserved: 0 })
    expect((await req('POST', `/api/v1/admin/sales/${s.id}/cancel`, { token: admin.token })).status).toBe(409)
    const buyer = await createUser('customer')
    const gone = await saleOrder(buyer.token, s.id)
    expect(gone.status).toBe(410)
    expect(gone.body.code).toBe('sale_ended')
    expect((await req('GET', `/api/v1/sales/${s.id}`)).body.status).toBe('cancelled')
    await ledgerClean()
  })

  test('a started sale cannot be rescheduled (409 sale_started)', async () => {
    const s = await createSale()
    await openNow(s.id)
    const admin = await createUser('admin')
    const r = await req('PATCH', `/api/v1/admin/sales/${s.id}`, {
      token: admin.token,
      body: { startsAt: new Date(Date.now() + 60_000).toISOString() },
    })
    expect(r.status).toBe(409)
    expect(r.body.code).toBe('sale_started')
  })
})

describe('public views', () => {
  test('GET /sales/:id: status, remaining, serverTime; ETag → 304; short cache; 404 unknown; listed', async () => {
    const s = await createSale({ units: 7 })
    const r = await req('GET', `/api/v1/sales/${s.id}`)
    expect(r.status).toBe(200)
    expect(r.body).toMatchObject({ id: s.id, status: 'scheduled', remaining: 7, salePriceCents: 500 })
    expect(r.body.product.id).toBe(s.productId)
    expect(Math.abs(Date.parse(r.body.serverTime) - Date.now())).toBeLessThan(5000)
    expect(r.headers.get('cache-control')).toBe('public, max-age=1')
    const etag = r.headers.get('etag') as string
    expect(etag).toMatch(/^W\//)
    const again = await req('GET', `/api/v1/sales/${s.id}`, { headers: { 'if-none-match': etag } })
    expect(again.status).toBe(304)
    await openNow(s.id)
    const live = await req('GET', `/api/v1/sales/${s.id}`, { headers: { 'if-none-match': etag } })
    expect(live.status).toBe(200)
    expect(live.body.status).toBe('live')
    expect((await req('GET', `/api/v1/sales/${Bun.randomUUIDv7()}`)).status).toBe(404)
    expect((await req('GET', '/api/v1/sales/not-a-uuid')).status).toBe(422)
    const list = await req('GET', '/api/v1/sales')
    expect(list.body.items.some((x: { id: string }) => x.id === s.id)).toBe(true)
  })
})

describe('POST /sales/:id/orders', () => {
  test('425 with Retry-After before the start, 404 unknown, 400 without a key', async () => {
    const s = await createSale({ startsInMs: 30_000 })
    const u = await createUser('customer')
    const early = await saleOrder(u.token, s.id)
    expect(early.status).toBe(425)
    expect(early.body.code).toBe('sale_not_started')
    expect(early.headers.get('content-type')).toContain('application/problem+json')
    const wait = Number(early.headers.get('retry-after'))
    expect(wait).toBeGreaterThanOrEqual(29)
    expect(wait).toBeLessThanOrEqual(31)
    expect((await saleOrder(u.token, Bun.randomUUIDv7())).status).toBe(404)
    const noKey = await req('POST', `/api/v1/sales/${s.id}/orders`, { token: u.token, body: { quantity: 1 } })
    expect(noKey.status).toBe(400)
    expect((await pool(s.id))?.held).toBe(0)
  })

  test('201 at the sale price; 409 per_customer_limit; 409 sold_out; a replay still gets its 201', async () => {
    const s = await createSale({ units: 2, limit: 1, price: 123 })
    await openNow(s.id)
    const a = await createUser('customer')
    const b = await createUser('customer')
    const c = await createUser('customer')
    const key = newKey()
    const first = await saleOrder(a.token, s.id, 1, key)
    expect(first.status).toBe(201)
    expect(first.body).toMatchObject({
      status: 'pending_payment',
      totalCents: 123,
      items: [{ productId: s.productId, quantity: 1, unitPriceCents: 123 }],
    })
    expect(first.headers.get('location')).toBe(`/api/v1/orders/${first.body.id}`)
    const limit = await saleOrder(a.token, s.id)
    expect(limit.status).toBe(409)
    expect(limit.body.code).toBe('per_customer_limit')
    const tooMany = await saleOrder(c.token, s.id, 2)
    expect(tooMany.body.code).toBe('per_customer_limit')
    expect((await saleOrder(b.token, s.id)).status).toBe(201)
    const out = await saleOrder(c.token, s.id)
    expect(out.status).toBe(409)
    expect(out.body.code).toBe('sold_out')
    // Answered from the local flag now; a retry of a request that ran still replays its 201.
    expect((await saleOrder(c.token, s.id)).body.code).toBe('sold_out')
    const replay = await saleOrder(a.token, s.id, 1, key)
    expect(replay.status).toBe(201)
    expect(replay.body.id).toBe(first.body.id)
    const view = await req('GET', `/api/v1/sales/${s.id}`)
    expect(view.body).toMatchObject({ status: 'sold_out', remaining: 0 })
    expect(await pool(s.id)).toMatchObject({ units: 2, held: 2, sold: 0 })
    await ledgerClean()
  })

  test("limit 2: one buyer's 10 concurrent requests → exactly 2 units", async () => {
    const s = await createSale({ units: 20, limit: 2 })
    await openNow(s.id)
    const u = await createUser('customer')
    const res = await Promise.all(Array.from({ length: 10 }, () => saleOrder(u.token, s.id)))
    expect(res.filter((r) => r.status === 201)).toHaveLength(2)
    expect(res.filter((r) => r.status === 409 && r.body.code === 'per_customer_limit')).toHaveLength(8)
    expect((await buyersOf(s.id)).get(u.id)).toBe(2)
    expect((await pool(s.id))?.held).toBe(2)
    await ledgerClean()
  })

  test('an unpaid order that expires during the sale returns its unit to the pool, and it sells again', async () => {
    const s = await createSale({ units: 1, limit: 1 })
    await openNow(s.id)
    const a = await createUser('customer')
    const b = await createUser('customer')
    const first = await saleOrder(a.token, s.id)
    expect(first.status).toBe(201)
    expect((await saleOrder(b.token, s.id)).body.code).toBe('sold_out')
    await sql`update orders set reservation_expires_at = now() - interval '1 second' where id = ${first.body.id}`
    await sql`update reservations set expires_at = now() - interval '1 second' where order_id = ${first.body.id}`
    expect(await expireOverdueOrders(500)).toBeGreaterThanOrEqual(1)
    expect(await pool(s.id)).toMatchObject({ held: 0, returned: 0 })
    // The product's stock did not get it: it stays in the sale.
    expect(await stock(s.productId)).toEqual({ onHand: 100, reserved: 1 })
    const second = await saleOrder(b.token, s.id)
    expect(second.status).toBe(201)
    // The expired order no longer counts against its buyer's limit.
    expect((await saleOrder(a.token, s.id)).body.code).toBe('sold_out')
    await ledgerClean()
  })

  test('a paid sale order is sold; the end of the sale returns the rest to stock; then 410', async () => {
    const s = await createSale({ stock: 30, units: 10, limit: 3 })
    await openNow(s.id)
    const a = await createUser('customer')
    const o = await saleOrder(a.token, s.id, 3)
    expect(o.status).toBe(201)
    const p = await pay(a.token, o.body.id, 'pm_card_ok')
    expect(p.status).toBe(202)
    await settlePaymentSuccess(p.body.id, `ch_${Bun.randomUUIDv7()}`, 'test')
    expect(await pool(s.id)).toMatchObject({ held: 0, sold: 3 })
    expect(await stock(s.productId)).toEqual({ onHand: 27, reserved: 7 })
    const b = await createUser('customer')
    const held = await saleOrder(b.token, s.id, 1)
    expect(held.status).toBe(201)
    await endNow(s.id)
    const swept = await sweepSales()
    expect(swept.closed).toBeGreaterThanOrEqual(1)
    expect(await pool(s.id)).toMatchObject({ units: 10, held: 1, sold: 3, returned: 6, closed: true })
    // 6 unsold units back on sale; the unpaid order keeps its unit until it expires…
    expect(await stock(s.productId)).toEqual({ onHand: 27, reserved: 1 })
    const late = await saleOrder(a.token, s.id)
    expect(late.status).toBe(410)
    expect(late.body.code).toBe('sale_ended')
    expect((await req('GET', `/api/v1/sales/${s.id}`)).body).toMatchObject({ status: 'ended', remaining: 0 })
    // …and when it does, the unit goes to the product, not to the closed pool.
    await sql`update orders set reservation_expires_at = now() - interval '1 second' where id = ${held.body.id}`
    await expireOverdueOrders(500)
    expect(await pool(s.id)).toMatchObject({ held: 0, returned: 7 })
    expect(await stock(s.productId)).toEqual({ onHand: 27, reserved: 0 })
    const moves = await sql<
      { n: number }[]
    >`select count(*)::int as n from inventory_movements where product_id = ${s.productId} and kind = 'pool'`
    expect(moves[0]?.n).toBeGreaterThanOrEqual(4)
    await ledgerClean()
  })

  test('the database is the fence: the pool refuses outside its window and past its units, whatever the caller', async () => {
    const s = await createSale({ units: 1 })
    expect(sql`update sale_pools set held = 2 where sale_id = ${s.id}`).rejects.toThrow(/sale_pools_no_oversell/)
    const u = await createUser('customer')
    await sql`insert into sale_pool_buyers (sale_id, user_id, units, max_units) values (${s.id}, ${u.id}, 1, 1)`
    expect(sql`update sale_pool_buyers set units = 2 where sale_id = ${s.id}`).rejects.toThrow(/sale_pool_buyers_limit/)
  })
})
