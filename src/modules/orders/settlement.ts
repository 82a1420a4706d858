// What a payment's outcome means for its order (orders orchestrates; payments and inventory are
// leaves): paid (stock committed, purchases counted), payment_failed (reservation kept), cancelled
// (stock released, pending payment cancelled) or refunded (refund at the gateway, units back on
// the shelf). Each runs in the caller's transaction with the order row locked first (the same lock
// order as cancel and expiry, so settling can't deadlock with them), and returns the work that
// must wait for the commit.
import { eq } from 'drizzle-orm'
import { orderItems, orders } from '../../../db/schema'
import { db, type Tx } from '../../infra/db'
import { logger } from '../../infra/logger'
import { invalidateProduct } from '../catalog/cache'
import { recordPurchases } from '../catalog/service'
import type { StockLine } from '../inventory/model'
import { commitReservations, releaseReservations, restock } from '../inventory/service'
import { refund } from '../payments/gateway'
import { cancelPending, markFailed, markRefunded, markSucceeded, orderOfPayment, refundLateCharge } from '../payments/service'
import { onChargeOutcome } from '../payments/webhook'
import { IllegalTransitionError, transition } from './state'

/** Work that must wait for the commit: cache invalidation and gateway refunds (external I/O). */
export type AfterCommit = {
  invalidate: string[]
  refunds: string[]
  /** units of a refunded, never-fulfilled order go back on the shelf (inventory's own tx + ledger) */
  restocks: (StockLine & { reason: string })[]
}
const none = (): AfterCommit => ({ invalidate: [], refunds: [], restocks: [] })

export async function runAfterCommit(a: AfterCommit): Promise<void> {
  for (const key of a.refunds) await refund(key).catch((err) => logger.error({ err, key }, 'gateway refund failed'))
  for (const r of a.restocks) {
    await restock(r.productId, r.quantity, r.reason).catch((err) => logger.error({ err, ...r }, 'restock after refund failed'))
  }
  if (a.invalidate.length) await invalidateProduct(...a.invalidate)
}

async function itemsOf(tx: Tx, orderId: string) {
  return tx
    .select({ productId: orderItems.productId, quantity: orderItems.quantity, unitPriceCents: orderItems.unitPriceCents })
    .from(orderItems)
    .where(eq(orderItems.orderId, orderId))
    .orderBy(orderItems.productId)
}

/** Locks the order a payment belongs to (order row first, payment row second). null when the payment doesn't exist. */
async function lockOrderOfPayment(tx: Tx, paymentId: string) {
  const orderId = await orderOfPayment(tx, paymentId)
  if (!orderId) return null
  const [order] = await tx
    .select({ status: orders.status, reservationExpiresAt: orders.reservationExpiresAt })
    .from(orders)
    .where(eq(orders.id, orderId))
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
  const p = await markSucceeded(tx, paymentId, chargeId)
  if (!p) {
    // Already settled. If it was cancelled/failed meanwhile, the money must go back.
    const key = await refundLateCharge(tx, paymentId, chargeId)
    if (key) after.refunds.push(key)
    return { applied: false, after }
  }
  if (order?.status !== 'pending_payment') {
    // The order expired or was cancelled while the charge was in flight: refund it.
    await markRefunded(tx, { paymentId, lastError: `order was ${order?.status} when the charge completed` })
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
  const p = await markFailed(tx, paymentId, reason)
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

// The signed webhook (payments verifies and deduplicates it) lands here.
onChargeOutcome(async (tx, e) => {
  const r =
    e.type === 'charge.succeeded'
      ? await settlePaymentSuccessTx(tx, e.paymentId, e.chargeId, e.actor)
      : await settlePaymentFailureTx(tx, e.paymentId, e.reason, e.actor)
  return () => runAfterCommit(r.after)
})

/**
 * The cancel rules (with the order row locked):
 * pending_payment, payment_failed or on_hold → cancelled (release stock, cancel a not-yet-charged payment);
 * paid → refunded (refund the charge at the gateway after commit). Others → 409.
 */
export async function settleCancellation(
  tx: Tx,
  order: { id: string; status: (typeof orders.$inferSelect)['status'] },
  actor: string,
): Promise<AfterCommit> {
  const after = none()
  if (order.status === 'pending_payment' || order.status === 'payment_failed' || order.status === 'on_hold') {
    await releaseReservations(tx, order.id, 'released')
    await transition(tx, { orderId: order.id, from: order.status, to: 'cancelled', actor, reason: 'cancelled by request' })
    // A charge already in flight (attempts > 0) is refunded by settlePaymentSuccess if it lands.
    await cancelPending(tx, { orderId: order.id }, 'order cancelled')
    after.invalidate.push(...(await itemsOf(tx, order.id)).map((l) => l.productId))
    return after
  }
  if (order.status === 'paid') {
    const p = await markRefunded(tx, { orderId: order.id })
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
