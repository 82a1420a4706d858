// THE statements that change stock. Every write to `inventory`, `reservations` and
// `inventory_movements` is in this file: the reserve UPDATE (conditional on availability, on a
// version, or after a row lock), release/expire, commit, restock and create, each with its ledger
// row. Raw postgres.js on the caller's transaction (pgOf: prepared, one round trip each) because
// every order runs them. The CHECK constraints behind them are the fence.
import type { MovementKind } from '../../../db/schema'
import { inventory } from '../../../db/schema'
import { type DbOrTx, type Pg, pgOf, type Tx } from '../../infra/db'
import { emitEvent } from '../../lib/outbox'
import type { StockLine } from './model'

export type NewReservation = StockLine & { id: string; orderId: string; expiresAt: Date }
export type Movement = {
  productId: string
  kind: MovementKind
  onHandDelta: number
  reservedDelta: number
  reservationId?: string | null
  orderId?: string | null
  reason?: string | null
}
export type StockRow = { productId: string; onHand: number; reserved: number; reorderPoint: number; replanLevel: number | null }

/**
 * The one reserve UPDATE. `when`: 'available' = only if on_hand − reserved ≥ q (conditional, the
 * gated and grouped paths); a number = only if the row is still at that version (optimistic);
 * 'locked' = the row is already locked FOR UPDATE and checked (pessimistic). undefined = refused.
 * Sent at once (execute()), so a caller may queue it with other statements of its transaction.
 */
export function updateReserved(
  ptx: Pg,
  productId: string,
  q: number,
  when: 'available' | 'locked' | number,
): Promise<StockRow | undefined> {
  const cond = when === 'available' ? ptx`and on_hand - reserved >= ${q}` : typeof when === 'number' ? ptx`and version = ${when}` : ptx``
  return ptx<StockRow[]>`
    update inventory set reserved = reserved + ${q}, version = version + 1, updated_at = now()
    where product_id = ${productId} ${cond}
    returning product_id as "productId", on_hand as "onHand", reserved, reorder_point as "reorderPoint", replan_level as "replanLevel"`
    .execute()
    .then((rows) => rows[0])
}

export function newReservations(orderId: string, lines: readonly StockLine[], expiresAt: Date): NewReservation[] {
  return lines.map((l) => ({ id: Bun.randomUUIDv7(), orderId, productId: l.productId, quantity: l.quantity, expiresAt }))
}

// The inserts are sent the moment they are called (execute()), so a caller can queue several
// statements of one transaction in order and await them together: one round trip.
export function insertReservations(ptx: Pg, rows: NewReservation[]): PromiseLike<unknown> {
  if (rows.length === 0) return Promise.resolve()
  const values = rows.map((r) => ({
    id: r.id,
    order_id: r.orderId,
    product_id: r.productId,
    quantity: r.quantity,
    expires_at: r.expiresAt.toISOString(),
  }))
  return ptx`insert into reservations ${ptx(values, 'id', 'order_id', 'product_id', 'quantity', 'expires_at')}`.execute()
}

/** The ledger row(s) of a change: every statement here writes one per product it touched. */
export function insertMovements(ptx: Pg, rows: Movement[]): PromiseLike<unknown> {
  if (rows.length === 0) return Promise.resolve()
  const values = rows.map((m) => ({
    id: Bun.randomUUIDv7(),
    product_id: m.productId,
    kind: m.kind,
    on_hand_delta: m.onHandDelta,
    reserved_delta: m.reservedDelta,
    reservation_id: m.reservationId ?? null,
    order_id: m.orderId ?? null,
    reason: m.reason ?? null,
  }))
  return ptx`insert into inventory_movements ${ptx(values, 'id', 'product_id', 'kind', 'on_hand_delta', 'reserved_delta', 'reservation_id', 'order_id', 'reason')}`.execute()
}

export const reserveMovements = (rows: NewReservation[]): Movement[] =>
  rows.map((r) => ({
    productId: r.productId,
    kind: 'reserve',
    onHandDelta: 0,
    reservedDelta: r.quantity,
    reservationId: r.id,
    orderId: r.orderId,
  }))

/** After the reserve UPDATEs of one order: its reservation rows, ledger rows and low-stock events. */
export async function recordReservation(tx: Tx, orderId: string, lines: StockLine[], expiresAt: Date, afters: StockRow[]): Promise<void> {
  const ptx = pgOf(tx)
  const rows = newReservations(orderId, lines, expiresAt)
  await insertReservations(ptx, rows)
  await insertMovements(ptx, reserveMovements(rows))
  for (const [i, after] of afters.entries()) await emitStockEvents(tx, after, -(lines[i] as StockLine).quantity, 'reserve')
}

/** `saleId`: the units came from a sale's pool (pool.ts settles the pool before the stock). */
type Settled = StockLine & { id: string; saleId: string | null }

/** Ends an order's active reservations (→ committed | released | expired); the rows it ended, by product id. */
export async function endReservations(ptx: Pg, orderId: string, status: 'committed' | 'released' | 'expired'): Promise<Settled[]> {
  const rows = await ptx<Settled[]>`
    update reservations set status = ${status}, updated_at = now()
    where order_id = ${orderId} and status = 'active'
    returning id, product_id as "productId", quantity, sale_id as "saleId"`
  return rows.sort((a, b) => (a.productId < b.productId ? -1 : 1))
}

/** Commit: the units leave on_hand and reserved together (available unchanged). */
export async function commitStock(ptx: Pg, orderId: string, rows: Settled[]): Promise<void> {
  for (const r of rows) {
    await ptx`update inventory set on_hand = on_hand - ${r.quantity}, reserved = reserved - ${r.quantity},
      version = version + 1, updated_at = now() where product_id = ${r.productId}`
  }
  await insertMovements(
    ptx,
    rows.map((r) => ({
      productId: r.productId,
      kind: 'commit',
      onHandDelta: -r.quantity,
      reservedDelta: -r.quantity,
      reservationId: r.id,
      orderId,
    })),
  )
}

/** Release / expire: the units go back to available. */
export async function releaseStock(tx: Tx, orderId: string, rows: Settled[], kind: 'release' | 'expire'): Promise<void> {
  const ptx = pgOf(tx)
  for (const r of rows) {
    const [after] = await ptx<StockRow[]>`update inventory set reserved = reserved - ${r.quantity}, version = version + 1,
      updated_at = now() where product_id = ${r.productId}
      returning product_id as "productId", on_hand as "onHand", reserved, reorder_point as "reorderPoint", replan_level as "replanLevel"`
    if (after) await emitStockEvents(tx, after, r.quantity, kind)
  }
  await insertMovements(
    ptx,
    rows.map((r) => ({ productId: r.productId, kind, onHandDelta: 0, reservedDelta: -r.quantity, reservationId: r.id, orderId })),
  )
}

/** Restock: units on hand grow (the only way they do), with the ledger's reason. undefined = no such product. */
export async function restockStock(tx: Tx, productId: string, q: number, reason: string | null) {
  const ptx = pgOf(tx)
  const [row] = await ptx<(StockRow & { version: number })[]>`
    update inventory set on_hand = on_hand + ${q}, version = version + 1, updated_at = now()
    where product_id = ${productId}
    returning product_id as "productId", on_hand as "onHand", reserved, version, reorder_point as "reorderPoint", replan_level as "replanLevel"`
  if (!row) return undefined
  await insertMovements(ptx, [{ productId, kind: 'restock', onHandDelta: q, reservedDelta: 0, reason }])
  await emitStockEvents(tx, row, q, 'restock')
  return row
}

/** The inventory row of a new product, and its initial stock as a restock in the ledger. */
export async function createStock(tx: DbOrTx, productId: string, q: number): Promise<void> {
  await tx.insert(inventory).values({ productId, onHand: q })
  if (q > 0) await insertMovements(pgOf(tx), [{ productId, kind: 'restock', onHandDelta: q, reservedDelta: 0, reason: 'initial stock' }])
}

/**
 * Emits `stock.low` when a change took available from above the reorder point to at or below it
 * (crossings only, so a sale that sells 1,000 units emits one event, not 1,000), else
 * `stock.replan` when it crossed the replan level planning set (its forecast reorder point, or the
 * drop it counts as a big sale; stock.low re-plans too), and `stock.restocked` on every restock
 * (the alerts consumer closes its open low-stock alert; planning re-plans).
 */
export async function emitStockEvents(tx: Tx, after: StockRow, availableDelta: number, kind: MovementKind): Promise<void> {
  const now = after.onHand - after.reserved
  const before = now - availableDelta
  const payload = { productId: after.productId, available: now, onHand: after.onHand, reorderPoint: after.reorderPoint }
  const lvl = after.replanLevel
  if (before > after.reorderPoint && now <= after.reorderPoint) await emitEvent(tx, 'stock.low', after.productId, payload)
  else if (lvl != null && before > lvl && now <= lvl) await emitEvent(tx, 'stock.replan', after.productId, { ...payload, replanLevel: lvl })
  else if (kind === 'restock') await emitEvent(tx, 'stock.restocked', after.productId, payload)
}

/**
 * Sets the replan level (not stock: no version bump, so no optimistic reserve retries because of
 * it). When available is already at or below the new level, the crossing happened while the caller
 * was computing it: `stock.replan` is emitted now, so it is never missed. `seenAvailable`: what the
 * caller computed the level from; available that has not dropped below it is no crossing (else a
 * sold-out product, level 0 = available 0, would re-plan itself forever).
 */
export async function setReplanLevelRow(tx: Tx, productId: string, level: number | null, seenAvailable?: number): Promise<number | null> {
  const [row] = await pgOf(tx)<{ onHand: number; reserved: number; reorderPoint: number }[]>`
    update inventory set replan_level = ${level} where product_id = ${productId}
    returning on_hand as "onHand", reserved, reorder_point as "reorderPoint"`
  if (!row) return null
  const available = row.onHand - row.reserved
  if (level !== null && available <= level && (seenAvailable === undefined || available < seenAvailable))
    await emitEvent(tx, 'stock.replan', productId, {
      productId,
      available,
      onHand: row.onHand,
      reorderPoint: row.reorderPoint,
      replanLevel: level,
    })
  return available
}
