// What a risk decision does to an order. The risk module is a leaf and never imports orders: the
// app hands these to its routes (src/app.ts) and the risk job hands in holdOrder.
import { eq, sql } from 'drizzle-orm'
import { orders } from '../../../db/schema'
import { config } from '../../config'
import { db, type Tx } from '../../infra/db'
import type { OrderReviewActions } from '../risk/review'
import { type AfterCommit, runAfterCommit, settleCancellation } from './settlement'
import { transition } from './state'

async function lock(tx: Tx, orderId: string) {
  const [o] = await tx.select({ id: orders.id, status: orders.status }).from(orders).where(eq(orders.id, orderId)).for('update')
  return o ?? null
}

export const orderReviewActions: OrderReviewActions = {
  async approve(tx, orderId, actor) {
    const o = await lock(tx, orderId)
    if (o?.status !== 'on_hold') return null // already paid (flagged after payment), cancelled or expired
    // A fresh payment window from the approval: the buyer could not pay while the order was held.
    await tx
      .update(orders)
      .set({ reservationExpiresAt: sql`now() + make_interval(secs => ${config.RESERVATION_TTL_SECONDS})` })
      .where(eq(orders.id, orderId))
    await transition(tx, { orderId, from: 'on_hold', to: 'pending_payment', actor, reason: 'risk review approved' })
    return null
  },
  async reject(tx, orderId, actor) {
    const o = await lock(tx, orderId)
    if (!o) return null
    if (o.status !== 'on_hold' && o.status !== 'pending_payment' && o.status !== 'payment_failed' && o.status !== 'paid') return null
    // The same rules as a cancel: stock released, a pending charge cancelled, a paid order refunded.
    return settleCancellation(tx, o, actor)
  },
  async afterCommit(work) {
    if (work) await runAfterCommit(work as AfterCommit)
  },
  async statusOf(orderId) {
    const [o] = await db.select({ status: orders.status }).from(orders).where(eq(orders.id, orderId))
    return o?.status ?? null
  },
}

/** A failed payment pushed the score over the review threshold: hold the order until reviewed. */
export async function holdOrder(tx: Tx, orderId: string, until: Date): Promise<boolean> {
  const o = await lock(tx, orderId)
  if (o?.status !== 'payment_failed') return false
  await tx.update(orders).set({ reservationExpiresAt: until }).where(eq(orders.id, orderId))
  await transition(tx, { orderId, from: 'payment_failed', to: 'on_hold', actor: 'system:risk', reason: 'held for risk review' })
  return true
}
