// The gateway webhook: HMAC signature over the raw body (bad, stale, missing → 401), events applied
// once per event id, and the settle step shared with the charge job (a late duplicate is a no-op).
import { describe, expect, test } from 'bun:test'
import { eq } from 'drizzle-orm'
import { payments, paymentWebhookEvents } from '../db/schema'
import { db } from '../src/infra/db'
import { signWebhook, verifySignature } from '../src/modules/payments/webhook'
import { createUser, req } from './helpers'
import { eventsOf, history, order, productWithStock, stock } from './orders-fixtures'

const post = (raw: string, signature?: string) =>
  req('POST', '/api/v1/payments/webhook', {
    raw,
    headers: { 'content-type': 'application/json', ...(signature ? { 'stampede-signature': signature } : {}) },
  })

/** An order with a pending payment whose charge is confirmed asynchronously by the gateway. */
async function pendingPayment(quantity = 1) {
  const u = await createUser()
  const a = await productWithStock(5)
  const o = (await order(u.token, [{ productId: a, quantity }])).body
  const id = Bun.randomUUIDv7()
  const [p] = await db
    .insert(payments)
    .values({
      id,
      orderId: o.id,
      method: 'pm_card_ok',
      amountCents: o.totalCents,
      currency: o.currency,
      idempotencyKey: `pay_${id}`,
      attempts: 1,
    })
    .returning()
  return { u, a, o, p: p! }
}

describe('POST /payments/webhook', () => {
  test('bad, stale, malformed or missing signatures → 401; nothing applied', async () => {
    const { o, p } = await pendingPayment()
    const body = JSON.stringify({ id: `evt_${Bun.randomUUIDv7()}`, type: 'charge.succeeded', data: { paymentId: p.id, chargeId: 'ch_1' } })
    const cases = [
      undefined,
      'garbage',
      signWebhook(body, 'the-wrong-secret-0123456789'),
      signWebhook(body, undefined, Math.floor(Date.now() / 1000) - 3600),
      signWebhook(`${body} `),
      `t=${Math.floor(Date.now() / 1000)},v1=${'0'.repeat(64)}`,
    ]
    for (const [i, sig] of cases.entries()) {
      const r = await post(body, sig)
      expect([i, r.status]).toEqual([i, 401])
      expect(r.body.code).toBe('invalid_signature')
    }
    expect((await db.select().from(payments).where(eq(payments.id, p.id)))[0]!.status).toBe('pending')
    expect(await eventsOf(o.id)).toEqual(['order.created'])
  })

  test('charge.succeeded marks the order paid once; the duplicate delivery is acknowledged and ignored', async () => {
    const { u, a, o, p } = await pendingPayment(2)
    const body = JSON.stringify({
      id: `evt_${Bun.randomUUIDv7()}`,
      type: 'charge.succeeded',
      data: { paymentId: p.id, chargeId: 'ch_webhook' },
    })
    const first = await post(body, signWebhook(body))
    expect(first.status).toBe(200)
    expect(first.body).toEqual({ received: true, duplicate: false })
    const dup = await post(body, signWebhook(body))
    expect(dup.status).toBe(200)
    expect(dup.body).toEqual({ received: true, duplicate: true })

    const view = (await req('GET', `/api/v1/orders/${o.id}`, { token: u.token })).body
    expect(view.status).toBe('paid')
    expect(view.payment).toMatchObject({ status: 'succeeded', gatewayChargeId: 'ch_webhook' })
    expect(await stock(a)).toEqual({ onHand: 3, reserved: 0 })
    expect((await history(o.id)).map((h) => [h.toStatus, h.actor.split(':')[0]])).toEqual([
      ['pending_payment', 'user'],
      ['paid', 'gateway'],
    ])
    expect(await eventsOf(o.id)).toEqual(['order.created', 'order.paid'])
    // A different event for the same charge (e.g. the job's own confirmation) changes nothing either.
    const other = JSON.stringify({
      id: `evt_${Bun.randomUUIDv7()}`,
      type: 'charge.succeeded',
      data: { paymentId: p.id, chargeId: 'ch_webhook' },
    })
    expect((await post(other, signWebhook(other))).body.duplicate).toBe(false)
    expect(await eventsOf(o.id)).toEqual(['order.created', 'order.paid'])
    expect(
      await db
        .select()
        .from(paymentWebhookEvents)
        .where(eq(paymentWebhookEvents.eventId, JSON.parse(body).id)),
    ).toHaveLength(1)
  })

  test('charge.failed marks payment_failed; the stock stays reserved until cancel', async () => {
    const { u, a, o, p } = await pendingPayment(2)
    const body = JSON.stringify({
      id: `evt_${Bun.randomUUIDv7()}`,
      type: 'charge.failed',
      data: { paymentId: p.id, reason: 'insufficient_funds' },
    })
    expect((await post(body, signWebhook(body))).status).toBe(200)
    const view = (await req('GET', `/api/v1/orders/${o.id}`, { token: u.token })).body
    expect(view.status).toBe('payment_failed')
    expect(view.payment.lastError).toBe('insufficient_funds')
    expect(await stock(a)).toEqual({ onHand: 5, reserved: 2 })
    expect((await req('POST', `/api/v1/orders/${o.id}/cancel`, { token: u.token })).body.status).toBe('cancelled')
    expect(await stock(a)).toEqual({ onHand: 5, reserved: 0 })
  })

  test('a signed but malformed body is 400/422, never 500', async () => {
    const notJson = '{"id": '
    expect((await post(notJson, signWebhook(notJson))).status).toBe(400)
    const badShape = JSON.stringify({ id: 'evt_x', type: 'charge.succeeded', data: { paymentId: 'nope' } })
    const r = await post(badShape, signWebhook(badShape))
    expect(r.status).toBe(422)
    expect(r.body.errors[0].field).toBe('data.paymentId')
    const noCharge = JSON.stringify({ id: `evt_${Bun.randomUUIDv7()}`, type: 'charge.succeeded', data: { paymentId: Bun.randomUUIDv7() } })
    expect((await post(noCharge, signWebhook(noCharge))).status).toBe(422)
    // Unknown payment or unknown event type: recorded and acknowledged, no effect.
    const unknown = JSON.stringify({
      id: `evt_${Bun.randomUUIDv7()}`,
      type: 'charge.dispute_opened',
      data: { paymentId: Bun.randomUUIDv7() },
    })
    expect((await post(unknown, signWebhook(unknown))).body).toEqual({ received: true, duplicate: false })
  })

  test('verifySignature accepts any of several v1 values (secret rotation)', () => {
    const body = '{}'
    const t = Math.floor(Date.now() / 1000)
    const good = signWebhook(body, undefined, t).split(',')[1]!
    expect(() => verifySignature(body, `t=${t},v1=${'a'.repeat(64)},${good}`)).not.toThrow()
  })
})
