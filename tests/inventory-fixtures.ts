// Test fixtures of the inventory tests: products with stock, an order write (writeOrder) that writes an
// order-owned row, and the gate counter as Redis sees it.
import { products } from '../db/schema'
import { db, type Tx } from '../src/infra/db'
import { key, redis } from '../src/infra/redis'
import { createInventory } from '../src/modules/inventory/service'

export async function productWithStock(stock: number, reorderPoint = 10): Promise<string> {
  return db.transaction(async (tx) => {
    const [p] = await tx
      .insert(products)
      .values({ name: `p-${Math.random().toString(36).slice(2, 8)}`, priceCents: 1000 })
      .returning()
    if (!p) throw new Error('product insert failed')
    await createInventory(tx, p.id, stock)
    if (reorderPoint !== 10) await tx.execute(`update inventory set reorder_point = ${Number(reorderPoint)} where product_id = '${p.id}'`)
    return p.id
  })
}

/**
 * An order write (checkout's writeOrder) that leaves a visible trace of the order (an outbox row) or fails on purpose.
 * The event is one no job consumes: these orders do not exist, and an order.created would send
 * any worker that relays it failing confirmation-mail jobs (the outbox outage test's worker did).
 */
export const persistOrder =
  (orderId: string, fail = false) =>
  async (tx: Tx): Promise<void> => {
    await tx.execute(
      `insert into outbox_events (id, type, aggregate_id, payload) values ('${Bun.randomUUIDv7()}', 'order.status_changed', '${orderId}', '{}')`,
    )
    if (fail) throw new Error('persist failed on purpose')
  }

export async function gateValue(productId: string): Promise<number | null> {
  const v = await redis()?.hget(key('gate', productId), 'a')
  return v == null ? null : Number(v)
}

export async function stock(productId: string): Promise<{ onHand: number; reserved: number }> {
  const rows = await db.execute<{ on_hand: number; reserved: number }>(
    `select on_hand, reserved from inventory where product_id = '${productId}'`,
  )
  const r = [...rows][0]
  if (!r) throw new Error('no inventory row')
  return { onHand: r.on_hand, reserved: r.reserved }
}

export const inTheFuture = (s = 900) => new Date(Date.now() + s * 1000)
