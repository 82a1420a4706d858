// Checkout: prices from the server, stock held through inventory, and ONE transaction (this
// module's) holding the order's rows and inventory's reservation; single-line orders of the gated
// strategy go through the group commit (checkout-batch.ts). Orders calls inventory; inventory never
// calls back.
import { and, eq } from 'drizzle-orm'
import { type OrderStatus, orders } from '../../../db/schema'
import { config } from '../../config'
import { db, pgOf, type Tx } from '../../infra/db'
import { logger } from '../../infra/logger'
import { ValidationProblem } from '../../lib/errors'
import { eventInsert } from '../../lib/outbox'
import { isUniqueViolation } from '../../lib/pg-errors'
import { cartLines, clearCart } from '../cart/service'
import { getProductsForOrder } from '../catalog/service'
import { MAX_LINE_QUANTITY, MAX_ORDER_LINES, type StockLine } from '../inventory/model'
import { type GateTicket, holdStock, type Strategy } from '../inventory/service'
import { assessCheckout, RiskDeclinedError, raiseReviewAlert, riskRowInsert } from '../risk/service'
import { enqueueCheckout } from './checkout-batch'
import type { CreateOrderBody, OrderView } from './model'
import { orderView, orderViews } from './views'

type Line = StockLine

/**
 * The checkout engine: holds the stock (inventory), then writes the reservation and the order's own
 * rows (`writeOrder`, which only uses the tx it is given and does no other I/O: it may run in one
 * savepoint of a group commit) in one transaction; nothing is written unless every line is
 * reserved. Throws OutOfStockError (409, code 'out_of_stock', extra { productIds }) when any line
 * lacks stock. `ticket`: units the request already took from the gate at the door.
 */
export async function reserveForOrder(
  input: { orderId: string; lines: Line[]; expiresAt: Date; writeOrder: (tx: Tx) => Promise<void>; ticket?: GateTicket | null },
  strategy: Strategy = config.INVENTORY_STRATEGY,
): Promise<void> {
  const hold = await holdStock({ lines: input.lines, ticket: input.ticket }, strategy)
  try {
    if (hold.groupable) {
      const [l] = hold.lines as [Line]
      await enqueueCheckout({
        orderId: input.orderId,
        productId: l.productId,
        quantity: l.quantity,
        expiresAt: input.expiresAt,
        writeOrder: input.writeOrder,
      })
    } else {
      await db.transaction(async (tx) => {
        await hold.reserve(tx, input.orderId, input.expiresAt)
        await input.writeOrder(tx)
      })
    }
  } catch (err) {
    await hold.end(err)
    throw err
  }
  await hold.end(null)
}

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
 * An order on other terms than the catalog's (a flash sale, issue 21): its unit price, and where its
 * units come from (the sale's pool instead of the product's stock: `reserve` runs `writeOrder` in
 * its own transaction). Everything else — rows, events, state machine, payment, expiry, emails — is
 * the ordinary order's.
 */
export type SpecialTerms = {
  unitPriceCents: number
  reserve: (input: { orderId: string; lines: Line[]; expiresAt: Date; writeOrder: (tx: Tx) => Promise<void> }) => Promise<void>
}

/**
 * POST /orders. Nothing is written unless every line is reserved (reserveForOrder). `ticket`: units
 * the request already took from the gate at the door (see index.ts).
 */
export async function createOrder(
  userId: string,
  body: CreateOrderBody,
  idempotencyKey: string | null,
  ticket?: GateTicket | null,
  special?: SpecialTerms,
  client: { ip: string | null } = { ip: null },
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

  const items = lines.map((l) => ({
    productId: l.productId,
    quantity: l.quantity,
    unitPriceCents: special?.unitPriceCents ?? products.get(l.productId)!.priceCents,
  }))
  const totalCents = items.reduce((s, i) => s + i.quantity * i.unitPriceCents, 0)
  const currency = [...currencies][0]!
  const id = Bun.randomUUIDv7()
  const createdAt = new Date()
  // Scored before anything is reserved: a blocked order writes nothing; a held one is written
  // `on_hold`, its stock reserved until the review or the maximum hold (not the payment window).
  const risk = await assessCheckout({
    orderId: id,
    userId,
    ip: client.ip,
    currency,
    amountCents: totalCents,
    quantity: items.reduce((s, i) => s + i.quantity, 0),
    now: createdAt,
  })
  if (risk?.decision === 'block') throw new RiskDeclinedError()
  const status: OrderStatus = risk?.decision === 'review' ? 'on_hold' : 'pending_payment'
  const expiresAt = risk?.holdUntil ?? new Date(createdAt.getTime() + config.RESERVATION_TTL_SECONDS * 1000)

  const writeOrder = async (tx: Tx) => {
    // ONE statement for the order, its lines, its first history row and its order.created event,
    // prepared (see pgOf): a deep-stock sale writes hundreds of orders a second.
    const p = pgOf(tx)
    const event = eventInsert(p, 'order.created', id, {
      orderId: id,
      userId,
      items,
      totalCents,
      currency,
      status,
      reservationExpiresAt: expiresAt.toISOString(),
    })
    await p`
      with o as (
        insert into orders (id, user_id, status, total_cents, currency, idempotency_key, reservation_expires_at, created_at, updated_at)
        values (${id}, ${userId}, ${status}, ${totalCents}, ${currency}, ${idempotencyKey}, ${expiresAt.toISOString()}, ${createdAt.toISOString()}, ${createdAt.toISOString()})
        returning id
      ), i as (
        insert into order_items (order_id, product_id, quantity, unit_price_cents)
        select ${id}::uuid, x.product_id, x.quantity, x.unit_price_cents
        from jsonb_to_recordset(${JSON.stringify(items.map((i) => ({ product_id: i.productId, quantity: i.quantity, unit_price_cents: i.unitPriceCents })))}::jsonb)
          as x(product_id uuid, quantity int, unit_price_cents int)
      ), h as (
        insert into order_status_history (order_id, from_status, to_status, actor, reason)
        select id, null, ${status}, ${`user:${userId}`}, ${status === 'on_hold' ? 'checkout: held for risk review' : 'checkout'} from o
      ), r as (
        ${risk ? riskRowInsert(p, id, userId, risk, createdAt) : p`select 1`}
      )
      ${event.insert}`
    // Rare (a held order): a second statement in the same transaction.
    if (risk?.decision === 'review') await raiseReviewAlert(tx, id, risk.score, risk.reasons)
  }

  try {
    if (special) await special.reserve({ orderId: id, lines, expiresAt, writeOrder })
    else await reserveForOrder({ orderId: id, lines, expiresAt, writeOrder, ticket })
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
    { id, userId, status, totalCents, currency, reservationExpiresAt: expiresAt, createdAt, updatedAt: createdAt },
    items,
    null,
  )
}
