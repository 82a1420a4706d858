// Reading orders back as API views (items + latest payment), for one order or a page of them.
import { inArray } from 'drizzle-orm'
import { orderItems, type orders } from '../../../db/schema'
import type { DbOrTx } from '../../infra/db'
import type { PaymentView } from '../payments/model'
import { latestPayments } from '../payments/service'
import type { OrderItem, OrderView } from './model'

type OrderRow = typeof orders.$inferSelect

export async function orderViews(tx: DbOrTx, rows: OrderRow[]): Promise<OrderView[]> {
  if (rows.length === 0) return []
  const ids = rows.map((r) => r.id)
  const [items, paymentOf] = await Promise.all([
    tx.select().from(orderItems).where(inArray(orderItems.orderId, ids)).orderBy(orderItems.orderId, orderItems.productId),
    latestPayments(tx, ids),
  ])
  const itemsOf = new Map<string, OrderItem[]>()
  for (const i of items) {
    const list = itemsOf.get(i.orderId) ?? []
    list.push({ productId: i.productId, quantity: i.quantity, unitPriceCents: i.unitPriceCents })
    itemsOf.set(i.orderId, list)
  }
  return rows.map((o) => orderView(o, itemsOf.get(o.id) ?? [], paymentOf.get(o.id) ?? null))
}

/** THE order view: every route that answers with an order (201, 200 GET/cancel/admin) builds it here. */
export function orderView(
  o: Pick<OrderRow, 'id' | 'userId' | 'status' | 'totalCents' | 'currency' | 'reservationExpiresAt' | 'createdAt' | 'updatedAt'>,
  items: OrderItem[],
  payment: PaymentView | null,
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
    payment,
  }
}
