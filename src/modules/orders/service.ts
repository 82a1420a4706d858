// Orders: reading, cancelling, fulfilment steps and the expiry sweep (checkout is checkout.ts,
// paying payment-flow.ts and settlement.ts). Status changes go through state.ts only.
import { and, desc, eq, lt, sql } from 'drizzle-orm'
import { type OrderStatus, orders } from '../../../db/schema'
import { db, sql as pg, type Tx } from '../../infra/db'
import { logger } from '../../infra/logger'
import { decodeIdCursor, type Page, toPage } from '../../lib/cursor'
import { NotFoundError } from '../../lib/errors'
import type { AuthUser } from '../../plugins/auth'
import { releaseReservations } from '../inventory/service'
import { cancelPending } from '../payments/service'
import { riskOf } from '../risk/service'
import type { OrderView } from './model'
import { runAfterCommit, settleCancellation } from './settlement'
import { transition } from './state'
import { orderViews } from './views'

/** The user's orders, newest first (UUIDv7 ids are time-ordered). */
export async function listOrders(userId: string, limit: number, cursor?: string): Promise<Page<OrderView>> {
  const after = decodeIdCursor(cursor)
  const rows = await db
    .select()
    .from(orders)
    .where(and(eq(orders.userId, userId), after ? lt(orders.id, after) : undefined))
    .orderBy(desc(orders.id))
    .limit(limit + 1)
  const page = toPage(rows, limit, (r) => [r.id])
  return { items: await orderViews(db, page.items), nextCursor: page.nextCursor }
}

/** One order: its owner or an admin; anyone else gets 404 (existence is not disclosed). */
export async function getOrder(user: Pick<AuthUser, 'id' | 'role'>, orderId: string, tx: Tx | typeof db = db): Promise<OrderView> {
  const [row] = await tx.select().from(orders).where(eq(orders.id, orderId))
  if (!row || (row.userId !== user.id && user.role !== 'admin')) throw new NotFoundError('Order')
  const [view] = await orderViews(tx, [row])
  if (user.role !== 'admin') return view!
  const risk = (await riskOf(tx, [orderId])).get(orderId)
  return { ...view!, riskScore: risk?.score ?? null, riskStatus: (risk?.status as OrderView['riskStatus']) ?? 'unscored' }
}

async function lockOrder(tx: Tx, user: Pick<AuthUser, 'id' | 'role'>, orderId: string) {
  const [row] = await tx.select().from(orders).where(eq(orders.id, orderId)).for('update')
  if (!row || (row.userId !== user.id && user.role !== 'admin')) throw new NotFoundError('Order')
  return row
}

const actorOf = (user: Pick<AuthUser, 'id' | 'role'>) => `${user.role === 'admin' ? 'admin' : 'user'}:${user.id}`

/**
 * Cancels: an unpaid order releases its reservation (→ cancelled); a paid, not yet fulfilled order
 * is refunded (→ refunded). Anything else → 409 illegal_transition.
 */
export async function cancelOrder(user: Pick<AuthUser, 'id' | 'role'>, orderId: string): Promise<OrderView> {
  const { view, after } = await db.transaction(async (tx) => {
    const order = await lockOrder(tx, user, orderId)
    const after = await settleCancellation(tx, order, actorOf(user))
    return { view: await getOrder(user, orderId, tx), after }
  })
  await runAfterCommit(after)
  return after.refunds.length || after.invalidate.length ? await getOrder(user, orderId) : view
}

/** Admin fulfilment steps (paid → fulfilled → shipped → delivered). */
export async function setStatusByAdmin(admin: Pick<AuthUser, 'id' | 'role'>, orderId: string, to: OrderStatus): Promise<OrderView> {
  return db.transaction(async (tx) => {
    const order = await lockOrder(tx, admin, orderId)
    await transition(tx, { orderId, from: order.status, to, actor: actorOf(admin), reason: 'admin' })
    return getOrder(admin, orderId, tx)
  })
}

/**
 * Expiry sweep (maintenance job): unpaid orders (awaiting payment, after a failed payment, or held
 * for a risk review past the maximum hold) whose reservation expired → reservations 'expired', order 'expired'. One transaction per order; SKIP LOCKED lets several workers share
 * the work and never blocks on an order a payment is settling right now.
 */
export async function expireOverdueOrders(limit = 100): Promise<number> {
  let n = 0
  while (n < limit) {
    const done = await db.transaction(async (tx) => {
      const [row] = await tx
        .select({ id: orders.id, status: orders.status })
        .from(orders)
        // Literal states, the partial index's own predicate (orders_unpaid_expiry_idx).
        .where(and(sql`${orders.status} in ('pending_payment', 'payment_failed', 'on_hold')`, lt(orders.reservationExpiresAt, sql`now()`)))
        .orderBy(orders.reservationExpiresAt)
        .limit(1)
        .for('update', { skipLocked: true })
      if (!row) return false
      await releaseReservations(tx, row.id, 'expired')
      await transition(tx, {
        orderId: row.id,
        from: row.status,
        to: 'expired',
        actor: 'system:expiry',
        reason: row.status === 'on_hold' ? 'risk review not decided within the maximum hold' : 'reservation expired',
      })
      // A pending payment is cancelled with the order; should its charge still land, the settle
      // step sees `cancelled` and refunds it at the gateway.
      await cancelPending(tx, { orderId: row.id }, 'order expired before the payment completed')
      return true
    })
    if (!done) break
    n++
  }
  if (n > 0) logger.info({ expired: n }, 'expired unpaid orders')
  return n
}

/** Deletes expired idempotency keys in batches (maintenance job); returns how many. */
export async function purgeExpiredIdempotencyKeys(): Promise<number> {
  let total = 0
  for (;;) {
    const rows = await pg`
      delete from idempotency_keys where ctid = any(array(
        select ctid from idempotency_keys where expires_at <= now() limit 5000))
      returning 1`
    total += rows.length
    if (rows.length < 5000) return total
  }
}
