// Catalog service (issue 4). Other modules use only the exported functions below.
import { and, eq, inArray, isNull, sql } from 'drizzle-orm'
import { products } from '../../../db/schema'
import type { DbOrTx } from '../../infra/db'

export type OrderableProduct = { id: string; name: string; priceCents: number; currency: string }

/** Live (not deleted) products by id, with the price the server will charge. */
export async function getProductsForOrder(tx: DbOrTx, ids: string[]): Promise<Map<string, OrderableProduct>> {
  if (ids.length === 0) return new Map()
  const rows = await tx
    .select({ id: products.id, name: products.name, priceCents: products.priceCents, currency: products.currency })
    .from(products)
    .where(and(inArray(products.id, ids), isNull(products.deletedAt)))
  return new Map(rows.map((r) => [r.id, r]))
}

/**
 * Counts units bought when an order becomes paid (orders module calls it inside the payment's
 * transaction). Minimal version written on feat/commerce; the catalog branch owns the final one.
 */
export async function recordPurchases(tx: DbOrTx, lines: { productId: string; quantity: number }[]): Promise<void> {
  for (const l of [...lines].sort((a, b) => (a.productId < b.productId ? -1 : 1))) {
    await tx
      .update(products)
      .set({ purchaseCount: sql`${products.purchaseCount} + ${l.quantity}` })
      .where(eq(products.id, l.productId))
  }
}
