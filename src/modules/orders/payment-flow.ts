// Paying an order: POST /orders/:id/pay (a pending payment row + the charge job) and one try of
// the charge job (jobs/processors/payments.ts). Orders decides whether its order may be paid and
// what the gateway's answer means (settlement.ts); payments owns the rows and the gateway.
import { eq } from 'drizzle-orm'
import { orders } from '../../../db/schema'
import { db } from '../../infra/db'
import { logger } from '../../infra/logger'
import { counter } from '../../infra/metrics'
import { enqueuePayment } from '../../infra/queues'
import { ConflictError, NotFoundError, UnavailableError } from '../../lib/errors'
import type { AuthUser } from '../../plugins/auth'
import { charge, GatewayDeclinedError, GatewayTransientError } from '../payments/gateway'
import type { PaymentView } from '../payments/model'
import {
  cancelPending,
  dropUnstartedPayment,
  insertPayment,
  livePayment,
  noteAttemptError,
  paymentView,
  startAttempt,
} from '../payments/service'
import { settlePaymentFailure, settlePaymentSuccess } from './settlement'
import { transition } from './state'

const attemptsTotal = counter('payment_attempts_total', 'Charge attempts by outcome (succeeded, failed, retry, noop)', ['outcome'])

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
    const live = await livePayment(tx, orderId)
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
    const payment = await insertPayment(tx, {
      orderId,
      method: paymentMethod,
      amountCents: order.totalCents,
      currency: order.currency,
      requestKey,
    })
    return { payment, fresh: true }
  })
  if (row.fresh) {
    const p = row.payment
    try {
      // enqueuePayment gives up after ENQUEUE_TIMEOUT_MS (BullMQ would wait for Redis forever). Should
      // the add still land later, its job finds no pending payment row and does nothing.
      await enqueuePayment({ orderId, attemptId: p.id, paymentMethod, idempotencyKey: p.idempotencyKey })
    } catch (err) {
      await dropUnstartedPayment(p.id)
      logger.warn({ err: (err as Error).message, orderId }, 'payment queue unavailable; payment not started')
      throw new UnavailableError('The payment queue is unavailable; nothing was charged, retry shortly')
    }
  }
  return paymentView(row.payment)
}

export type AttemptOutcome = { outcome: 'succeeded' | 'failed' | 'retry' | 'noop'; detail: string }

/** One try of the charge job. `attempt` is 1-based; the last try turns a transient error final. */
export async function runChargeAttempt(paymentId: string, attempt: number, maxAttempts: number): Promise<AttemptOutcome> {
  const r = await chargeAttempt(paymentId, attempt, maxAttempts)
  attemptsTotal.inc({ outcome: r.outcome })
  return r
}

async function chargeAttempt(paymentId: string, attempt: number, maxAttempts: number): Promise<AttemptOutcome> {
  const p = await startAttempt(paymentId)
  if (!p) return { outcome: 'noop', detail: 'payment is no longer pending' }
  const [order] = await db.select({ status: orders.status }).from(orders).where(eq(orders.id, p.orderId))
  if (order?.status !== 'pending_payment') {
    await cancelPending(db, { paymentId }, `order is ${order?.status ?? 'gone'}`)
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
    await noteAttemptError(paymentId, message)
    return { outcome: 'retry', detail: message }
  }
}
