// Inventory engine (issue 5). Every write to `inventory` goes through this module.
import { inArray, sql } from 'drizzle-orm'
import { inventory } from '../../../db/schema'
import type { DbOrTx, Tx } from '../../infra/db'
import { ConflictError } from '../../lib/errors'

export type Strategy = 'gated' | 'pessimistic' | 'optimistic'
export type ReserveLine = { productId: string; quantity: number }

/** 409 out_of_stock naming the products that lack stock. */
export class OutOfStockError extends ConflictError {
  constructor(readonly productIds: string[]) {
    super(`Not enough stock for ${productIds.join(', ')}`, 'out_of_stock', { productIds })
  }
}

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

/**
 * All-or-nothing reservation for one order. `persist(tx)` writes the order's own rows (orders,
 * order_items, history, outbox) inside the SAME transaction as the reservation; if it throws,
 * nothing is written (and any Redis gate decrement is compensated). Throws OutOfStockError (409,
 * code 'out_of_stock', extra { productIds }) when any line lacks stock.
 */
export async function reserveForOrder(
  _input: { orderId: string; lines: ReserveLine[]; expiresAt: Date; persist: (tx: Tx) => Promise<void> },
  _strategy?: Strategy,
): Promise<void> {
  throw new Error('TODO: reserveForOrder (issue 5, in progress)')
}

/** Payment confirmed: moves units out of onHand and reserved; reservations → committed. Idempotent. */
export async function commitReservations(_tx: Tx, _orderId: string): Promise<void> {
  throw new Error('TODO: commitReservations (issue 5, in progress)')
}

/** Gives units back; reservations → released | expired. Idempotent (already-released is a no-op). */
export async function releaseReservations(_tx: Tx, _orderId: string, _reason: 'released' | 'expired'): Promise<void> {
  throw new Error('TODO: releaseReservations (issue 5, in progress)')
}

/** Fix drift between Redis gate counters and Postgres; returns how many counters were corrected. */
export async function reconcileGate(): Promise<number> {
  throw new Error('TODO: reconcileGate (issue 5, in progress)')
}
