// Payments: start a payment (row + BullMQ charge job), run one charge attempt against the gateway,
// and settle the outcome — the same settle functions serve the job and the signed webhook, and
// each is conditional on the payment still being `pending`, so whichever arrives second is a no-op.
import { and, eq, sql } from 'drizzle-orm'
import { orderItems, orders, payments } from '../../../db/schema'
import { enqueuePayment } from '../../../jobs/queues'
import { db, type Tx } from '../../infra/db'
import { logger } from '../../infra/logger'
import { counter } from '../../infra/metrics'
import { ConflictError, NotFoundError, UnavailableError } from '../../lib/errors'
import type { AuthUser } from '../../plugins/auth'
import { invalidateProduct } from '../catalog/cache'
import { recordPurchases } from '../catalog/service'
import { commitReservations, releaseReservations, restock } from '../inventory/service'
import type { PaymentView } from '../orders/model'
import { IllegalTransitionError, transition } from '../orders/state'
import { paymentView } from '../orders/views'
import { charge, GatewayDeclinedError, GatewayTransientError, refund } from './gateway'

/** Work that must wait for the commit: cache invalidation and gateway refunds (external I/O). */
export type AfterCommit = {
  invalidate: string[]
  refunds: string[]
  /** units of a refunded, never-fulfilled order go back on the shelf (inventory's own tx + ledger) */
  restocks: { productId: string; quantity: number; reason: string }[]
}
const none = (): AfterCommit => ({ invalidate: [], refunds: [], restocks: [] })

export async function runAfterCommit(a: AfterCommit): Promise<void> {
  for (const key of a.refunds) await refund(key).catch((err) => logger.error({ err, key }, 'gateway refund failed'))
  for (const r of a.restocks) {
    await restock(r.productId, r.quantity, r.reason).catch((err) => logger.error({ err, ...r }, 'restock after refund failed'))
  }
  if (a.invalidate.length) await invalidateProduct(...a.invalidate)
}

const attemptsTotal = counter('payment_attempts_total', 'Charge attempts by outcome (succeeded, failed, retry, noop)', ['outcome'])

/**
 * One gateway key per payment attempt: the gateway charges a key at most once, and a declined key
 * stays declined, so a new attempt (after a failure, with another method) needs its own key. At
 * most one attempt of an order can be live or succeeded (payments_one_live_per_order).
 */
const gatewayKeyOf = (paymentId: string) => `pay_${paymentId}`

async function itemsOf(tx: Tx, orderId: string) {
  return tx
    .select({ productId: orderItems.productId, quantity: orderItems.quantity, unitPriceCents: orderItems.unitPriceCents })
    .from(orderItems)
    .where(eq(orderItems.orderId, orderId))
    .orderBy(orderItems.productId)
}

/**
 * POST /orders/:id/pay. Creates the pending payment row, then enqueues the charge job. If Redis
 * (BullMQ) is down the row is removed again and the client gets 503: no half state, nothing charged.
 */
export async function startPayment(
  user: Pick<AuthUser, 'id'>,
  orderId: string,
  paymentMethod: string,
  requestKey: string,
): Promise<PaymentView> {
  const row = await db.transaction(async (tx) => {
    const [order] = await tx.select().from(orders).where(eq(orders.id, orderId)).for('update')
    if (!order || order.userId !== user.id) throw new NotFoundError('Order')
    const [live] = await tx
      .select()
      .from(payments)
      .where(and(eq(payments.orderId, orderId), sql`${payments.status} in ('pending', 'succeeded')`))
    if (live) {
      if (live.requestKey === requestKey) return { payment: live, fresh: false }
      throw new ConflictError(
        live.status === 'succeeded' ? 'This order is already paid' : 'A payment for this order is already in progress',
        live.status === 'succeeded' ? 'already_paid' : 'payment_in_progress',
        { paymentId: live.id },
      )
    }
    if (order.status !== 'pending_payment' && order.status !== 'payment_failed') {
      // `orderStatus`, not `status`: that member of a problem is the HTTP status code.
      throw new ConflictError(`An order in status ${order.status} cannot be paid`, 'order_not_payable', { orderStatus: order.status })
    }
    if (order.reservationExpiresAt.getTime() <= Date.now()) {
      throw new ConflictError('The reservation of this order has expired', 'order_not_payable', {
        orderStatus: order.status,
        reservationExpiresAt: order.reservationExpiresAt.toISOString(),
      })
    }
    // A failed attempt left the order payable (its stock still reserved): this is the next attempt.
    if (order.status === 'payment_failed') {
      await transition(tx, { orderId, from: 'payment_failed', to: 'pending_payment', actor: `user:${user.id}`, reason: 'payment retried' })
    }
    const id = Bun.randomUUIDv7()
    const [payment] = await tx
      .insert(payments)
      .values({
        id,
        orderId,
        method: paymentMethod,
        amountCents: order.totalCents,
        currency: order.currency,
        idempotencyKey: gatewayKeyOf(id),
        requestKey,
      })
      .returning()
    return { payment: payment!, fresh: true }
  })
  if (row.fresh) {
    const p = row.payment
    try {
      // enqueuePayment gives up after ENQUEUE_TIMEOUT_MS (BullMQ would wait for Redis forever). Should
      // the add still land later, its job finds no pending payment row and does nothing.
      await enqueuePayment({ orderId, attemptId: p.id, paymentMethod, idempotencyKey: p.idempotencyKey })
    } catch (err) {
      await db.delete(payments).where(and(eq(payments.id, p.id), eq(payments.status, 'pending'), eq(payments.attempts, 0)))
      logger.warn({ err: (err as Error).message, orderId }, 'payment queue unavailable; payment not started')
      throw new UnavailableError('The payment queue is unavailable; nothing was charged, retry shortly')
    }
  }
  return paymentView(row.payment)
}

export type PendingPayment = { id: string; orderId: string; method: string; idempotencyKey: string; attempts: number }

/**
 * Payments still `pending` that were created more than `graceMs` ago, a page at a time (by id,
 * UUIDv7). Each should have a live charge job; after Redis lost its data none has, and the worker
 * re-enqueues them (same job id, so an existing job makes that a no-op). The grace must outlast
 * startPayment's own enqueue (ENQUEUE_TIMEOUT_MS) and its clean-up of a row whose enqueue failed.
 */
export async function findPendingPayments(q: { after?: string; graceMs: number; limit: number }): Promise<PendingPayment[]> {
  return db
    .select({
      id: payments.id,
      orderId: payments.orderId,
      method: payments.method,
      idempotencyKey: payments.idempotencyKey,
      attempts: payments.attempts,
    })
    .from(payments)
    .where(
      and(
        eq(payments.status, 'pending'),
        sql`${payments.createdAt} <= now() - make_interval(secs => ${q.graceMs / 1000})`,
        q.after ? sql`${payments.id} > ${q.after}` : undefined,
      ),
    )
    .orderBy(payments.id)
    .limit(q.limit)
}

export type AttemptOutcome = { outcome: 'succeeded' | 'failed' | 'retry' | 'noop'; detail: string }

/** One try of the charge job. `attempt` is 1-based; the last try turns a transient error final. */
export async function runChargeAttempt(paymentId: string, attempt: number, maxAttempts: number): Promise<AttemptOutcome> {
  const r = await chargeAttempt(paymentId, attempt, maxAttempts)
  attemptsTotal.inc({ outcome: r.outcome })
  return r
}

async function chargeAttempt(paymentId: string, attempt: number, maxAttempts: number): Promise<AttemptOutcome> {
  const [p] = await db
    .update(payments)
    .set({ attempts: sql`${payments.attempts} + 1`, updatedAt: sql`now()` })
    .where(and(eq(payments.id, paymentId), eq(payments.status, 'pending')))
    .returning()
  if (!p) return { outcome: 'noop', detail: 'payment is no longer pending' }
  const [order] = await db.select({ status: orders.status }).from(orders).where(eq(orders.id, p.orderId))
  if (order?.status !== 'pending_payment') {
    await db
      .update(payments)
      .set({ status: 'cancelled', lastError: `order is ${order?.status ?? 'gone'}`, updatedAt: sql`now()` })
      .where(and(eq(payments.id, paymentId), eq(payments.status, 'pending')))
    return { outcome: 'noop', detail: `order is ${order?.status}` }
  }
  try {
    const ch = await charge({ idempotencyKey: p.idempotencyKey, amountCents: p.amountCents, currency: p.currency, paymentMethod: p.method })
    await settlePaymentSuccess(paymentId, ch.chargeId, 'system:payments')
    return { outcome: 'succeeded', detail: ch.chargeId }
  } catch (err) {
    if (err instanceof GatewayDeclinedError) {
      await settlePaymentFailure(paymentId, err.message, 'system:payments')
      return { outcome: 'failed', detail: err.message }
    }
    const message = err instanceof GatewayTransientError ? err.message : `unexpected: ${(err as Error).message}`
    if (attempt >= maxAttempts) {
      await settlePaymentFailure(paymentId, `${message} (after ${attempt} attempts)`, 'system:payments')
      return { outcome: 'failed', detail: message }
    }
    await db.update(payments).set({ lastError: message, updatedAt: sql`now()` }).where(eq(payments.id, paymentId))
    return { outcome: 'retry', detail: message }
  }
}

/**
 * Locks the order a payment belongs to (order row first, payment row second — the same order as
 * cancel and expiry, so settling can't deadlock with them). null when the payment doesn't exist.
 */
async function lockOrderOfPayment(
  tx: Tx,
  paymentId: string,
): Promise<Pick<typeof orders.$inferSelect, 'status' | 'reservationExpiresAt'> | null> {
  const [ref] = await tx.select({ orderId: payments.orderId }).from(payments).where(eq(payments.id, paymentId))
  if (!ref) return null
  const [order] = await tx
    .select({ status: orders.status, reservationExpiresAt: orders.reservationExpiresAt })
    .from(orders)
    .where(eq(orders.id, ref.orderId))
    .for('update')
  return order ?? null
}

/**
 * The charge went through: payment succeeded, order paid, stock committed, purchases counted.
 * Runs in the caller's transaction; the caller runs `after` once it has committed.
 */
export async function settlePaymentSuccessTx(
  tx: Tx,
  paymentId: string,
  chargeId: string,
  actor: string,
): Promise<{ applied: boolean; after: AfterCommit }> {
  const after = none()
  const order = await lockOrderOfPayment(tx, paymentId)
  if (!order) return { applied: false, after }
  const [p] = await tx
    .update(payments)
    .set({ status: 'succeeded', gatewayChargeId: chargeId, lastError: null, updatedAt: sql`now()` })
    .where(and(eq(payments.id, paymentId), eq(payments.status, 'pending')))
    .returning()
  if (!p) {
    // Already settled. If it was cancelled/failed meanwhile, the money must go back.
    const [cur] = await tx.select().from(payments).where(eq(payments.id, paymentId))
    if (cur && (cur.status === 'cancelled' || cur.status === 'failed')) {
      await tx
        .update(payments)
        .set({ status: 'refunded', gatewayChargeId: chargeId, updatedAt: sql`now()` })
        .where(eq(payments.id, paymentId))
      after.refunds.push(cur.idempotencyKey)
    }
    return { applied: false, after }
  }
  if (order?.status !== 'pending_payment') {
    // The order expired or was cancelled while the charge was in flight: refund it.
    await tx
      .update(payments)
      .set({ status: 'refunded', lastError: `order was ${order?.status} when the charge completed`, updatedAt: sql`now()` })
      .where(eq(payments.id, paymentId))
    after.refunds.push(p.idempotencyKey)
    return { applied: false, after }
  }
  const lines = await itemsOf(tx, p.orderId)
  // The lines ride along so the receipt email renders from the event alone.
  await transition(tx, { orderId: p.orderId, from: 'pending_payment', to: 'paid', actor, payload: { paymentId, chargeId, items: lines } })
  await commitReservations(tx, p.orderId)
  after.invalidate.push(...(await recordPurchases(tx, lines)))
  return { applied: true, after }
}

export async function settlePaymentSuccess(paymentId: string, chargeId: string, actor: string): Promise<boolean> {
  const r = await db.transaction((tx) => settlePaymentSuccessTx(tx, paymentId, chargeId, actor))
  await runAfterCommit(r.after)
  return r.applied
}

/**
 * The charge failed for good: payment failed, order payment_failed (caller's tx). The reservation
 * is kept: until it expires the buyer can pay again with another method, or cancel.
 */
export async function settlePaymentFailureTx(
  tx: Tx,
  paymentId: string,
  reason: string,
  actor: string,
): Promise<{ applied: boolean; after: AfterCommit }> {
  const after = none()
  const order = await lockOrderOfPayment(tx, paymentId)
  if (!order) return { applied: false, after }
  const [p] = await tx
    .update(payments)
    .set({ status: 'failed', lastError: reason, updatedAt: sql`now()` })
    .where(and(eq(payments.id, paymentId), eq(payments.status, 'pending')))
    .returning()
  if (!p) return { applied: false, after }
  if (order?.status !== 'pending_payment') return { applied: true, after }
  // The expiry rides along: the "payment failed" email says until when the order can be paid again.
  const payload = { paymentId, reservationExpiresAt: order.reservationExpiresAt.toISOString() }
  await transition(tx, { orderId: p.orderId, from: 'pending_payment', to: 'payment_failed', actor, reason, payload })
  return { applied: true, after }
}

export async function settlePaymentFailure(paymentId: string, reason: string, actor: string): Promise<boolean> {
  const r = await db.transaction((tx) => settlePaymentFailureTx(tx, paymentId, reason, actor))
  await runAfterCommit(r.after)
  return r.applied
}

/**
 * The cancel rules (called by the orders service with the order row locked):
 * pending_payment or payment_failed → cancelled (release stock, cancel a not-yet-charged payment);
 * paid → refunded (refund the charge at the gateway after commit). Others → 409.
 */
export async function settleCancellation(
  tx: Tx,
  order: { id: string; status: (typeof orders.$inferSelect)['status'] },
  actor: string,
): Promise<AfterCommit> {
  const after = none()
  const productIds = async () => (await itemsOf(tx, order.id)).map((l) => l.productId)
  if (order.status === 'pending_payment' || order.status === 'payment_failed') {
    await releaseReservations(tx, order.id, 'released')
    await transition(tx, { orderId: order.id, from: order.status, to: 'cancelled', actor, reason: 'cancelled by request' })
    // A charge already in flight (attempts > 0) is refunded by settlePaymentSuccess if it lands.
    await tx
      .update(payments)
      .set({ status: 'cancelled', lastError: 'order cancelled', updatedAt: sql`now()` })
      .where(and(eq(payments.orderId, order.id), eq(payments.status, 'pending')))
    after.invalidate.push(...(await productIds()))
    return after
  }
  if (order.status === 'paid') {
    const [p] = await tx
      .update(payments)
      .set({ status: 'refunded', updatedAt: sql`now()` })
      .where(and(eq(payments.orderId, order.id), eq(payments.status, 'succeeded')))
      .returning()
    await transition(tx, {
      orderId: order.id,
      from: 'paid',
      to: 'refunded',
      actor,
      reason: 'cancelled after payment',
      payload: { paymentId: p?.id ?? null },
    })
    if (p) after.refunds.push(p.idempotencyKey)
    for (const l of await itemsOf(tx, order.id))
      after.restocks.push({ productId: l.productId, quantity: l.quantity, reason: `refund of order ${order.id}` })
    return after
  }
  throw new IllegalTransitionError(order.status, 'cancelled')
}
