// Row-level building blocks shared by the strategies: raw postgres.js statements on the caller's
// transaction (hot path: no query builder), reservation and ledger inserts, low-stock events.
import type postgres from 'postgres'
import type { MovementKind } from '../../../db/schema'
import type { Tx } from '../../infra/db'
import { emitEvent } from '../../lib/outbox'

export type NewReservation = { id: string; orderId: string; productId: string; quantity: number; expiresAt: Date }
export type Movement = {
  productId: string
  kind: MovementKind
  onHandDelta: number
  reservedDelta: number
  reservationId?: string | null
  orderId?: string | null
  reason?: string | null
}

export function newReservations(orderId: string, lines: { productId: string; quantity: number }[], expiresAt: Date): NewReservation[] {
  return lines.map((l) => ({ id: Bun.randomUUIDv7(), orderId, productId: l.productId, quantity: l.quantity, expiresAt }))
}

// The inserts are sent the moment they are called (execute()), so a caller can queue several
// statements of one transaction in order and await them together: one round trip.
export function insertReservations(ptx: postgres.TransactionSql, rows: NewReservation[]): PromiseLike<unknown> {
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

export function insertMovements(ptx: postgres.TransactionSql, rows: Movement[]): PromiseLike<unknown> {
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

export type StockRow = { productId: string; onHand: number; reserved: number; reorderPoint: number }

/**
 * Emits `stock.low` when a change took available from above the reorder point to at or below it
 * (crossings only, so a sale that sells 1,000 units emits one event, not 1,000), and
 * `stock.restocked` on every restock (the alerts consumer closes its open low-stock alert).
 */
export async function emitStockEvents(tx: Tx, after: StockRow, availableDelta: number, kind: MovementKind): Promise<void> {
  const now = after.onHand - after.reserved
  const before = now - availableDelta
  if (before > after.reorderPoint && now <= after.reorderPoint) {
    await emitEvent(tx, 'stock.low', after.productId, {
      productId: after.productId,
      available: now,
      onHand: after.onHand,
      reorderPoint: after.reorderPoint,
    })
  } else if (kind === 'restock') {
    await emitEvent(tx, 'stock.restocked', after.productId, {
      productId: after.productId,
      available: now,
      onHand: after.onHand,
      reorderPoint: after.reorderPoint,
    })
  }
}
