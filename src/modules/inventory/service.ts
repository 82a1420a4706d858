// Inventory engine (issue 5). Every write to `inventory` goes through this module.
import { inArray, sql } from 'drizzle-orm'
import { inventory } from '../../../db/schema'
import type { DbOrTx } from '../../infra/db'

/** Creates the inventory row of a new product (inside the product's transaction). */
export async function createInventory(tx: DbOrTx, productId: string, initialStock: number): Promise<void> {
  await tx.insert(inventory).values({ productId, onHand: initialStock })
}

/** available = onHand − reserved, for many products at once (missing rows count as 0). */
export async function availableByProductIds(tx: DbOrTx, productIds: string[]): Promise<Map<string, number>> {
  if (productIds.length === 0) return new Map()
  const rows = await tx
    .select({ productId: inventory.productId, available: sql<number>`${inventory.onHand} - ${inventory.reserved}` })
    .from(inventory)
    .where(inArray(inventory.productId, productIds))
  return new Map(rows.map((r) => [r.productId, Number(r.available)]))
}
