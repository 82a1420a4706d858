// Catalog service (issue 4). Other modules use only the exported functions below.
import { and, inArray, isNull } from 'drizzle-orm'
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
