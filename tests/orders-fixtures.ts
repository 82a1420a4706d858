// Fixtures of the orders/cart/payments tests: checkout helpers over the real HTTP surface.
import { eq } from 'drizzle-orm'
import { orderStatusHistory, outboxEvents, products } from '../db/schema'
import { db } from '../src/infra/db'
import { req } from './helpers'
import { productWithStock, stock } from './inventory-fixtures'

export { productWithStock, stock }

export const newKey = () => `k-${Bun.randomUUIDv7()}`

export async function priceOf(productId: string): Promise<number> {
  const [p] = await db.select({ price: products.priceCents }).from(products).where(eq(products.id, productId))
  return p!.price
}

export async function order(token: string, items: { productId: string; quantity: number }[], key = newKey()) {
  return req('POST', '/api/v1/orders', { token, body: { items }, headers: { 'idempotency-key': key } })
}

export async function pay(token: string, orderId: string, paymentMethod: string, key = newKey()) {
  return req('POST', `/api/v1/orders/${orderId}/pay`, { token, body: { paymentMethod }, headers: { 'idempotency-key': key } })
}

export async function history(orderId: string) {
  return db.select().from(orderStatusHistory).where(eq(orderStatusHistory.orderId, orderId)).orderBy(orderStatusHistory.id)
}

export async function eventsOf(orderId: string) {
  const rows = await db.select().from(outboxEvents).where(eq(outboxEvents.aggregateId, orderId)).orderBy(outboxEvents.createdAt)
  return rows.map((r) => r.type)
}

export async function reservationsOf(orderId: string) {
  const rows = await db.execute<{ status: string; quantity: number }>(
    `select status, quantity from reservations where order_id = '${orderId}'`,
  )
  return [...rows]
}

/** Polls until `fn` returns a truthy value (background jobs); fails after `ms`. */
export async function eventually<T>(fn: () => Promise<T | null | undefined | false>, ms = 10_000): Promise<T> {
  const until = Date.now() + ms
  for (;;) {
    const v = await fn()
    if (v) return v
    if (Date.now() > until) throw new Error('condition not reached in time')
    await Bun.sleep(25)
  }
}
