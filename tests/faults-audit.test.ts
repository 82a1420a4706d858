// The fault suite's judge (bench/faults/audit.ts): it must see what a sale still owes — an email
// not delivered, a payment left pending, an order paid without its receipt — and see it paid off
// once the real services deliver. Real orders through the app, real services; no worker runs here,
// so nothing is delivered until the test does it.
import { describe, expect, test } from 'bun:test'
import { audit, lostEmails, lostPayments, settle, settled } from '../bench/faults/audit'
import { drainOutbox } from '../jobs/outbox-relay'
import { sql } from '../src/infra/db'
import { sendOrderEmail } from '../src/modules/mail/service'
import { runChargeAttempt } from '../src/modules/orders/payment-flow'
import { createUser } from './helpers'
import { order, pay, productWithStock } from './orders-fixtures'

async function eventPayload(orderId: string, type: string): Promise<{ id: string; payload: Record<string, unknown> }> {
  const [e] = await sql<{ id: string; payload: Record<string, unknown> }[]>`
    select id, payload from outbox_events where aggregate_id = ${orderId} and type = ${type}`
  if (!e) throw new Error(`no ${type} event for ${orderId}`)
  return e
}

describe('fault suite audit', () => {
  test('counts owed emails and payments until the services deliver them', async () => {
    const productId = await productWithStock(3)
    const buyer = await createUser()
    const o = await order(buyer.token, [{ productId, quantity: 1 }])
    expect(o.status).toBe(201)
    const orderId = o.body.id as string

    // Ordered: one unit sold, its confirmation owed, its event not yet published.
    let a = await audit(sql, [productId])
    expect(a).toMatchObject({ sold: 1, orders: 1, missingConfirmations: 1, unpublished: 1, pendingPayments: 0 })
    expect(lostEmails(a)).toBe(1)
    expect(settled(a)).toBe(false)

    const created = await eventPayload(orderId, 'order.created')
    await sendOrderEmail({ orderId, kind: 'order_confirmation', payload: created.payload, eventId: created.id })
    await drainOutbox()
    a = await audit(sql, [productId])
    expect(a).toMatchObject({ missingConfirmations: 0, unpublished: 0 })

    // Paying: the charge job is queued but no worker runs, so the payment stays pending (owed).
    const p = await pay(buyer.token, orderId, 'pm_card_ok')
    expect(p.status).toBe(202)
    a = await audit(sql, [productId])
    expect(a.pendingPayments).toBe(1)
    expect(lostPayments(a)).toBe(1)
    // A bounded settle gives up after its bound and reports what is still owed.
    const waited = await settle(sql, [productId], 300)
    expect(waited.ms).toBeGreaterThanOrEqual(300)
    expect(settled(waited.audit)).toBe(false)

    // The charge runs: the order is paid, and now its receipt is owed.
    expect((await runChargeAttempt(p.body.id, 1, 1)).outcome).toBe('succeeded')
    a = await audit(sql, [productId])
    expect(a).toMatchObject({ pendingPayments: 0, paidOrders: 1, paidWithoutPayment: 0, chargedNotPaid: 0, chargedTwice: 0 })
    expect(lostPayments(a)).toBe(0)
    expect(a.missingReceipts).toBe(1)

    const paid = await eventPayload(orderId, 'order.paid')
    await sendOrderEmail({ orderId, kind: 'payment_receipt', payload: paid.payload, eventId: paid.id })
    await drainOutbox()
    const done = await settle(sql, [productId], 5000)
    expect(done.audit).toMatchObject({ sold: 1, missingReceipts: 0, ledgerMismatches: 0 })
    expect(settled(done.audit)).toBe(true)
    expect(done.ms).toBeLessThan(1000)
  })

  test('a paid order without a succeeded payment is a lost payment', async () => {
    const productId = await productWithStock(2)
    const buyer = await createUser()
    const o = await order(buyer.token, [{ productId, quantity: 1 }])
    // Paid behind the payments module's back (what a forged webhook did, issue 18 #1).
    await sql`update orders set status = 'paid' where id = ${o.body.id}`
    const a = await audit(sql, [productId])
    expect(a.paidWithoutPayment).toBe(1)
    expect(lostPayments(a)).toBe(1)
  })
})
