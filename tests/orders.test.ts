// Orders: checkout, validation, reading, cancelling, the state machine and the expiry sweep —
// over HTTP against real Postgres and Redis.
import { describe, expect, test } from 'bun:test'
import { eq, sql } from 'drizzle-orm'
import { orders, products } from '../db/schema'
import { db } from '../src/infra/db'
import { hasPurchased } from '../src/modules/orders/purchases'
import { expireOverdueOrders } from '../src/modules/orders/service'
import { TRANSITIONS } from '../src/modules/orders/state'
import { createUser, req } from './helpers'
import { eventsOf, history, newKey, order, priceOf, productWithStock, reservationsOf, stock } from './orders-fixtures'

describe('checkout', () => {
  test('201 with server prices, merged lines, reservation; order rows, history and outbox written', async () => {
    const u = await createUser()
    const a = await productWithStock(10)
    const b = await productWithStock(10)
    await db.update(products).set({ priceCents: 2599 }).where(eq(products.id, b))
    const r = await order(u.token, [
      { productId: a, quantity: 1 },
      { productId: b, quantity: 2 },
      { productId: a, quantity: 2 },
    ])
    expect(r.status).toBe(201)
    // The same shape, and the same values, as GET /orders/:id.
    const got = await req('GET', `/api/v1/orders/${r.body.id}`, { token: u.token })
    expect(r.body).toEqual(got.body)
    expect(Object.keys(r.body).sort()).toEqual([
      'createdAt',
      'currency',
      'id',
      'items',
      'payment',
      'reservationExpiresAt',
      'status',
      'totalCents',
      'updatedAt',
      'userId',
    ])
    expect(r.body).toMatchObject({ status: 'pending_payment', userId: u.id, payment: null, updatedAt: r.body.createdAt })
    expect(r.body.items).toEqual([
      { productId: a, quantity: 3, unitPriceCents: await priceOf(a) },
      { productId: b, quantity: 2, unitPriceCents: 2599 },
    ])
    expect(r.body.totalCents).toBe(3 * (await priceOf(a)) + 2 * 2599)
    expect(r.body.currency).toBe('USD')
    expect(new Date(r.body.reservationExpiresAt).getTime()).toBeGreaterThan(Date.now())
    expect(r.headers.get('location')).toBe(`/api/v1/orders/${r.body.id}`)
    expect(await stock(a)).toEqual({ onHand: 10, reserved: 3 })
    expect(await stock(b)).toEqual({ onHand: 10, reserved: 2 })
    expect((await reservationsOf(r.body.id)).map((x) => x.status)).toEqual(['active', 'active'])
    expect((await history(r.body.id)).map((h) => [h.fromStatus, h.toStatus])).toEqual([[null, 'pending_payment']])
    expect(await eventsOf(r.body.id)).toEqual(['order.created'])
  })

  test('not enough stock → 409 out_of_stock naming the product; nothing written', async () => {
    const u = await createUser()
    const a = await productWithStock(5)
    const b = await productWithStock(1)
    const r = await order(u.token, [
      { productId: a, quantity: 2 },
      { productId: b, quantity: 2 },
    ])
    expect(r.status).toBe(409)
    expect(r.body.code).toBe('out_of_stock')
    expect(r.body.productIds).toEqual([b])
    expect(await stock(a)).toEqual({ onHand: 5, reserved: 0 })
    const mine = await db.select().from(orders).where(eq(orders.userId, u.id))
    expect(mine).toHaveLength(0)
  })

  test('every validation failure is a 4xx problem naming the field; nothing written', async () => {
    const u = await createUser()
    const a = await productWithStock(5)
    const post = (body: unknown, headers: Record<string, string> = { 'idempotency-key': newKey() }) =>
      req('POST', '/api/v1/orders', { token: u.token, body, headers })

    const missingKey = await post({ items: [{ productId: a, quantity: 1 }] }, {})
    expect(missingKey.status).toBe(400)
    expect(missingKey.headers.get('content-type')).toContain('application/problem+json')
    expect(missingKey.body.code).toBe('idempotency_key_missing')
    expect((await post({ items: [{ productId: a, quantity: 1 }] }, { 'idempotency-key': 'has spaces in it' })).status).toBe(400)

    const cases: [unknown, string][] = [
      [{ items: [] }, 'items'],
      [{}, 'items'],
      [{ items: [{ productId: a, quantity: 0 }] }, 'items.0.quantity'],
      [{ items: [{ productId: a, quantity: -1 }] }, 'items.0.quantity'],
      [{ items: [{ productId: a, quantity: 1.5 }] }, 'items.0.quantity'],
      [{ items: [{ productId: a, quantity: 1_000_000_000 }] }, 'items.0.quantity'],
      [{ items: [{ productId: 'not-a-uuid', quantity: 1 }] }, 'items.0.productId'],
      [{ items: [{ productId: a }] }, 'items.0.quantity'],
      [{ items: Array.from({ length: 51 }, () => ({ productId: Bun.randomUUIDv7(), quantity: 1 })) }, 'items'],
      [{ items: [{ productId: Bun.randomUUIDv7(), quantity: 1 }] }, 'items.0.productId'],
      [
        {
          items: [
            { productId: a, quantity: 1 },
            { productId: Bun.randomUUIDv7(), quantity: 1 },
          ],
        },
        'items.1.productId',
      ],
      [
        {
          items: [
            { productId: a, quantity: 60 },
            { productId: a, quantity: 60 },
          ],
        },
        'items',
      ],
      [{ items: [{ productId: a, quantity: 1 }], fromCart: true }, 'fromCart'],
      [{ items: 'lots' }, 'items'],
    ]
    for (const [i, [body, field]] of cases.entries()) {
      const r = await post(body)
      expect([i, r.status]).toEqual([i, 422])
      expect([i, r.body.errors.some((e: { field: string }) => e.field === field || e.field.startsWith(`${field}.`))]).toEqual([i, true])
    }
    const malformed = await req('POST', '/api/v1/orders', {
      token: u.token,
      raw: '{"items": [',
      headers: { 'content-type': 'application/json', 'idempotency-key': newKey() },
    })
    expect(malformed.status).toBe(400)
    expect((await req('POST', '/api/v1/orders', { body: { items: [{ productId: a, quantity: 1 }] } })).status).toBe(401)
    expect(await stock(a)).toEqual({ onHand: 5, reserved: 0 })
    expect(await db.select().from(orders).where(eq(orders.userId, u.id))).toHaveLength(0)
  })

  test('a deleted product cannot be ordered (422 naming it)', async () => {
    const u = await createUser()
    const a = await productWithStock(5)
    await db.update(products).set({ deletedAt: sql`now()` }).where(eq(products.id, a))
    const r = await order(u.token, [{ productId: a, quantity: 1 }])
    expect(r.status).toBe(422)
    expect(r.body.errors[0]).toMatchObject({ field: 'items.0.productId' })
    expect(r.body.detail).toContain(a)
  })
})

describe('reading orders', () => {
  test('GET /orders is mine only, newest first, paginated; GET /orders/:id hides others (404); admin sees all', async () => {
    const [u, other, admin] = await Promise.all([createUser(), createUser(), createUser('admin')])
    const a = await productWithStock(20)
    const ids: string[] = []
    for (let i = 0; i < 3; i++) ids.push((await order(u.token, [{ productId: a, quantity: 1 }])).body.id)
    const theirs = (await order(other.token, [{ productId: a, quantity: 1 }])).body.id

    const p1 = await req('GET', '/api/v1/orders?limit=2', { token: u.token })
    expect(p1.status).toBe(200)
    expect(p1.body.items.map((o: { id: string }) => o.id)).toEqual([ids[2], ids[1]])
    expect(p1.body.items[0]).toMatchObject({ userId: u.id, status: 'pending_payment', payment: null })
    const p2 = await req('GET', `/api/v1/orders?limit=2&cursor=${p1.body.nextCursor}`, { token: u.token })
    expect(p2.body.items.map((o: { id: string }) => o.id)).toEqual([ids[0]])
    expect(p2.body.nextCursor).toBeNull()
    expect((await req('GET', '/api/v1/orders?cursor=garbage', { token: u.token })).status).toBe(422)
    // Well-formed JSON in the cursor, but not an id this endpoint made: 422 naming it, not a 500.
    const forged = await req('GET', `/api/v1/orders?cursor=${Buffer.from('["x"]').toString('base64url')}`, { token: u.token })
    expect(forged.status).toBe(422)
    expect(forged.body.errors[0].field).toBe('query.cursor')
    expect((await req('GET', '/api/v1/orders?limit=0', { token: u.token })).status).toBe(422)

    expect((await req('GET', `/api/v1/orders/${ids[0]}`, { token: u.token })).body.items).toHaveLength(1)
    const hidden = await req('GET', `/api/v1/orders/${theirs}`, { token: u.token })
    expect(hidden.status).toBe(404)
    expect(hidden.body.code).toBe('not_found')
    expect((await req('GET', `/api/v1/orders/${Bun.randomUUIDv7()}`, { token: u.token })).status).toBe(404)
    expect((await req('GET', '/api/v1/orders/not-a-uuid', { token: u.token })).status).toBe(422)
    expect((await req('GET', `/api/v1/orders/${theirs}`, { token: admin.token })).body.userId).toBe(other.id)
    expect((await req('GET', '/api/v1/orders')).status).toBe(401)
  })
})

describe('cancel and the state machine', () => {
  test('cancel releases the reservation; a second cancel is 409 naming the allowed transitions', async () => {
    const u = await createUser()
    const a = await productWithStock(5)
    const o = (await order(u.token, [{ productId: a, quantity: 2 }])).body
    expect(await stock(a)).toEqual({ onHand: 5, reserved: 2 })
    const c = await req('POST', `/api/v1/orders/${o.id}/cancel`, { token: u.token })
    expect(c.status).toBe(200)
    expect(c.body.status).toBe('cancelled')
    expect(await stock(a)).toEqual({ onHand: 5, reserved: 0 })
    expect((await reservationsOf(o.id)).map((r) => r.status)).toEqual(['released'])
    expect((await history(o.id)).map((h) => h.toStatus)).toEqual(['pending_payment', 'cancelled'])
    expect(await eventsOf(o.id)).toEqual(['order.created', 'order.cancelled'])

    const again = await req('POST', `/api/v1/orders/${o.id}/cancel`, { token: u.token })
    expect(again.status).toBe(409)
    expect(again.body).toMatchObject({ code: 'illegal_transition', from: 'cancelled', to: 'cancelled', allowed: [] })
  })

  test("one user cannot cancel another's order (404, nothing changes)", async () => {
    const [u, other] = await Promise.all([createUser(), createUser()])
    const a = await productWithStock(5)
    const o = (await order(u.token, [{ productId: a, quantity: 1 }])).body
    expect((await req('POST', `/api/v1/orders/${o.id}/cancel`, { token: other.token })).status).toBe(404)
    expect(
      (
        await req('POST', `/api/v1/orders/${o.id}/pay`, {
          token: other.token,
          body: { paymentMethod: 'pm_card_ok' },
          headers: { 'idempotency-key': newKey() },
        })
      ).status,
    ).toBe(404)
    expect((await req('GET', `/api/v1/orders/${o.id}`, { token: u.token })).body.status).toBe('pending_payment')
    expect(await stock(a)).toEqual({ onHand: 5, reserved: 1 })
  })

  test('admin fulfilment steps follow the table; illegal ones are 409 naming the allowed; non-admin 403', async () => {
    const [u, admin] = await Promise.all([createUser(), createUser('admin')])
    const a = await productWithStock(5)
    const o = (await order(u.token, [{ productId: a, quantity: 1 }])).body
    const patch = (status: string, token = admin.token) => req('PATCH', `/api/v1/admin/orders/${o.id}`, { token, body: { status } })

    const early = await patch('shipped')
    expect(early.status).toBe(409)
    expect(early.body).toMatchObject({ code: 'illegal_transition', from: 'pending_payment', to: 'shipped' })
    expect(early.body.allowed).toEqual(['paid', 'cancelled', 'expired', 'payment_failed'])
    expect(early.body.detail).toContain('paid, cancelled, expired, payment_failed')
    expect((await patch('fulfilled', u.token)).status).toBe(403)
    expect((await patch('paid')).status).toBe(422) // not a fulfilment step
    expect((await patch('bogus')).status).toBe(422)
    // A body without `status` is a 422 naming it, not a step to the first allowed value.
    const empty = await req('PATCH', `/api/v1/admin/orders/${o.id}`, { token: admin.token, body: {} })
    expect([empty.status, empty.body.errors?.[0]?.field]).toEqual([422, 'status'])
    expect(
      (await req('PATCH', `/api/v1/admin/orders/${Bun.randomUUIDv7()}`, { token: admin.token, body: { status: 'shipped' } })).status,
    ).toBe(404)

    // Drive it to paid through the state machine's own function, then walk the fulfilment steps.
    const { transition } = await import('../src/modules/orders/state')
    await db.transaction((tx) => transition(tx, { orderId: o.id, from: 'pending_payment', to: 'paid', actor: 'test' }))
    expect((await patch('shipped')).body.allowed).toEqual(['fulfilled', 'refunded'])
    for (const s of ['fulfilled', 'shipped', 'delivered']) expect((await patch(s)).body.status).toBe(s)
    const done = await req('POST', `/api/v1/orders/${o.id}/cancel`, { token: u.token })
    expect(done.status).toBe(409)
    expect(done.body.allowed).toEqual([])
    expect((await history(o.id)).map((h) => h.toStatus)).toEqual(['pending_payment', 'paid', 'fulfilled', 'shipped', 'delivered'])
    expect(await eventsOf(o.id)).toEqual([
      'order.created',
      'order.paid',
      'order.status_changed',
      'order.status_changed',
      'order.status_changed',
    ])
  })

  test('payment_failed is not final: payable again, cancellable, it expires, or a risk review holds it', () => {
    expect(TRANSITIONS.payment_failed).toEqual(['pending_payment', 'cancelled', 'expired', 'on_hold'])
    expect(TRANSITIONS.on_hold).toEqual(['pending_payment', 'cancelled', 'expired'])
  })

  test('concurrent transitions of one order: exactly one wins', async () => {
    const u = await createUser()
    const a = await productWithStock(5)
    const o = (await order(u.token, [{ productId: a, quantity: 1 }])).body
    const results = await Promise.all(Array.from({ length: 10 }, () => req('POST', `/api/v1/orders/${o.id}/cancel`, { token: u.token })))
    expect(results.filter((r) => r.status === 200)).toHaveLength(1)
    expect(results.filter((r) => r.status === 409)).toHaveLength(9)
    expect((await history(o.id)).map((h) => h.toStatus)).toEqual(['pending_payment', 'cancelled'])
    expect(await stock(a)).toEqual({ onHand: 5, reserved: 0 })
  })

  test('the database refuses a status outside the state machine', async () => {
    const u = await createUser()
    const a = await productWithStock(5)
    const o = (await order(u.token, [{ productId: a, quantity: 1 }])).body
    const err = await db.execute(sql`update orders set status = 'teleported' where id = ${o.id}`).catch((e) => e)
    expect(String(err?.cause?.message ?? err)).toContain('orders_status_check')
    expect(Object.keys(TRANSITIONS)).toHaveLength(10)
  })
})

describe('expiry sweep', () => {
  test('overdue unpaid orders expire and return their units; paid ones are untouched', async () => {
    const u = await createUser()
    const a = await productWithStock(5)
    const o = (await order(u.token, [{ productId: a, quantity: 3 }])).body
    const fresh = (await order(u.token, [{ productId: a, quantity: 1 }])).body
    await db.execute(sql`update orders set reservation_expires_at = now() - interval '1 second' where id = ${o.id}`)
    await db.execute(sql`update reservations set expires_at = now() - interval '1 second' where order_id = ${o.id}`)
    expect(await expireOverdueOrders(1000)).toBeGreaterThanOrEqual(1)
    expect((await req('GET', `/api/v1/orders/${o.id}`, { token: u.token })).body.status).toBe('expired')
    expect((await req('GET', `/api/v1/orders/${fresh.id}`, { token: u.token })).body.status).toBe('pending_payment')
    expect(await stock(a)).toEqual({ onHand: 5, reserved: 1 })
    expect((await reservationsOf(o.id)).map((r) => r.status)).toEqual(['expired'])
    expect(await eventsOf(o.id)).toEqual(['order.created', 'order.expired'])
    expect(await expireOverdueOrders(1000)).toBe(0)
    // Paying an expired order is refused.
    const late = await req('POST', `/api/v1/orders/${o.id}/pay`, {
      token: u.token,
      body: { paymentMethod: 'pm_card_ok' },
      headers: { 'idempotency-key': newKey() },
    })
    expect(late.status).toBe(409)
    expect(late.body.code).toBe('order_not_payable')
  })

  test('three sweepers at once expire each overdue order exactly once', async () => {
    const u = await createUser()
    const a = await productWithStock(50)
    const ids: string[] = []
    for (let i = 0; i < 12; i++) ids.push((await order(u.token, [{ productId: a, quantity: 1 }])).body.id)
    await db.execute(sql`update orders set reservation_expires_at = now() - interval '1 second' where user_id = ${u.id}`)
    const counts = await Promise.all([expireOverdueOrders(1000), expireOverdueOrders(1000), expireOverdueOrders(1000)])
    expect(counts.reduce((x, y) => x + y, 0)).toBeGreaterThanOrEqual(12)
    for (const id of ids) expect((await history(id)).map((h) => h.toStatus)).toEqual(['pending_payment', 'expired'])
    expect(await stock(a)).toEqual({ onHand: 50, reserved: 0 })
  })

  test('hasPurchased is false until the order is paid', async () => {
    const u = await createUser()
    const a = await productWithStock(5)
    const o = (await order(u.token, [{ productId: a, quantity: 1 }])).body
    expect(await hasPurchased(db, u.id, a)).toBe(false)
    const { transition } = await import('../src/modules/orders/state')
    await db.transaction((tx) => transition(tx, { orderId: o.id, from: 'pending_payment', to: 'paid', actor: 'test' }))
    expect(await hasPurchased(db, u.id, a)).toBe(true)
    expect(await hasPurchased(db, (await createUser()).id, a)).toBe(false)
  })
})
