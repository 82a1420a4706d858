// Payments, a leaf: the payment rows (the only writer of `payments`), each change conditional on
// the row's status so that whichever of two settlers (the charge job, the signed webhook) arrives
// second is a no-op. The gateway is gateway.ts; what a payment means for its order (paid, failed,
// cancelled, refunded) is decided by orders (orders/settlement.ts), which calls these.
import { and, desc, eq, inArray, sql } from 'drizzle-orm'
import { payments } from '../../../db/schema'
import { type DbOrTx, db, type Tx } from '../../infra/db'
import type { PaymentView } from './model'

type PaymentRow = typeof payments.$inferSelect

export function paymentView(p: PaymentRow): PaymentView {
  return {
    id: p.id,
    orderId: p.orderId,
    status: p.status,
    method: p.method,
    attempts: p.attempts,
    amountCents: p.amountCents,
    currency: p.currency,
    gatewayChargeId: p.gatewayChargeId,
    lastError: p.lastError,
    createdAt: p.createdAt.toISOString(),
    updatedAt: p.updatedAt.toISOString(),
  }
}

/** The latest payment attempt of each order (for order views). */
export async function latestPayments(tx: DbOrTx, orderIds: string[]): Promise<Map<string, PaymentView>> {
  const out = new Map<string, PaymentView>()
  if (orderIds.length === 0) return out
  const rows = await tx.select().from(payments).where(inArray(payments.orderId, orderIds)).orderBy(desc(payments.id))
  for (const p of rows) if (!out.has(p.orderId)) out.set(p.orderId, paymentView(p))
  return out
}

/**
 * One gateway key per payment attempt: the gateway charges a key at most once, and a declined key
 * stays declined, so a new attempt (after a failure, with another method) needs its own key. At
 * most one attempt of an order can be live or succeeded (payments_one_live_per_order).
 */
const gatewayKeyOf = (paymentId: string) => `pay_${paymentId}`

/** The order's pending or succeeded payment, if any. */
export async function livePayment(tx: Tx, orderId: string): Promise<PaymentRow | undefined> {
  const [live] = await tx
    .select()
    .from(payments)
    .where(and(eq(payments.orderId, orderId), sql`${payments.status} in ('pending', 'succeeded')`))
  return live
}

export async function insertPayment(
  tx: Tx,
  p: { orderId: string; method: string; amountCents: number; currency: string; requestKey: string },
): Promise<PaymentRow> {
  const id = Bun.randomUUIDv7()
  const [row] = await tx
    .insert(payments)
    .values({ id, ...p, idempotencyKey: gatewayKeyOf(id) })
    .returning()
  return row as PaymentRow
}

/** Removes a payment whose charge job could not be enqueued (nothing was tried). */
export async function dropUnstartedPayment(paymentId: string): Promise<void> {
  await db.delete(payments).where(and(eq(payments.id, paymentId), eq(payments.status, 'pending'), eq(payments.attempts, 0)))
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

/** Counts one more charge attempt of a pending payment; undefined = no longer pending. */
export async function startAttempt(paymentId: string): Promise<PaymentRow | undefined> {
  const [p] = await db
    .update(payments)
    .set({ attempts: sql`${payments.attempts} + 1`, updatedAt: sql`now()` })
    .where(and(eq(payments.id, paymentId), eq(payments.status, 'pending')))
    .returning()
  return p
}

/** A transient failure, to be retried: remembered on the row. */
export async function noteAttemptError(paymentId: string, message: string): Promise<void> {
  await db.update(payments).set({ lastError: message, updatedAt: sql`now()` }).where(eq(payments.id, paymentId))
}

/** pending → cancelled, for one payment (`paymentId`) or every pending one of an order (`orderId`). */
export async function cancelPending(tx: DbOrTx, of: { paymentId: string } | { orderId: string }, reason: string): Promise<void> {
  await tx
    .update(payments)
    .set({ status: 'cancelled', lastError: reason, updatedAt: sql`now()` })
    .where(and('paymentId' in of ? eq(payments.id, of.paymentId) : eq(payments.orderId, of.orderId), eq(payments.status, 'pending')))
}

/** The order a payment belongs to; undefined = no such payment. */
export async function orderOfPayment(tx: Tx, paymentId: string): Promise<string | undefined> {
  const [ref] = await tx.select({ orderId: payments.orderId }).from(payments).where(eq(payments.id, paymentId))
  return ref?.orderId
}

/** pending → succeeded; undefined = it was not pending. */
export async function markSucceeded(tx: Tx, paymentId: string, chargeId: string): Promise<PaymentRow | undefined> {
  const [p] = await tx
    .update(payments)
    .set({ status: 'succeeded', gatewayChargeId: chargeId, lastError: null, updatedAt: sql`now()` })
    .where(and(eq(payments.id, paymentId), eq(payments.status, 'pending')))
    .returning()
  return p
}

/**
 * A charge landed on a payment that was already settled: if it had been cancelled or had failed,
 * the money must go back — the row becomes `refunded` and the gateway key to refund is returned.
 */
export async function refundLateCharge(tx: Tx, paymentId: string, chargeId: string): Promise<string | null> {
  const [cur] = await tx.select().from(payments).where(eq(payments.id, paymentId))
  if (!cur || (cur.status !== 'cancelled' && cur.status !== 'failed')) return null
  await tx.update(payments).set({ status: 'refunded', gatewayChargeId: chargeId, updatedAt: sql`now()` }).where(eq(payments.id, paymentId))
  return cur.idempotencyKey
}

/** A succeeded payment becomes `refunded` (its order was closed meanwhile, or cancelled after paying). */
export async function markRefunded(
  tx: Tx,
  of: { paymentId: string; lastError: string } | { orderId: string },
): Promise<PaymentRow | undefined> {
  const [p] = await tx
    .update(payments)
    .set({ status: 'refunded', ...('paymentId' in of ? { lastError: of.lastError } : {}), updatedAt: sql`now()` })
    .where('paymentId' in of ? eq(payments.id, of.paymentId) : and(eq(payments.orderId, of.orderId), eq(payments.status, 'succeeded')))
    .returning()
  return p
}

/** pending → failed; undefined = it was not pending. */
export async function markFailed(tx: Tx, paymentId: string, reason: string): Promise<PaymentRow | undefined> {
  const [p] = await tx
    .update(payments)
    .set({ status: 'failed', lastError: reason, updatedAt: sql`now()` })
    .where(and(eq(payments.id, paymentId), eq(payments.status, 'pending')))
    .returning()
  return p
}
