// Payments end to end: a real BullMQ worker for the `payments` queue runs in this process (small
// backoff via config), the simulated gateway injects failures by payment method, and we check the
// order state, the stock and the gateway's ledger after each scenario.
import { afterAll, beforeAll, describe, expect, test } from 'bun:test'
import { desc, eq, sql } from 'drizzle-orm'
import { payments, products } from '../db/schema'
import { startWorkerSet, type WorkerSet } from '../jobs/worker'
import { config } from '../src/config'
import { db } from '../src/infra/db'
import { isUniqueViolation } from '../src/lib/pg-errors'
import { expireOverdueOrders } from '../src/modules/orders/service'
import { charge, chargeRecord } from '../src/modules/payments/gateway'
import { createUser, req } from './helpers'
import { eventsOf, eventually, history, newKey, order, pay, productWithStock, reservationsOf, stock } from './orders-fixtures'

let workers: WorkerSet
const saved = { ...config }

beforeAll(async () => {
  Object.assign(config, { PAYMENT_RETRY_DELAY_MS: 10, PAYMENT_GATEWAY_TIMEOUT_MS: 20, PAYMENT_GATEWAY_LATENCY_MS: 0 })
  workers = await startWorkerSet({ queues: ['payments'], schedules: false, relay: false })
})
afterAll(async () => {
  await workers?.close()
  Object.assign(config, saved)
})

type Order = {
  id: string
  status: string
  payment: { status: string; attempts: number; lastError: string | null; gatewayChargeId: string | null }
}

async function settled(token: string, orderId: string): Promise<Order> {
  return eventually(async () => {
    const r = await req<Order>('GET', `/api/v1/orders/${orderId}`, { token })
    return r.body.status !== 'pending_payment' ? r.body : null
  }, 15_000)
}

/** The gateway's ledger key of an order's latest payment attempt (one key per attempt). */
const gatewayKey = async (orderId: string) => {
  const [p] = await db
    .select({ key: payments.idempotencyKey })
    .from(payments)
    .where(eq(payments.orderId, orderId))
    .orderBy(desc(payments.id))
    .limit(1)
  return p!.key
}
const paymentsOf = (orderId: string) => db.select().from(payments).where(eq(payments.orderId, orderId)).orderBy(payments.id)

const purchases = async (id: string) => (await db.select({ n: products.purchaseCount }).from(products).where(eq(products.id, id)))[0]!.n

describe('paying', () => {
  test('full purchase: cart → order → pay → paid, stock committed, purchases counted, cart emptied', async () => {
    const u = await createUser()
    const a = await productWithStock(10)
    const b = await productWithStock(10)
    expect((await req('PUT', `/api/v1/cart/items/${a}`, { token: u.token, body: { quantity: 2 } })).status).toBe(200)
    expect((await req('PUT', `/api/v1/cart/items/${b}`, { token: u.token, body: { quantity: 1 } })).status).toBe(200)
    const o = await req('POST', '/api/v1/orders', { token: u.token, body: { fromCart: true }, headers: { 'idempotency-key': newKey() } })
    expect(o.status).toBe(201)
    expect(o.body.items).toHaveLength(2)
    expect((await req('GET', '/api/v1/cart', { token: u.token })).body.items).toEqual([])
    expect(await stock(a)).toEqual({ onHand: 10, reserved: 2 })

    const p = await pay(u.token, o.body.id, 'pm_card_ok')
    expect(p.status).toBe(202)
    expect(p.body).toMatchObject({
      orderId: o.body.id,
      status: 'pending',
      method: 'pm_card_ok',
      amountCents: o.body.totalCents,
      currency: 'USD',
    })

    const done = await settled(u.token, o.body.id)
    expect(done.status).toBe('paid')
    expect(done.payment).toMatchObject({ status: 'succeeded', attempts: 1 })
    expect(done.payment.gatewayChargeId).toMatch(/^ch_/)
    expect(await stock(a)).toEqual({ onHand: 8, reserved: 0 })
    expect(await stock(b)).toEqual({ onHand: 9, reserved: 0 })
    expect((await reservationsOf(o.body.id)).map((r) => r.status)).toEqual(['committed', 'committed'])
    expect(await purchases(a)).toBe(2)
    expect((await history(o.body.id)).map((h) => [h.toStatus, h.actor])).toEqual([
      ['pending_payment', `user:${u.id}`],
      ['paid', 'system:payments'],
    ])
    expect(await eventsOf(o.body.id)).toEqual(['order.created', 'order.paid'])
    expect((await chargeRecord(await gatewayKey(o.body.id)))!).toMatchObject({ status: 'succeeded', calls: 1 })

    // Paid: a second /pay is refused, cancelling refunds and puts the units back.
    const twice = await pay(u.token, o.body.id, 'pm_card_ok')
    expect(twice.status).toBe(409)
    expect(twice.body.code).toBe('already_paid')
    const c = await req('POST', `/api/v1/orders/${o.body.id}/cancel`, { token: u.token })
    expect(c.status).toBe(200)
    expect(c.body.status).toBe('refunded')
    expect(c.body.payment.status).toBe('refunded')
    expect((await chargeRecord(await gatewayKey(o.body.id)))!.status).toBe('refunded')
    expect(await stock(a)).toEqual({ onHand: 10, reserved: 0 })
  })

  test('declined: payment_failed after one attempt, stock kept; paying again with another method succeeds', async () => {
    const u = await createUser()
    const a = await productWithStock(5)
    const o = (await order(u.token, [{ productId: a, quantity: 2 }])).body
    expect((await pay(u.token, o.id, 'pm_card_declined')).status).toBe(202)
    const done = await settled(u.token, o.id)
    expect(done.status).toBe('payment_failed')
    expect(done.payment).toMatchObject({ status: 'failed', attempts: 1 })
    expect(done.payment.lastError).toContain('card_declined')
    // Not a dead end: the units stay reserved for this order until its reservation expires.
    expect(await stock(a)).toEqual({ onHand: 5, reserved: 2 })
    expect((await reservationsOf(o.id)).map((r) => r.status)).toEqual(['active'])
    expect(await eventsOf(o.id)).toEqual(['order.created', 'order.payment_failed'])
    await Bun.sleep(100)
    expect((await chargeRecord(await gatewayKey(o.id)))!).toMatchObject({ status: 'declined', calls: 1 })

    const again = await pay(u.token, o.id, 'pm_card_ok')
    expect(again.status).toBe(202)
    expect(again.body).toMatchObject({ status: 'pending', method: 'pm_card_ok', attempts: 0 })
    const paid = await eventually(async () => {
      const r = await req<Order>('GET', `/api/v1/orders/${o.id}`, { token: u.token })
      return r.body.status === 'paid' ? r.body : null
    }, 15_000)
    expect(paid.payment).toMatchObject({ status: 'succeeded', attempts: 1 })
    expect(await stock(a)).toEqual({ onHand: 3, reserved: 0 })
    expect((await paymentsOf(o.id)).map((p) => [p.method, p.status])).toEqual([
      ['pm_card_declined', 'failed'],
      ['pm_card_ok', 'succeeded'],
    ])
    expect((await history(o.id)).map((h) => h.toStatus)).toEqual(['pending_payment', 'payment_failed', 'pending_payment', 'paid'])
    expect((await chargeRecord(await gatewayKey(o.id)))!).toMatchObject({ status: 'succeeded', calls: 1 })
    // Paid now: a third attempt is refused.
    expect((await pay(u.token, o.id, 'pm_card_ok')).body.code).toBe('already_paid')
  })

  test('the database allows one live or succeeded payment per order', async () => {
    const u = await createUser()
    const a = await productWithStock(5)
    const o = (await order(u.token, [{ productId: a, quantity: 1 }])).body
    const row = (status: 'succeeded' | 'pending' | 'failed') => ({
      id: Bun.randomUUIDv7(),
      orderId: o.id,
      status,
      method: 'pm_card_ok',
      amountCents: o.totalCents,
      currency: o.currency,
      idempotencyKey: `test_${Bun.randomUUIDv7()}`,
    })
    await db.insert(payments).values([row('failed'), row('failed'), row('succeeded')])
    for (const status of ['succeeded', 'pending'] as const) {
      const err = await db
        .insert(payments)
        .values(row(status))
        .then(
          () => null,
          (e: unknown) => e,
        )
      expect([status, isUniqueViolation(err, 'payments_one_live_per_order')]).toEqual([status, true])
    }
  })

  test('flaky: transient failures retried with backoff, then paid — charged exactly once', async () => {
    const u = await createUser()
    const a = await productWithStock(5)
    const o = (await order(u.token, [{ productId: a, quantity: 1 }])).body
    expect((await pay(u.token, o.id, 'pm_card_flaky')).status).toBe(202)
    const done = await settled(u.token, o.id)
    expect(done.status).toBe('paid')
    expect(done.payment).toMatchObject({ status: 'succeeded', attempts: config.PAYMENT_FLAKY_FAILURES + 1 })
    expect(await stock(a)).toEqual({ onHand: 4, reserved: 0 })
    const rec = await chargeRecord(await gatewayKey(o.id))
    expect(rec).toMatchObject({ status: 'succeeded', calls: config.PAYMENT_FLAKY_FAILURES + 1 })
  })

  test('timeout: every attempt times out → payment_failed after max attempts; cancelling releases the stock', async () => {
    const u = await createUser()
    const a = await productWithStock(5)
    const o = (await order(u.token, [{ productId: a, quantity: 3 }])).body
    expect((await pay(u.token, o.id, 'pm_card_timeout')).status).toBe(202)
    const done = await settled(u.token, o.id)
    expect(done.status).toBe('payment_failed')
    expect(done.payment).toMatchObject({ status: 'failed', attempts: config.PAYMENT_MAX_ATTEMPTS })
    expect(done.payment.lastError).toContain('timed out')
    expect(await stock(a)).toEqual({ onHand: 5, reserved: 3 })
    const c = await req('POST', `/api/v1/orders/${o.id}/cancel`, { token: u.token })
    expect(c.status).toBe(200)
    expect(c.body.status).toBe('cancelled')
    expect(await stock(a)).toEqual({ onHand: 5, reserved: 0 })
    expect((await reservationsOf(o.id)).map((r) => r.status)).toEqual(['released'])
    expect((await history(o.id)).map((h) => h.toStatus)).toEqual(['pending_payment', 'payment_failed', 'cancelled'])
    // Cancelled is final: paying now is refused.
    expect((await pay(u.token, o.id, 'pm_card_ok')).body.code).toBe('order_not_payable')
  })

  test('a failed payment keeps the order payable only until its reservation expires', async () => {
    const u = await createUser()
    const a = await productWithStock(5)
    const o = (await order(u.token, [{ productId: a, quantity: 1 }])).body
    expect((await pay(u.token, o.id, 'pm_card_declined')).status).toBe(202)
    expect((await settled(u.token, o.id)).status).toBe('payment_failed')
    await db.execute(sql`update orders set reservation_expires_at = now() - interval '1 second' where id = ${o.id}`)
    const late = await pay(u.token, o.id, 'pm_card_ok')
    expect([late.status, late.body.code]).toEqual([409, 'order_not_payable'])
    // The problem's `status` stays the HTTP status; the order's is `orderStatus`.
    expect(late.body).toMatchObject({ status: 409, orderStatus: 'payment_failed' })
    expect(await expireOverdueOrders(1000)).toBeGreaterThanOrEqual(1)
    expect((await req('GET', `/api/v1/orders/${o.id}`, { token: u.token })).body.status).toBe('expired')
    expect(await stock(a)).toEqual({ onHand: 5, reserved: 0 })
    expect((await history(o.id)).map((h) => h.toStatus)).toEqual(['pending_payment', 'payment_failed', 'expired'])
  })

  test('an unknown payment method is refused at once: 422 naming paymentMethod, nothing started', async () => {
    const u = await createUser()
    const a = await productWithStock(5)
    const o = (await order(u.token, [{ productId: a, quantity: 1 }])).body
    const r = await pay(u.token, o.id, 'pm_card_bogus')
    expect(r.status).toBe(422)
    expect(r.headers.get('content-type')).toContain('application/problem+json')
    expect(r.body.errors.map((e: { field: string }) => e.field)).toEqual(['paymentMethod'])
    expect(await paymentsOf(o.id)).toEqual([])
    expect((await req('GET', `/api/v1/orders/${o.id}`, { token: u.token })).body.status).toBe('pending_payment')
  })

  test('the gateway dedupes by idempotency key: a retried charge returns the same charge', async () => {
    const key = `test_${Bun.randomUUIDv7()}`
    const first = await charge({ idempotencyKey: key, amountCents: 500, currency: 'USD', paymentMethod: 'pm_card_ok' })
    const again = await charge({ idempotencyKey: key, amountCents: 500, currency: 'USD', paymentMethod: 'pm_card_ok' })
    expect(again).toEqual({ chargeId: first.chargeId, replayed: true })
    expect(first.replayed).toBe(false)
    expect(await chargeRecord(key)).toMatchObject({ status: 'succeeded', calls: 2 })
  })

  test('/pay: Idempotency-Key required, replayed; a second payment is 409; bad input 422; unknown 404', async () => {
    const u = await createUser()
    const a = await productWithStock(5)
    const o = (await order(u.token, [{ productId: a, quantity: 1 }])).body
    const noKey = await req('POST', `/api/v1/orders/${o.id}/pay`, { token: u.token, body: { paymentMethod: 'pm_card_ok' } })
    expect(noKey.status).toBe(400)
    expect(noKey.body.code).toBe('idempotency_key_missing')
    const bad = [
      {},
      { paymentMethod: '' },
      { paymentMethod: 'visa 4242' },
      { paymentMethod: 42 },
      { paymentMethod: `pm_${'x'.repeat(100)}` },
    ]
    for (const [i, body] of bad.entries()) {
      const r = await req('POST', `/api/v1/orders/${o.id}/pay`, { token: u.token, body, headers: { 'idempotency-key': newKey() } })
      expect([i, r.status]).toEqual([i, 422])
    }
    expect((await pay(u.token, 'nope', 'pm_card_ok')).status).toBe(422)
    expect((await pay(u.token, Bun.randomUUIDv7(), 'pm_card_ok')).status).toBe(404)

    // Hold the payment pending: the gateway is slow for this one.
    config.PAYMENT_GATEWAY_LATENCY_MS = 300
    try {
      const key = newKey()
      const first = await pay(u.token, o.id, 'pm_card_ok', key)
      expect(first.status).toBe(202)
      const replay = await pay(u.token, o.id, 'pm_card_ok', key)
      expect(replay.text).toBe(first.text)
      expect(replay.headers.get('idempotent-replayed')).toBe('true')
      const second = await pay(u.token, o.id, 'pm_card_ok')
      expect(second.status).toBe(409)
      expect(second.body.code).toBe('payment_in_progress')
      expect((await settled(u.token, o.id)).status).toBe('paid')
    } finally {
      config.PAYMENT_GATEWAY_LATENCY_MS = 0
    }
    expect(await db.select().from(payments).where(eq(payments.orderId, o.id))).toHaveLength(1)
  })

  test('cancelling while the charge is queued cancels the payment; nothing is charged', async () => {
    const u = await createUser()
    const a = await productWithStock(5)
    const o = (await order(u.token, [{ productId: a, quantity: 1 }])).body
    config.PAYMENT_GATEWAY_LATENCY_MS = 200
    try {
      expect((await pay(u.token, o.id, 'pm_card_ok')).status).toBe(202)
      const c = await req('POST', `/api/v1/orders/${o.id}/cancel`, { token: u.token })
      expect(c.body.status).toBe('cancelled')
      // Whether the charge landed (then it was refunded) or not, no money stays taken.
      await eventually(async () => {
        const [p] = await db.select().from(payments).where(eq(payments.orderId, o.id))
        return p && p.status !== 'pending' ? p : null
      })
      await Bun.sleep(400)
      const rec = await chargeRecord(await gatewayKey(o.id))
      expect(rec === null || rec.status === 'refunded').toBe(true)
      expect(await stock(a)).toEqual({ onHand: 5, reserved: 0 })
    } finally {
      config.PAYMENT_GATEWAY_LATENCY_MS = 0
    }
  })

  test('a charge that lands after the order expired is refunded; the order stays expired', async () => {
    const u = await createUser()
    const a = await productWithStock(5)
    const o = (await order(u.token, [{ productId: a, quantity: 2 }])).body
    config.PAYMENT_GATEWAY_LATENCY_MS = 400
    try {
      expect((await pay(u.token, o.id, 'pm_card_ok')).status).toBe(202)
      // The charge is in flight (attempt counted, gateway call sleeping) when the sweep runs.
      await eventually(async () => (await db.select().from(payments).where(eq(payments.orderId, o.id)))[0]?.attempts === 1)
      await db.execute(sql`update orders set reservation_expires_at = now() - interval '1 second' where id = ${o.id}`)
      expect(await expireOverdueOrders(1000)).toBeGreaterThanOrEqual(1)
      const p = await eventually(async () => {
        const [row] = await db.select().from(payments).where(eq(payments.orderId, o.id))
        return row?.status === 'refunded' ? row : null
      })
      expect(p.gatewayChargeId).toMatch(/^ch_/)
      await eventually(async () => (await chargeRecord(await gatewayKey(o.id)))?.status === 'refunded')
      expect((await req('GET', `/api/v1/orders/${o.id}`, { token: u.token })).body.status).toBe('expired')
      expect(await stock(a)).toEqual({ onHand: 5, reserved: 0 })
      expect((await history(o.id)).map((h) => h.toStatus)).toEqual(['pending_payment', 'expired'])
    } finally {
      config.PAYMENT_GATEWAY_LATENCY_MS = 0
    }
  })
})
