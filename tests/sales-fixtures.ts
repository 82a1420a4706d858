// Fixtures of the flash-sale tests: an admin, sales created through the admin route, "time travel"
// (moving a sale's window in Postgres, where the fence reads it, and dropping every instance's
// copy), and the counters to assert on.
import { sql } from '../src/infra/db'
import { forgetSale } from '../src/modules/sales/snapshot'
import { createUser, req, tokenFor } from './helpers'
import { newKey, productWithStock } from './orders-fixtures'

export type Sale = { id: string; productId: string }

let admin: { token: string } | null = null
async function adminToken(): Promise<string> {
  admin ??= await createUser('admin')
  return admin.token
}

export async function createSale(
  opts: { stock?: number; units?: number; limit?: number; startsInMs?: number; lastsMs?: number; price?: number } = {},
): Promise<Sale> {
  const productId = await productWithStock(opts.stock ?? 100)
  const now = Date.now()
  const startsAt = new Date(now + (opts.startsInMs ?? 60_000))
  const r = await req('POST', '/api/v1/admin/sales', {
    token: await adminToken(),
    body: {
      productId,
      salePriceCents: opts.price ?? 500,
      units: opts.units ?? 20,
      startsAt: startsAt.toISOString(),
      endsAt: new Date(startsAt.getTime() + (opts.lastsMs ?? 3_600_000)).toISOString(),
      perCustomerLimit: opts.limit ?? 1,
    },
  })
  if (r.status !== 201) throw new Error(`create sale: ${r.status} ${r.text}`)
  return { id: r.body.id, productId }
}

/** Moves the sale's window (Postgres: the sale and its pool) and makes every instance forget it. */
export async function setWindow(saleId: string, startsAt: Date, endsAt: Date): Promise<void> {
  await sql`update sales set starts_at = ${startsAt.toISOString()}, ends_at = ${endsAt.toISOString()} where id = ${saleId}`
  await sql`update sale_pools set opens_at = ${startsAt.toISOString()}, closes_at = ${endsAt.toISOString()} where sale_id = ${saleId}`
  await forgetSale(saleId)
}

export const openNow = (saleId: string) => setWindow(saleId, new Date(Date.now() - 1000), new Date(Date.now() + 3_600_000))
export const endNow = (saleId: string) => setWindow(saleId, new Date(Date.now() - 2000), new Date(Date.now() - 1))

export async function saleOrder(token: string, saleId: string, quantity = 1, key = newKey()) {
  return req('POST', `/api/v1/sales/${saleId}/orders`, { token, body: { quantity }, headers: { 'idempotency-key': key } })
}

export async function pool(saleId: string) {
  const [p] = await sql<{ units: number; held: number; sold: number; returned: number; closed: boolean }[]>`
    select units, held, sold, returned, closed_at is not null as closed from sale_pools where sale_id = ${saleId}`
  return p
}

export async function buyersOf(saleId: string): Promise<Map<string, number>> {
  const rows = await sql<{ userId: string; n: number }[]>`
    select o.user_id as "userId", sum(o.quantity)::int as n from sale_pool_orders o
    join reservations r on r.order_id = o.order_id and r.status in ('active', 'committed')
    where o.sale_id = ${saleId} group by 1`
  return new Map(rows.map((r) => [r.userId, r.n]))
}

/** `n` customers in one statement (a crowd), with access tokens. */
export async function crowd(n: number): Promise<{ id: string; token: string }[]> {
  const tag = Bun.randomUUIDv7()
  const rows = Array.from({ length: n }, (_, i) => ({
    id: Bun.randomUUIDv7(),
    email: `crowd-${tag}-${i}@test.local`,
    name: 'Crowd',
    password_hash: 'not-a-login',
  }))
  const ids = await sql<{ id: string }[]>`insert into users ${sql(rows, 'id', 'email', 'name', 'password_hash')} returning id`
  return Promise.all(ids.map(async ({ id }) => ({ id, token: await tokenFor(id, 'customer') })))
}
