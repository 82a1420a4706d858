// Inventory's public surface: the only file other modules import from inventory (besides model.ts
// and errors.ts; CI's architecture check enforces it). Inventory is the only writer of stock:
// every statement is in store.ts, every input passes guardStockChange first, and the CHECK
// constraints behind them are the fence. Every function that changes availability also adjusts the
// Redis gate and announces the change (onStockChange) after it. See docs/architecture.md.
import { sql as dsql, inArray } from 'drizzle-orm'
import { inventory } from '../../../db/schema'
import { type DbOrTx, db, pgOf, type Tx } from '../../infra/db'
import { ProductInventoryNotFound } from './errors'
import { announceStockChange } from './events'
import { gateAdjust, gateRetire, reconcileGate as reconcile } from './gate'
import { guardStockChange } from './guard'
import type { StockLine } from './model'
import { commitPoolUnits, releasePoolUnits } from './pool'
import { commitStock, createStock, endReservations, releaseStock, restockStock, setReplanLevelRow } from './store'

export { ContentionError, OutOfStockError, ProductInventoryNotFound } from './errors'
export { announceStockChange, onStockChange } from './events'
// Sale pools (issue 21): the sales module moves stock only through these.
export {
  admitFromPool,
  closePool,
  growPoolTo,
  installPoolGate,
  openPool,
  PoolRefusal,
  type PoolRefusalReason,
  type PoolRefused,
  type PoolState,
  type PoolTicket,
  poolSoldOutLocally,
  poolStates,
  poolsDue,
  releasePoolTicket,
  reschedulePool,
  reserveFromPool,
} from './pool'
export {
  admitAtTheDoor,
  availableIn,
  type GateTicket,
  type GroupLine,
  holdStock,
  reserveGroup,
  returnGateTicket,
  type StockHold,
  type Strategy,
} from './reserve'
export { reserveConditional } from './strategies'

/** The product was deleted (after the commit): the checkout door stops answering for it. */
export async function retireProductStock(productId: string): Promise<void> {
  await gateRetire(productId)
}

/** Creates the inventory row of a new product (inside the product's transaction); ledgered as a restock. */
export async function createInventory(tx: DbOrTx, productId: string, initialStock: number): Promise<void> {
  const [line] = guardStockChange('create', [{ productId, quantity: initialStock }], 'stock')
  await createStock(tx, productId, (line as StockLine).quantity)
}

/** available = onHand − reserved, for many products at once (missing rows count as 0). */
export async function availableByProductIds(tx: DbOrTx, productIds: string[]): Promise<Map<string, number>> {
  if (productIds.length === 0) return new Map()
  const rows = await tx
    .select({ productId: inventory.productId, available: dsql<number>`${inventory.onHand} - ${inventory.reserved}` })
    .from(inventory)
    .where(inArray(inventory.productId, productIds))
  return new Map(rows.map((r) => [r.productId, Number(r.available)]))
}

/** Payment confirmed: moves units out of onHand and reserved; reservations → committed. Idempotent. */
export async function commitReservations(tx: Tx, orderId: string): Promise<void> {
  const ptx = pgOf(tx)
  const rows = await endReservations(ptx, orderId, 'committed')
  if (rows.length === 0) return
  guardStockChange('commit', rows)
  // Sale orders: the pool row first (lock order: pool, then inventory).
  const fromPools = rows.filter((r) => r.saleId)
  if (fromPools.length)
    await commitPoolUnits(
      ptx,
      fromPools.map((r) => ({ orderId, saleId: r.saleId as string, quantity: r.quantity })),
    )
  await commitStock(ptx, orderId, rows)
  // available = on_hand − reserved is unchanged by a commit: the gate needs no adjustment.
}

/** Gives units back; reservations → released | expired. Idempotent (already-released is a no-op). */
export async function releaseReservations(tx: Tx, orderId: string, reason: 'released' | 'expired'): Promise<void> {
  const ptx = pgOf(tx)
  const all = await endReservations(ptx, orderId, reason)
  if (all.length === 0) return
  const kind = reason === 'expired' ? 'expire' : 'release'
  guardStockChange(kind, all)
  // Sale orders give their units back to the sale's pool while it is open (pool row first: lock
  // order pool → inventory); after the close they go back to the product like any other units.
  const sold = all.filter((r) => r.saleId)
  const pools = sold.length
    ? await releasePoolUnits(
        ptx,
        sold.map((r) => ({ orderId, saleId: r.saleId as string, quantity: r.quantity, productId: r.productId, reservationId: r.id })),
        kind,
      )
    : null
  const rows = all.filter((r) => !r.saleId || pools?.toProduct.some((p) => p.reservationId === r.id))
  await pools?.after()
  if (rows.length === 0) return
  await releaseStock(tx, orderId, rows, kind)
  // The caller commits, not us. Adjusting the gate before that commit can only make it too high
  // for a moment (or for good if the caller rolls back) — the safe direction: Postgres still
  // refuses. The generation bump stops loaders from installing a pre-release value.
  const ids = rows.map((r) => r.productId)
  await gateAdjust(rows.map((r) => ({ productId: r.productId, delta: r.quantity })))
  await announceStockChange(ids)
  // Announce again once the caller's transaction has surely committed (cache-aside race).
  setTimeout(() => void announceStockChange(ids), 250).unref?.()
}

/**
 * Asks to hear (a `stock.replan` event) when available next drops to `level` or below; null stops
 * it. Planning sets it after every plan. Returns available, or null for an unknown product.
 */
export async function setReplanLevel(productId: string, level: number | null, seenAvailable?: number): Promise<number | null> {
  if (level !== null && (!Number.isInteger(level) || level < 0)) throw new RangeError('replan level must be a non-negative integer')
  return db.transaction((tx) => setReplanLevelRow(tx, productId, level, seenAvailable))
}

/** Fix drift between Redis gate counters and Postgres; returns how many counters were corrected. */
export async function reconcileGate(): Promise<number> {
  return reconcile()
}

export type InventoryView = {
  productId: string
  onHand: number
  reserved: number
  available: number
  version: number
  reorderPoint: number
}

const view = (r: { productId: string; onHand: number; reserved: number; version: number; reorderPoint: number }): InventoryView => ({
  productId: r.productId,
  onHand: r.onHand,
  reserved: r.reserved,
  available: r.onHand - r.reserved,
  version: r.version,
  reorderPoint: r.reorderPoint,
})

export async function getInventory(productId: string): Promise<InventoryView> {
  const [row] = await db.select().from(inventory).where(dsql`${inventory.productId} = ${productId}`)
  if (!row) throw new ProductInventoryNotFound(productId)
  return view(row)
}

/**
 * Adds units on hand (admin restock, a refund's units back on the shelf). Restock is the only way
 * stock grows, and it is always ledgered with `reason`.
 */
export async function restock(
  productId: string,
  quantity: number,
  reason: string | null = null,
  actorId: string | null = null,
): Promise<InventoryView> {
  const [line] = guardStockChange('restock', [{ productId, quantity }], 'body')
  const q = (line as StockLine).quantity
  const after = await db.transaction(async (tx) => {
    const row = await restockStock(tx, productId, q, reason ?? (actorId ? `restock by ${actorId}` : null))
    if (!row) throw new ProductInventoryNotFound(productId)
    return row
  })
  await gateAdjust([{ productId, delta: q }])
  await announceStockChange([productId])
  return view(after)
}

/**
 * Restocks several products inside the caller's transaction (a purchase-order receipt: the receipt
 * row, the received counts and the stock change commit or roll back together). Each line is one
 * `restock` ledger row with `reason`. The gate is raised before the caller commits, as
 * releaseReservations does: if the caller rolls back, the counter is high for a moment — the safe
 * direction (Postgres still refuses), and the generation bump stops stale loaders.
 */
export async function restockInTransaction(tx: Tx, lines: StockLine[], reason: string): Promise<InventoryView[]> {
  const checked = guardStockChange('restock', lines)
  const rows: InventoryView[] = []
  for (const l of checked) {
    const row = await restockStock(tx, l.productId, l.quantity, reason)
    if (!row) throw new ProductInventoryNotFound(l.productId)
    rows.push(view(row))
  }
  const ids = checked.map((l) => l.productId)
  await gateAdjust(checked.map((l) => ({ productId: l.productId, delta: l.quantity })))
  await announceStockChange(ids)
  // Announce again once the caller's transaction has surely committed (cache-aside race).
  setTimeout(() => void announceStockChange(ids), 250).unref?.()
  return rows
}
