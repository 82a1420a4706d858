// Reading orders back as API views (items + latest payment), for one order or a page of them.
import { desc, inArray } from 'drizzle-orm'
import { orderItems, type orders, payments } from '../../../db/schema'
import type { DbOrTx } from '../../infra/db'
import type { OrderItem, OrderView, PaymentView } from './model'

type OrderRow = typeof orders.$inferSelect
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

export async function orderViews(tx: DbOrTx, rows: OrderRow[]): Promise<OrderView[]> {
  if (rows.length === 0) return []
  const ids = rows.map((r) => r.id)
  const [items, pays] = await Promise.all([
    tx.select().from(orderItems).where(inArray(orderItems.orderId, ids)).orderBy(orderItems.orderId, orderItems.productId),
    tx.select().from(payments).where(inArray(payments.orderId, ids)).orderBy(desc(payments.id)),
  ])
  const itemsOf = new Map<string, OrderItem[]>()
  for (const i of items) {
    const list = itemsOf.get(i.orderId) ?? []
    list.push({ productId: i.productId, quantity: i.quantity, unitPriceCents: i.unitPriceCents })
    itemsOf.set(i.orderId, list)
  }
  const paymentOf = new Map<string, PaymentRow>()
  for (const p of pays) if (!paymentOf.has(p.orderId)) paymentOf.set(p.orderId, p)
  return rows.map((o) => orderView(o, itemsOf.get(o.id) ?? [], paymentOf.get(o.id) ?? null))
}

/** THE order view: every route that answers with an order (201, 200 GET/cancel/admin) builds it here. */
export function orderView(
  o: Pick<OrderRow, 'id' | 'userId' | 'status' | 'totalCents' | 'currency' | 'reservationExpiresAt' | 'createdAt' | 'updatedAt'>,
  items: OrderItem[],
  payment: PaymentRow | null,
): OrderView {
  return {
    id: o.id,
    userId: o.userId,
    status: o.status,
    items,
    totalCents: o.totalCents,
    currency: o.currency,
    reservationExpiresAt: o.reservationExpiresAt.toISOString(),
    createdAt: o.createdAt.toISOString(),
    updatedAt: o.updatedAt.toISOString(),
    payment: payment ? paymentView(payment) : null,
  }
}
