// Risk review over HTTP: held orders (not payable, not expiring until reviewed or the maximum hold),
// refusals, approve/reject (idempotent, audited, one effect under a race), re-scoring on payment
// outcomes, and what customers may not see. Real Postgres and Redis.
import { afterAll, beforeAll, describe, expect, test } from 'bun:test'
import { and, eq, sql } from 'drizzle-orm'
import { alerts, auditLog, orderRisk, orders, riskRules } from '../db/schema'
import { db } from '../src/infra/db'
import { holdOrder } from '../src/modules/orders/risk-actions'
import { expireOverdueOrders } from '../src/modules/orders/service'
import { settlePaymentFailure, settlePaymentSuccess } from '../src/modules/orders/settlement'
import type { RiskRules } from '../src/modules/risk/model'
import { DEFAULT_RULES, forgetRulesCache } from '../src/modules/risk/rules'
import { rescoreOnPayment } from '../src/modules/risk/service'
import { createUser, req } from './helpers'
import { history, order, pay, productWithStock, stock } from './orders-fixtures'

const admin = await createUser('admin')
/** Fresh accounts ordering ≥ 3 units are held (score 0.6), ≥ 6 units refused (score 1). */
const HOLD_RULES: RiskRules = structuredClone(DEFAULT_RULES)
HOLD_RULES.reviewThreshold = 0.5
HOLD_RULES.blockThreshold = 0.99
HOLD_RULES.rules.new_account_high_quantity = { enabled: true, weight: 1, threshold: 3, windowSeconds: 86400 }
HOLD_RULES.rules.new_account.enabled = false // test accounts are all new: keep the crafted score exact

const putRules = (rules: RiskRules, token = admin.token) => req('PUT', '/api/v1/admin/risk/rules', { token, body: rules })
const review = (orderId: string, action: 'approve' | 'reject', token = admin.token) =>
  req('POST', `/api/v1/admin/risk/reviews/${orderId}/${action}`, { token })
const auditsOf = async (orderId: string) =>
  (await db.select().from(auditLog)).filter((a) => (a.details as { orderId?: string }).orderId === orderId)

async function heldOrder(units = 3) {
  const u = await createUser()
  const p = await productWithStock(10)
  const r = await order(u.token, [{ productId: p, quantity: units }])
  expect(r.status).toBe(201)
  expect(r.body.status).toBe('on_hold')
  return { u, p, o: r.body }
}

// Rules are one row of the shared test database: start from the built-in defaults, leave them too.
beforeAll(async () => {
  await db.delete(riskRules)
  forgetRulesCache()
})
afterAll(async () => {
  await db.delete(riskRules)
  forgetRulesCache()
})

describe('rules', () => {
  test('customers get 403 on every risk route; admins read the defaults', async () => {
    const c = await createUser()
    const someId = Bun.randomUUIDv7()
    for (const [m, path] of [
      ['GET', '/api/v1/admin/risk/rules'],
      ['PUT', '/api/v1/admin/risk/rules'],
      ['GET', '/api/v1/admin/risk/reviews'],
      ['GET', `/api/v1/admin/risk/reviews/${someId}`],
      ['POST', `/api/v1/admin/risk/reviews/${someId}/approve`],
      ['POST', `/api/v1/admin/risk/reviews/${someId}/reject`],
    ] as const) {
      const r = await req(m, path, { token: c.token, body: m === 'PUT' ? DEFAULT_RULES : undefined })
      expect([m, path, r.status]).toEqual([m, path, 403])
    }
    const g = await req('GET', '/api/v1/admin/risk/rules', { token: admin.token })
    expect(g.status).toBe(200)
    expect(g.body).toMatchObject({ ...DEFAULT_RULES, version: 0 })
  })

  test('PUT validates (422 naming the field), saves a new version and is audited', async () => {
    const bad = await putRules({ ...HOLD_RULES, blockThreshold: 0.2 })
    expect(bad.status).toBe(422)
    expect(bad.body.errors[0].field).toBe('blockThreshold')
    const unknown = await putRules({ ...HOLD_RULES, rules: { ...HOLD_RULES.rules, made_up: { enabled: true } } } as never)
    expect(unknown.status).toBe(422)
    const before = (await db.select().from(auditLog).where(eq(auditLog.event, 'risk_rules_change'))).length
    const ok = await putRules(HOLD_RULES)
    expect(ok.status).toBe(200)
    expect(ok.body.version).toBeGreaterThanOrEqual(1)
    expect(ok.body.updatedBy).toBe(`admin:${admin.id}`)
    const after = await db.select().from(auditLog).where(eq(auditLog.event, 'risk_rules_change'))
    expect(after.length).toBe(before + 1)
    expect(after.at(-1)?.userId).toBe(admin.id)
  })
})

describe('held and refused orders', () => {
  test('score ≥ block → 422 risk_declined without reasons; nothing written', async () => {
    await putRules(HOLD_RULES)
    const u = await createUser()
    const p = await productWithStock(10)
    const r = await order(u.token, [{ productId: p, quantity: 6 }])
    expect(r.status).toBe(422)
    expect(r.body.code).toBe('risk_declined')
    expect(r.headers.get('content-type')).toContain('application/problem+json')
    expect(r.text).not.toContain('new_account')
    expect(r.body.reasons).toBeUndefined()
    expect(await stock(p)).toEqual({ onHand: 10, reserved: 0 })
    expect(await db.select().from(orders).where(eq(orders.userId, u.id))).toEqual([])
  })

  test('score ≥ review → on_hold: stock reserved, alert raised, not payable, does not expire; customers see no risk fields', async () => {
    const { u, p, o } = await heldOrder()
    expect(await stock(p)).toEqual({ onHand: 10, reserved: 3 })
    expect(Object.keys(o)).not.toContain('riskScore')
    const mine = await req('GET', `/api/v1/orders/${o.id}`, { token: u.token })
    expect(Object.keys(mine.body)).not.toContain('riskScore')
    expect(Object.keys(mine.body)).not.toContain('riskStatus')
    const asAdmin = await req('GET', `/api/v1/orders/${o.id}`, { token: admin.token })
    expect(asAdmin.body).toMatchObject({ status: 'on_hold', riskScore: 0.6, riskStatus: 'pending' })
    const [alert] = await db
      .select()
      .from(alerts)
      .where(and(eq(alerts.type, 'risk_review'), eq(alerts.subjectId, o.id)))
    expect(alert?.resolvedAt).toBeNull()
    const open = await req('GET', '/api/v1/admin/alerts/general?type=risk_review&status=open&limit=100', { token: admin.token })
    expect(open.body.items.find((a: { subjectId: string }) => a.subjectId === o.id)).toMatchObject({
      type: 'risk_review',
      severity: 'warning',
      status: 'open',
    })
    expect((await req('GET', '/api/v1/admin/alerts/general', { token: u.token })).status).toBe(403)

    const list = await req('GET', '/api/v1/admin/risk/reviews?status=pending&limit=100', { token: admin.token })
    const item = list.body.items.find((i: { orderId: string }) => i.orderId === o.id)
    expect(item).toMatchObject({ orderId: o.id, score: 0.6, status: 'pending' })
    expect(item.reasons[0]).toMatchObject({ code: 'new_account_high_quantity', weight: 0.6 })
    expect(item.reasons[0].detail).toContain('3 units')
    const one = await req('GET', `/api/v1/admin/risk/reviews/${o.id}`, { token: admin.token })
    expect(one.body).toMatchObject({ orderId: o.id, orderStatus: 'on_hold', customer: { userId: u.id, paidOrders: 0 }, linkedAccounts: [] })

    const paid = await pay(u.token, o.id, 'pm_card_ok')
    expect(paid.status).toBe(409)
    expect(paid.body.code).toBe('order_not_payable')
    // Past the normal payment window (15 min) a held order still does not expire.
    await db.execute(sql`update orders set created_at = now() - interval '1 hour' where id = ${o.id}`)
    await expireOverdueOrders()
    expect((await db.select().from(orders).where(eq(orders.id, o.id)))[0]?.status).toBe('on_hold')
    expect(await stock(p)).toEqual({ onHand: 10, reserved: 3 })
  })

  test('past the maximum hold a held order expires and its stock comes back', async () => {
    const { p, o } = await heldOrder()
    await db.execute(sql`update orders set reservation_expires_at = now() - interval '1 second' where id = ${o.id}`)
    await expireOverdueOrders()
    expect((await db.select().from(orders).where(eq(orders.id, o.id)))[0]?.status).toBe('expired')
    expect(await stock(p)).toEqual({ onHand: 10, reserved: 0 })
  })

  test('approve → payable (fresh window), audited once, idempotent; rejecting afterwards → 409', async () => {
    const { u, o } = await heldOrder()
    const a = await review(o.id, 'approve')
    expect(a.status).toBe(200)
    expect(a.body).toMatchObject({ status: 'approved', orderStatus: 'pending_payment', decidedBy: `admin:${admin.id}` })
    expect((await review(o.id, 'approve')).status).toBe(200)
    const r = await review(o.id, 'reject')
    expect(r.status).toBe(409)
    expect(r.body.code).toBe('review_already_decided')
    expect((await auditsOf(o.id)).map((x) => x.event)).toEqual(['risk_review_approve'])
    const [row] = await db.select().from(orders).where(eq(orders.id, o.id))
    expect(row!.reservationExpiresAt.getTime()).toBeGreaterThan(Date.now() + 800_000)
    expect((await pay(u.token, o.id, 'pm_card_ok')).status).toBe(202)
    const [alert] = await db.select().from(alerts).where(eq(alerts.subjectId, o.id))
    expect(alert?.resolvedAt).not.toBeNull()
  })

  test('reject → cancelled, stock released; unknown or unflagged orders → 404', async () => {
    const { p, o } = await heldOrder()
    const r = await review(o.id, 'reject')
    expect(r.body).toMatchObject({ status: 'rejected', orderStatus: 'cancelled' })
    expect(await stock(p)).toEqual({ onHand: 10, reserved: 0 })
    expect((await review(o.id, 'reject')).status).toBe(200)
    expect((await review(Bun.randomUUIDv7(), 'approve')).status).toBe(404)
    const u = await createUser()
    const plain = await order(u.token, [{ productId: p, quantity: 1 }])
    expect(plain.body.status).toBe('pending_payment')
    expect((await review(plain.body.id, 'approve')).status).toBe(404)
    expect((await req('GET', `/api/v1/admin/risk/reviews/${plain.body.id}`, { token: admin.token })).status).toBe(404)
  })

  test('10 concurrent approve/reject: one decision, one effect', async () => {
    const { p, o } = await heldOrder()
    const rs = await Promise.all(Array.from({ length: 10 }, (_, i) => review(o.id, i % 2 ? 'approve' : 'reject')))
    expect(rs.every((r) => r.status === 200 || r.status === 409)).toBe(true)
    const [risk] = await db.select().from(orderRisk).where(eq(orderRisk.orderId, o.id))
    const won = risk!.status
    expect(['approved', 'rejected']).toContain(won)
    // Every answer agrees on the winner: 200s for the winning decision, 409s for the other.
    for (const [i, r] of rs.entries()) expect(r.status).toBe((i % 2 ? 'approved' : 'rejected') === won ? 200 : 409)
    expect((await auditsOf(o.id)).length).toBe(1)
    const transitions = (await history(o.id)).filter((h) => h.fromStatus === 'on_hold')
    expect(transitions.length).toBe(1)
    expect(await stock(p)).toEqual({ onHand: 10, reserved: won === 'rejected' ? 0 : 3 })
  })
})

describe('re-scoring on payment outcomes', () => {
  test('a decline that tips the score holds the order (once); a flagged paid order is refunded on reject', async () => {
    await putRules(DEFAULT_RULES)
    const u = await createUser()
    const p = await productWithStock(10)
    const o = (await order(u.token, [{ productId: p, quantity: 1 }])).body
    expect(o.status).toBe('pending_payment')
    const attempt = await pay(u.token, o.id, 'pm_card_declined')
    await settlePaymentFailure(attempt.body.id, 'declined', 'test')
    const strict = structuredClone(DEFAULT_RULES)
    strict.rules.velocity_customer_failed_payments = { enabled: true, weight: 0.9, threshold: 1, windowSeconds: 3600 }
    await putRules(strict)
    const e = { paymentId: attempt.body.id, orderId: o.id, method: 'pm_card_declined', outcome: 'failed' as const }
    expect(await rescoreOnPayment(e, holdOrder)).toMatchObject({ status: 'pending', held: true })
    expect((await db.select().from(orders).where(eq(orders.id, o.id)))[0]?.status).toBe('on_hold')
    expect(await rescoreOnPayment(e, holdOrder)).toMatchObject({ status: 'pending', held: false })
    expect((await history(o.id)).filter((h) => h.toStatus === 'on_hold').length).toBe(1)

    await putRules(DEFAULT_RULES)
    const v = await createUser()
    const paidOrder = (await order(v.token, [{ productId: p, quantity: 3 }])).body
    const ok = await pay(v.token, paidOrder.id, 'pm_card_ok')
    await settlePaymentSuccess(ok.body.id, 'ch_test', 'test')
    await putRules(HOLD_RULES)
    const flagged = await rescoreOnPayment(
      { paymentId: ok.body.id, orderId: paidOrder.id, method: 'pm_card_ok', outcome: 'succeeded' },
      holdOrder,
    )
    expect(flagged).toMatchObject({ status: 'pending', held: false })
    const r = await review(paidOrder.id, 'reject')
    expect(r.body).toMatchObject({ status: 'rejected', orderStatus: 'refunded' })
  })
})
