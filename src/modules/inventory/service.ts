// Inventory engine (issue 5). Every write to `inventory` goes through this module and through
// guardStockChange; the CHECK constraints behind it are the fence. Three reservation strategies
// (see strategies.ts and batcher.ts), commit/release for the order lifecycle, restock, queries.
import { sql as dsql, inArray } from 'drizzle-orm'
import { inventory } from '../../../db/schema'
import { config } from '../../config'
import { type DbOrTx, db, pgOf, type Tx } from '../../infra/db'
import { counter, histogram } from '../../infra/metrics'
import { decodeIdCursor, type Page, toPage } from '../../lib/cursor'
import { invalidateProduct } from '../catalog/cache'
import { enqueueReservation } from './batcher'
import { ContentionError, OutOfStockError, ProductInventoryNotFound } from './errors'
import {
  type DoorMarker,
  gateAdjust,
  gateAdmit,
  gateMetrics,
  gateRefresh,
  gateRelease,
  gateReserve,
  gateRetire,
  newTicketId,
  reconcileGate as reconcile,
} from './gate'
import { guardStockChange } from './guard'
import { emitStockEvents, insertMovements, type StockRow } from './store'
import { reserveConditional, reserveOptimistic, reservePessimistic } from './strategies'

export { ContentionError, OutOfStockError } from './errors'

export type Strategy = 'gated' | 'pessimistic' | 'optimistic'
export type ReserveLine = { productId: string; quantity: number }

const reservationsTotal = counter('inventory_reservations_total', 'Reservation attempts by strategy and outcome', ['strategy', 'outcome'])
const reserveSeconds = histogram(
  'inventory_reserve_duration_seconds',
  'reserveForOrder latency by strategy',
  ['strategy'],
  [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5],
)

/**
 * Units a request already took from the gate at the door, leased to `id` (see gate.ts): the lease
 * ends when the reservation commits or the units are given back; if the process dies first, it
 * expires and the units return to the gate. `done` once handed over or given back.
 */
export type GateTicket = { id: string; lines: readonly ReserveLine[]; done: boolean }

/**
 * The flash-sale door (gated strategy only), before any Postgres work: throws OutOfStockError when
 * the Redis gate knows the lines cannot be served, otherwise takes the units from the gate and
 * returns a ticket for them. Pass the ticket to reserveForOrder (which then owns it) and call
 * returnGateTicket when the request ends, whatever happened (a no-op once handed over). null = the
 * gate can't vouch (Redis down, counters unloaded or stale, or `marker` present in Redis): take
 * the full path. An admission sets `marker` (the caller's Idempotency-Key marker). The Postgres
 * conditional UPDATE stays the fence either way.
 */
export async function admitAtTheDoor(
  lines: readonly ReserveLine[],
  marker: DoorMarker,
  strategy: Strategy = config.INVENTORY_STRATEGY,
): Promise<GateTicket | null> {
  if (strategy !== 'gated') return null
  const checked = guardStockChange('reserve', lines)
  const id = newTicketId()
  const res = await gateAdmit(checked, marker, id)
  if (!res) return null
  if (!res.ok) {
    reservationsTotal.inc({ strategy: 'gated-fast-path', outcome: 'out_of_stock' })
    throw new OutOfStockError(res.productIds)
  }
  return { id, lines: checked, done: false }
}

/** Gives a ticket's units back to the gate unless a reservation took it over. */
export async function returnGateTicket(ticket: GateTicket): Promise<void> {
  if (ticket.done) return
  ticket.done = true
  await gateRelease(ticket.lines, ticket.id, true)
}

/** The boot warm-up's sold-out probe (src/warmup.ts): a 0-unit gate counter for a made-up product. */
export { gateDropProbe as dropSoldOutProbe, gateSoldOutProbe as soldOutProbe } from './gate'

/** Zeroes the counts the door's refusals add to, after the warm-up's probe (before any client). */
export function forgetProbeRefusals(): void {
  gateMetrics.rejections.reset()
  reservationsTotal.reset()
}

/** The product was deleted (after the commit): the checkout door stops answering for it. */
export async function retireProductStock(productId: string): Promise<void> {
  await gateRetire(productId)
}

/** Creates the inventory row of a new product (inside the product's transaction). */
export async function createInventory(tx: DbOrTx, productId: string, initialStock: number): Promise<void> {
  const [line] = guardStockChange('create', [{ productId, quantity: initialStock }], 'stock')
  const q = (line as ReserveLine).quantity
  await tx.insert(inventory).values({ productId, onHand: q })
  if (q > 0) {
    await tx.execute(dsql`insert into inventory_movements (id, product_id, kind, on_hand_delta, reason)
      values (${Bun.randomUUIDv7()}, ${productId}, 'restock', ${q}, 'initial stock')`)
  }
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

/**
 * All-or-nothing reservation for one order. `persist(tx)` writes the order's own rows (orders,
 * order_items, history, outbox) inside the SAME transaction as the reservation; if it throws,
 * nothing is written (and any Redis gate decrement is compensated). Throws OutOfStockError (409,
 * code 'out_of_stock', extra { productIds }) when any line lacks stock.
 */
export async function reserveForOrder(
  input: { orderId: string; lines: ReserveLine[]; expiresAt: Date; persist: (tx: Tx) => Promise<void>; ticket?: GateTicket | null },
  strategy: Strategy = config.INVENTORY_STRATEGY,
): Promise<void> {
  const lines = guardStockChange('reserve', input.lines)
  const ids = lines.map((l) => l.productId)
  const end = reserveSeconds.startTimer({ strategy })
  let outcome = 'error'
  try {
    if (strategy === 'gated') await reserveGated(input, lines, takeTicket(input.ticket, lines) ? (input.ticket as GateTicket).id : null)
    else {
      if (strategy === 'pessimistic') await reservePessimistic(input, lines)
      else await reserveOptimistic(input, lines)
      // Keep loaded gate counters in step when another strategy sold from the same product.
      await gateAdjust(lines.map((l) => ({ productId: l.productId, delta: -l.quantity })))
      await invalidateProduct(...ids)
    }
    outcome = 'reserved'
  } catch (err) {
    outcome = err instanceof OutOfStockError ? 'out_of_stock' : err instanceof ContentionError ? 'contention' : 'error'
    throw err
  } finally {
    end()
    reservationsTotal.inc({ strategy, outcome })
  }
}

/** True when the ticket covers exactly these lines: the reservation then owns its units. */
function takeTicket(ticket: GateTicket | null | undefined, lines: ReserveLine[]): boolean {
  if (!ticket || ticket.done) return false
  const same =
    ticket.lines.length === lines.length &&
    ticket.lines.every((l, i) => l.productId === lines[i]?.productId && l.quantity === lines[i]?.quantity)
  if (same) ticket.done = true
  return same
}

/**
 * Gate first (sold out → 409 without touching Postgres; skipped when the door already took the
 * units: `admitted` = its ticket id), then the conditional UPDATE: single-line orders through the
 * per-product group-commit batcher, multi-line orders in one transaction. The gate's lease ends
 * after the commit; any failure after the gate passed gives the units back.
 */
async function reserveGated(
  input: { orderId: string; expiresAt: Date; persist: (tx: Tx) => Promise<void> },
  lines: ReserveLine[],
  admitted: string | null,
) {
  const ticketId = admitted ?? newTicketId()
  const gate = admitted ? ({ ok: true } as const) : await gateReserve(lines, ticketId)
  if (gate && !gate.ok) throw new OutOfStockError(gate.productIds)
  try {
    if (lines.length === 1) {
      const l = lines[0] as ReserveLine
      await enqueueReservation({ ...input, productId: l.productId, quantity: l.quantity })
    } else {
      await reserveConditional(input, lines)
      await invalidateProduct(...lines.map((l) => l.productId))
    }
  } catch (err) {
    if (gate) {
      // Postgres said "short" although the gate let it through: the counter had drifted up
      // (e.g. a sale on another strategy). Reload it from the truth instead of giving back (the
      // reload drops the product's leases, so the release below gives nothing back for it).
      if (err instanceof OutOfStockError) await gateRefresh(err.productIds)
      await gateRelease(lines, ticketId, true)
    }
    throw err
  }
  // Not awaited: the buyer need not wait for it, and a release lost on the way only lets the
  // lease expire (upward drift, which Postgres refuses).
  if (gate) void gateRelease(lines, ticketId, false)
}

/** Payment confirmed: moves units out of onHand and reserved; reservations → committed. Idempotent. */
export async function commitReservations(tx: Tx, orderId: string): Promise<void> {
  const ptx = pgOf(tx)
  const rows = await ptx<{ id: string; productId: string; quantity: number }[]>`
    update reservations set status = 'committed', updated_at = now()
    where order_id = ${orderId} and status = 'active'
    returning id, product_id as "productId", quantity`
  if (rows.length === 0) return
  guardStockChange('commit', rows)
  rows.sort((a, b) => (a.productId < b.productId ? -1 : 1))
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
  // available = on_hand − reserved is unchanged by a commit: the gate needs no adjustment.
}

/** Gives units back; reservations → released | expired. Idempotent (already-released is a no-op). */
export async function releaseReservations(tx: Tx, orderId: string, reason: 'released' | 'expired'): Promise<void> {
  const ptx = pgOf(tx)
  const rows = await ptx<{ id: string; productId: string; quantity: number }[]>`
    update reservations set status = ${reason}, updated_at = now()
    where order_id = ${orderId} and status = 'active'
    returning id, product_id as "productId", quantity`
  if (rows.length === 0) return
  const kind = reason === 'expired' ? 'expire' : 'release'
  guardStockChange(kind, rows)
  rows.sort((a, b) => (a.productId < b.productId ? -1 : 1))
  for (const r of rows) {
    const [after] = await ptx<StockRow[]>`update inventory set reserved = reserved - ${r.quantity}, version = version + 1,
      updated_at = now() where product_id = ${r.productId}
      returning product_id as "productId", on_hand as "onHand", reserved, reorder_point as "reorderPoint"`
    if (after) await emitStockEvents(tx, after, r.quantity, kind)
  }
  await insertMovements(
    ptx,
    rows.map((r) => ({ productId: r.productId, kind, onHandDelta: 0, reservedDelta: -r.quantity, reservationId: r.id, orderId })),
  )
  // The caller commits, not us. Adjusting the gate before that commit can only make it too high
  // for a moment (or for good if the caller rolls back) — the safe direction: Postgres still
  // refuses. The generation bump stops loaders from installing a pre-release value.
  const ids = rows.map((r) => r.productId)
  await gateAdjust(rows.map((r) => ({ productId: r.productId, delta: r.quantity })))
  await invalidateProduct(...ids)
  // Invalidate again once the caller's transaction has surely committed (cache-aside race).
  setTimeout(() => void invalidateProduct(...ids).catch(() => {}), 250).unref?.()
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

/** Adds units on hand (admin). Restock is the only way stock grows, and it is always ledgered. */
export async function restock(
  productId: string,
  quantity: number,
  reason: string | null = null,
  actorId: string | null = null,
): Promise<InventoryView> {
  const [line] = guardStockChange('restock', [{ productId, quantity }], 'body')
  const q = (line as ReserveLine).quantity
  const after = await db.transaction(async (tx) => {
    const ptx = pgOf(tx)
    const [row] = await ptx<(StockRow & { version: number })[]>`
      update inventory set on_hand = on_hand + ${q}, version = version + 1, updated_at = now()
      where product_id = ${productId}
      returning product_id as "productId", on_hand as "onHand", reserved, version, reorder_point as "reorderPoint"`
    if (!row) throw new ProductInventoryNotFound(productId)
    await insertMovements(ptx, [
      { productId, kind: 'restock', onHandDelta: q, reservedDelta: 0, reason: reason ?? (actorId ? `restock by ${actorId}` : null) },
    ])
    await emitStockEvents(tx, row, q, 'restock')
    return row
  })
  await gateAdjust([{ productId, delta: q }])
  await invalidateProduct(productId)
  return view(after)
}

export type MovementView = {
  id: string
  kind: string
  onHandDelta: number
  reservedDelta: number
  reservationId: string | null
  orderId: string | null
  reason: string | null
  createdAt: string
}

/** The ledger of one product, newest first (UUIDv7 ids sort by time). */
export async function listMovements(productId: string, limit: number, cursor?: string): Promise<Page<MovementView>> {
  await getInventory(productId)
  const after = decodeIdCursor(cursor)
  const rows = await db.execute<{
    id: string
    kind: string
    on_hand_delta: number
    reserved_delta: number
    reservation_id: string | null
    order_id: string | null
    reason: string | null
    created_at: string | Date
  }>(dsql`select id, kind, on_hand_delta, reserved_delta, reservation_id, order_id, reason, created_at
    from inventory_movements where product_id = ${productId} ${after ? dsql`and id < ${after}` : dsql``}
    order by id desc limit ${limit + 1}`)
  const items = [...rows].map((r) => ({
    id: r.id,
    kind: r.kind,
    onHandDelta: r.on_hand_delta,
    reservedDelta: r.reserved_delta,
    reservationId: r.reservation_id,
    orderId: r.order_id,
    reason: r.reason,
    createdAt: new Date(r.created_at).toISOString(),
  }))
  return toPage(items, limit, (m) => [m.id])
}
