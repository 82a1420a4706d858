// Risk scoring at checkout and on payment events. The orders module calls assessCheckout() once
// per checkout (one Redis script call + arithmetic) and writes riskRowInsert() into the same
// statement as the order; payment outcomes arrive through the outbox (jobs/processors/risk.ts).
// Leaf module: it never imports orders; what it must do to an order (hold it) it is handed.
import { and, eq, sql } from 'drizzle-orm'
import type postgres from 'postgres'
import { orderRisk, riskPaymentEvents } from '../../../db/schema'
import { config } from '../../config'
import { db, type Tx } from '../../infra/db'
import { logger } from '../../infra/logger'
import { counter } from '../../infra/metrics'
import { withRedis } from '../../infra/redis'
import { AppError } from '../../lib/errors'
import { raiseAlert } from '../alerts/general'
import { gatherFeatures, type PaymentSignal, recordPayment } from './features'
import type { Reason, RiskRules } from './model'
import { cachedRules, getRules } from './rules'
import { type ScoreEvent, scoreOrder } from './score'

const decisions = counter('risk_decisions_total', 'Checkout risk decisions (accept, review, block) and degraded scorings', [
  'decision',
  'degraded',
])

/** 422 for the buyer: deliberately says nothing about why (reasons would teach fraudsters the rules). */
export class RiskDeclinedError extends AppError {
  constructor() {
    super(422, 'risk_declined', 'Unprocessable Content', 'This order cannot be accepted. Contact support if you think this is a mistake.')
  }
}

export type CheckoutAssessment = {
  score: number
  reasons: Reason[]
  degraded: boolean
  decision: 'accept' | 'review' | 'block'
  /** for a held order: when its reservation (and the hold) ends */
  holdUntil: Date | null
  ip: string | null
  amountCents: number
  quantity: number
  currency: string
}

/** Loopback and in-process callers carry no client signal (the proxy or the app itself). */
export function riskIp(ip: string | null | undefined): string | null {
  if (!ip || ip === 'local' || ip === '::1' || ip.startsWith('127.') || ip === '::ffff:127.0.0.1') return null
  return ip
}

async function rulesNow(): Promise<RiskRules> {
  return cachedRules() ?? (await getRules())
}

/**
 * Scores a checkout before stock is reserved. Never throws for a missing dependency: Redis down →
 * Postgres features, both down → the order alone (marked degraded). Returns null when risk
 * scoring is switched off (RISK_ENABLED=false).
 */
export async function assessCheckout(o: {
  orderId: string
  userId: string
  ip: string | null
  currency: string
  amountCents: number
  quantity: number
  now?: Date
}): Promise<CheckoutAssessment | null> {
  if (!config.RISK_ENABLED) return null
  const rules = await rulesNow().catch(() => null)
  if (!rules) return null
  const nowMs = (o.now ?? new Date()).getTime()
  const ip = riskIp(o.ip)
  const f = await gatherFeatures(
    { userId: o.userId, ip, currency: o.currency, orderId: o.orderId, nowMs, record: true },
    rules,
    config.RISK_FEATURES_TIMEOUT_MS,
  )
  const s = scoreOrder(f, o, rules, 'checkout')
  const decision = s.score >= rules.blockThreshold ? 'block' : s.score >= rules.reviewThreshold ? 'review' : 'accept'
  decisions.inc({ decision, degraded: String(f.degraded) })
  return {
    ...s,
    degraded: f.degraded,
    decision,
    holdUntil: decision === 'review' ? new Date(nowMs + rules.maxHoldSeconds * 1000) : null,
    ip,
    amountCents: o.amountCents,
    quantity: o.quantity,
    currency: o.currency,
  }
}

/** The order_risk INSERT as a fragment of the checkout's single statement (see orders/service.ts). */
export function riskRowInsert(p: postgres.TransactionSql, orderId: string, userId: string, a: CheckoutAssessment, createdAt: Date) {
  const status = a.decision === 'review' ? 'pending' : 'none'
  return p`insert into order_risk (order_id, user_id, ip, amount_cents, quantity, currency, score, reasons, status, degraded, created_at)
    values (${orderId}, ${userId}, ${a.ip}, ${a.amountCents}, ${a.quantity}, ${a.currency}, ${a.score},
            ${JSON.stringify(a.reasons)}::jsonb, ${status}, ${a.degraded}, ${createdAt.toISOString()})`
}

/** The alert an admin sees for a held order (written in the checkout's transaction). */
export async function raiseReviewAlert(tx: Tx, orderId: string, score: number, reasons: Reason[]): Promise<void> {
  await raiseAlert(tx, {
    type: 'risk_review',
    severity: score >= 0.8 ? 'critical' : 'warning',
    subjectId: orderId,
    message: `Order ${orderId} held for risk review (score ${score})`,
    details: { score, reasons: reasons.map((r) => r.code) },
  })
}

/** What the payments side knows about one outcome (the job looks it up through payments). */
export type PaymentOutcome = { paymentId: string; orderId: string; method: string; outcome: 'failed' | 'succeeded'; at?: Date }

/** Holds an unpaid order for review (orders implements it; the risk job hands it in). */
export type HoldOrder = (tx: Tx, orderId: string, until: Date) => Promise<boolean>

/**
 * Re-scores an order after a payment outcome: records it (Postgres row, idempotent by payment id;
 * Redis windows and spending moments), re-reads the features and keeps the higher score. Reaching
 * the review threshold puts the review in `pending`, raises the alert and, for an unpaid order,
 * holds it; a paid one stays paid (rejecting it refunds).
 */
export async function rescoreOnPayment(
  e: PaymentOutcome,
  hold: HoldOrder,
): Promise<{ score: number; status: string; held: boolean } | null> {
  if (!config.RISK_ENABLED) return null
  const [row] = await db.select().from(orderRisk).where(eq(orderRisk.orderId, e.orderId))
  if (!row) return null // an order scored before risk existed (or with scoring off)
  const at = e.at ?? new Date()
  await db
    .insert(riskPaymentEvents)
    .values({ paymentId: e.paymentId, orderId: e.orderId, userId: row.userId, ip: row.ip, method: e.method, outcome: e.outcome, at })
    .onConflictDoNothing()
  const rules = await getRules()
  const signal: PaymentSignal = {
    ...e,
    userId: row.userId,
    ip: row.ip,
    amountCents: row.amountCents,
    currency: row.currency,
    nowMs: at.getTime(),
  }
  const recorded = await withRedis(
    (r) => recordPayment(r, signal, rules),
    () => ({ newMethod: false }),
  )
  const event: ScoreEvent = e.outcome === 'succeeded' ? 'payment_succeeded' : 'payment_failed'
  const f = await gatherFeatures(
    { userId: row.userId, ip: row.ip, currency: row.currency, orderId: row.orderId, nowMs: at.getTime(), record: false },
    rules,
    config.RISK_FEATURES_TIMEOUT_MS * 4,
  )
  const s = scoreOrder({ ...f, newPaymentMethod: recorded.newMethod }, row, rules, event)
  const review = s.score >= rules.reviewThreshold
  return db.transaction(async (tx) => {
    // Order row lock order: order_risk first, then (inside `hold`) the order — as in decide().
    const [cur] = await tx.select().from(orderRisk).where(eq(orderRisk.orderId, e.orderId)).for('update')
    if (!cur) return null
    if (e.outcome === 'succeeded' && !cur.paidAt) await tx.update(orderRisk).set({ paidAt: at }).where(eq(orderRisk.orderId, e.orderId))
    if (s.score <= cur.score) return { score: cur.score, status: cur.status, held: false }
    const toPending = review && cur.status === 'none'
    await tx
      .update(orderRisk)
      .set({
        score: s.score,
        reasons: s.reasons,
        degraded: f.degraded,
        rescoredAt: at,
        ...(toPending ? { status: 'pending' as const } : {}),
      })
      .where(and(eq(orderRisk.orderId, e.orderId), eq(orderRisk.status, cur.status)))
    let held = false
    if (toPending) {
      await raiseReviewAlert(tx, e.orderId, s.score, s.reasons)
      if (e.outcome === 'failed') held = await hold(tx, e.orderId, new Date(Date.now() + rules.maxHoldSeconds * 1000))
      logger.info({ orderId: e.orderId, score: s.score, held }, 'order flagged for risk review after a payment event')
    }
    return { score: s.score, status: toPending ? 'pending' : cur.status, held }
  })
}

/** riskScore / riskStatus of orders, for the admin order view (absent row → unscored). */
export async function riskOf(tx: Tx | typeof db, orderIds: string[]): Promise<Map<string, { score: number; status: string }>> {
  if (orderIds.length === 0) return new Map()
  const rows = await tx
    .select({ orderId: orderRisk.orderId, score: orderRisk.score, status: orderRisk.status })
    .from(orderRisk)
    .where(sql`${orderRisk.orderId} in ${orderIds}`)
  return new Map(rows.map((r) => [r.orderId, { score: r.score, status: r.status }]))
}
