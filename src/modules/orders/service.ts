// Orders: checkout (prices from the server, stock reserved through the inventory engine in the same
// transaction as the order rows), reading, cancelling, fulfilment steps and the expiry sweep.
// Status changes go through state.ts only.
import { and, desc, eq, lt, sql } from 'drizzle-orm'
import { type OrderStatus, orders, payments } from '../../../db/schema'
import { config } from '../../config'
import { db, sql as pg, pgOf, type Tx } from '../../infra/db'
import { logger } from '../../infra/logger'
import { decodeIdCursor, type Page, toPage } from '../../lib/cursor'
import { NotFoundError, ValidationProblem } from '../../lib/errors'
import { eventInsert } from '../../lib/outbox'
import { isUniqueViolation } from '../../lib/pg-errors'
import type { AuthUser } from '../../plugins/auth'
import { cartLines, clearCart } from '../cart/service'
import { getProductsForOrder } from '../catalog/service'
import { type GateTicket, releaseReservations, reserveForOrder } from '../inventory/service'
import { runAfterCommit, settleCancellation } from '../payments/service'
import { type CreateOrderBody, MAX_LINE_QUANTITY, MAX_ORDER_LINES, type OrderView } from './model'
import { transition } from './state'
import { orderView, orderViews } from './views'

type Line = { productId: string; quantity: number }

/** Merges duplicate product lines (first position wins) and enforces the per-order caps. */
export function mergeLines(lines: Line[], field = 'items'): Line[] {
  const merged = new Map<string, Line>()
  for (const l of lines) {
    const prev = merged.get(l.productId)
    merged.set(l.productId, { productId: l.productId, quantity: (prev?.quantity ?? 0) + l.quantity })
  }
  const out = [...merged.values()]
  if (out.length === 0) throw ValidationProblem.field(field, 'must contain at least one line')
  if (out.length > MAX_ORDER_LINES) throw ValidationProblem.field(field, `at most ${MAX_ORDER_LINES} distinct products per order`)
  const over = out.filter((l) => l.quantity > MAX_LINE_QUANTITY)
  if (over.length) {
    throw new ValidationProblem(
      over.map((l) => ({ field, message: `product ${l.productId}: at most ${MAX_LINE_QUANTITY} units per product (merged lines)` })),
    )
  }
  return out
}

async function requestedLines(userId: string, body: CreateOrderBody): Promise<{ lines: Line[]; field: string }> {
  if (body.items && body.fromCart) throw ValidationProblem.field('fromCart', 'send either `items` or `fromCart: true`, not both')
  if (body.items) return { lines: mergeLines(body.items), field: 'items' }
  if (body.fromCart !== true) throw ValidationProblem.field('items', 'is required (or send `fromCart: true`)')
  const lines = await cartLines(userId)
  if (lines.length === 0) throw ValidationProblem.field('fromCart', 'the cart is empty')
  return { lines: mergeLines(lines, 'fromCart'), field: 'fromCart' }
}

function rawIndex(items: Line[], productId: string, fallback: number): number {
  const i = items.findIndex((x) => x.productId === productId)
  return i >= 0 ? i : fallback
}

/**
 * Checkout. Nothing is written unless every line is reserved: the order rows are written by
 * `persist` inside the inventory engine's transaction (possibly one savepoint of a group commit,
 * so it only uses the tx it is given and does no other I/O). `ticket`: units the request already
 * took from the gate at the door (see index.ts).
 */
export async function createOrder(
  userId: string,
  body: CreateOrderBody,
  idempotencyKey: string | null,
  ticket?: GateTicket | null,
): Promise<OrderView> {
  const { lines, field } = await requestedLines(userId, body)
  const products = await getProductsForOrder(
    db,
    lines.map((l) => l.productId),
  )
  const missing = lines.map((l, i) => ({ l, i })).filter(({ l }) => !products.has(l.productId))
  if (missing.length) {
    throw new ValidationProblem(
      missing.map(({ l, i }) => ({
        // Name the first raw line with that product (lines were merged, indexes can differ).
        field: body.items ? `items.${rawIndex(body.items, l.productId, i)}.productId` : field,
        message: `product ${l.productId} does not exist or is no longer sold`,
      })),
    )
  }
  const currencies = new Set(lines.map((l) => products.get(l.productId)!.currency))
  if (currencies.size > 1)
    throw ValidationProblem.field(field, `products in one order must share a currency (got ${[...currencies].join(', ')})`)

  const items = lines.map((l) => ({ productId: l.productId, quantity: l.quantity, unitPriceCents: products.get(l.productId)!.priceCents }))
  const totalCents = items.reduce((s, i) => s + i.quantity * i.unitPriceCents, 0)
  const currency = [...currencies][0]!
  const id = Bun.randomUUIDv7()
  const createdAt = new Date()
  const expiresAt = new Date(createdAt.getTime() + config.RESERVATION_TTL_SECONDS * 1000)

  const persist = async (tx: Tx) => {
    // ONE statement for the order, its lines, its first history row and its order.created event,
    // prepared (see pgOf): a deep-stock sale writes hundreds of orders a second.
    const p = pgOf(tx)
    const event = eventInsert(p, 'order.created', id, {
      orderId: id,
      userId,
      items,
      totalCents,
      currency,
      reservationExpiresAt: expiresAt.toISOString(),
    })
    await p`
      with o as (
        insert into orders (id, user_id, status, total_cents, currency, idempotency_key, reservation_expires_at, created_at, updated_at)
        values (${id}, ${userId}, 'pending_payment', ${totalCents}, ${currency}, ${idempotencyKey}, ${expiresAt.toISOString()}, ${createdAt.toISOString()}, ${createdAt.toISOString()})
        returning id
      ), i as (
        insert into order_items (order_id, product_id, quantity, unit_price_cents)
        select ${id}::uuid, x.product_id, x.quantity, x.unit_price_cents
        from jsonb_to_recordset(${JSON.stringify(items.map((i) => ({ product_id: i.productId, quantity: i.quantity, unit_price_cents: i.unitPriceCents })))}::jsonb)
          as x(product_id uuid, quantity int, unit_price_cents int)
      ), h as (
        insert into order_status_history (order_id, from_status, to_status, actor, reason)
        select id, null, 'pending_payment', ${`user:${userId}`}, 'checkout' from o
      )
      ${event.insert}`
  }

  try {
    await reserveForOrder({ orderId: id, lines, expiresAt, persist, ticket })
  } catch (err) {
    // A second execution of the same key (the first claim was presumed dead): return the first order.
    if (idempotencyKey && isUniqueViolation(err, 'orders_user_idempotency_key')) {
      const [existing] = await db
        .select()
        .from(orders)
        .where(and(eq(orders.userId, userId), eq(orders.idempotencyKey, idempotencyKey)))
      if (existing) {
        // The first execution's order, as it is now (the same view GET /orders/:id gives).
        const [view] = await orderViews(db, [existing])
        return view!
      }
    }
    throw err
  }
  if (body.fromCart) await clearCart(userId).catch((err) => logger.warn({ err: err.message, userId }, 'could not clear the cart'))
  // Built from what was just written (no read back on the checkout's hot path), by the same view
  // function as GET /orders/:id.
  return orderView(
    { id, userId, status: 'pending_payment', totalCents, currency, reservationExpiresAt: expiresAt, createdAt, updatedAt: createdAt },
    items,
    null,
  )
}

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
  return view!
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
 * Expiry sweep (maintenance job): unpaid orders (awaiting payment, or after a failed payment)
 * whose reservation expired → reservations 'expired', order 'expired'. One transaction per order; SKIP LOCKED lets several workers share
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
        .where(and(sql`${orders.status} in ('pending_payment', 'payment_failed')`, lt(orders.reservationExpiresAt, sql`now()`)))
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
        reason: 'reservation expired',
      })
      // A pending payment is cancelled with the order; should its charge still land, the settle
      // step sees `cancelled` and refunds it at the gateway.
      await tx
        .update(payments)
        .set({ status: 'cancelled', lastError: 'order expired before the payment completed', updatedAt: sql`now()` })
        .where(and(eq(payments.orderId, row.id), eq(payments.status, 'pending')))
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
