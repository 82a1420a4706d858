// What every instance knows about a sale: its terms (from `sales`), its product (catalog) and its
// pool counters (inventory), read together and kept for SNAPSHOT_TTL_MS in an in-process near cache
// that the cache bus clears on every instance when an admin changes the sale. The crowd polls
// GET /sales/:id and posts before the opening: at most one read per sale per process per TTL (and
// the misses of one event-loop turn share one read), not one per request. `remaining` may lag by
// the TTL; admission never relies on it (the gate and the pool's UPDATE decide).
import { inArray } from 'drizzle-orm'
import { sales } from '../../../db/schema'
import { attachNearCache, broadcastDrop } from '../../infra/cache-bus'
import { db } from '../../infra/db'
import { coalesce } from '../../lib/coalesce'
import { NearCache } from '../../lib/near-cache'
import { getProductsForOrder, type OrderableProduct } from '../catalog/service'
import { type PoolState, poolSoldOutLocally, poolStates } from '../inventory/service'
import type { SaleStatus, SaleView } from './model'

const SNAPSHOT_TTL_MS = 250

export type SaleRow = typeof sales.$inferSelect
export type Snapshot = { sale: SaleRow; product: OrderableProduct | null; pool: PoolState | null }

const near = new NearCache<Snapshot>(5000, SNAPSHOT_TTL_MS)
let attached = false
const cacheKey = (id: string) => `sale:${id}`

const load = coalesce<string, Snapshot | null>(async (ids) => {
  const unique = [...new Set(ids)]
  const rows = await db.select().from(sales).where(inArray(sales.id, unique))
  const [products, pools] = await Promise.all([
    getProductsForOrder(db, [...new Set(rows.map((r) => r.productId))]),
    poolStates(rows.map((r) => r.id)),
  ])
  const byId = new Map(
    rows.map((sale) => [sale.id, { sale, product: products.get(sale.productId) ?? null, pool: pools.get(sale.id) ?? null }]),
  )
  return ids.map((id) => byId.get(id) ?? null)
})

/** The sale as this process knows it (≤ SNAPSHOT_TTL_MS old); null = no such sale. */
export async function saleSnapshot(id: string): Promise<Snapshot | null> {
  if (!attached) {
    attached = true
    attachNearCache(near as NearCache<unknown>)
  }
  const hit = near.get(cacheKey(id))
  if (hit) return hit
  const epoch = near.epoch
  const snap = await load(id)
  if (snap) near.fill(cacheKey(id), snap, epoch)
  return snap
}

/** This process forgets its copy (it just changed the pool: its next read should see it). */
export function forgetSaleLocally(id: string): void {
  near.drop([cacheKey(id)])
}

/** Every instance forgets its copy (after an admin change commits, before answering). */
export async function forgetSale(id: string): Promise<void> {
  await broadcastDrop([cacheKey(id)])
}

export function statusOf(s: Snapshot, now: number): SaleStatus {
  if (s.sale.state === 'cancelled') return 'cancelled'
  if (now >= s.sale.endsAt.getTime() || s.pool?.closed) return 'ended'
  if (now < s.sale.startsAt.getTime()) return 'scheduled'
  return (s.pool?.free ?? 0) > 0 && !poolSoldOutLocally(s.sale.id, false) ? 'live' : 'sold_out'
}

export function publicView(s: Snapshot, now: number): SaleView {
  const status = statusOf(s, now)
  const p = s.product
  return {
    id: s.sale.id,
    product: p
      ? { id: p.id, name: p.name, priceCents: p.priceCents, currency: p.currency }
      : { id: s.sale.productId, name: '', priceCents: 0, currency: 'XXX' },
    salePriceCents: s.sale.salePriceCents,
    startsAt: s.sale.startsAt.toISOString(),
    endsAt: s.sale.endsAt.toISOString(),
    serverTime: new Date(now).toISOString(),
    status,
    remaining: status === 'live' || status === 'scheduled' ? Math.max(0, s.pool?.free ?? 0) : 0,
  }
}
