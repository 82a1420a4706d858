// The movement ledger of a product, read back for the admin route (newest first).
import { sql as dsql, eq } from 'drizzle-orm'
import { inventory } from '../../../db/schema'
import { db } from '../../infra/db'
import { decodeIdCursor, type Page, toPage } from '../../lib/cursor'
import { ProductInventoryNotFound } from './errors'

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
  const [known] = await db.select({ productId: inventory.productId }).from(inventory).where(eq(inventory.productId, productId))
  if (!known) throw new ProductInventoryNotFound(productId)
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
