// Product reads the recommendation routes need: summaries of live products and their stock.
// Availability comes from the inventory service. The product columns are read here directly
// because the catalog service on this branch only exports getProductsForOrder; at merge, swap
// `liveProducts` for the catalog's summary lookup if it has one (same shape).
import { db, sql } from '../../infra/db'
import { availableByProductIds } from '../inventory/service'

export type ProductSummary = {
  id: string
  name: string
  priceCents: number
  currency: string
  ratingAvg: number | null
  ratingCount: number
  available: number
}

/** 'missing' (never existed), 'deleted' (soft-deleted) or 'live'. */
export async function productState(id: string): Promise<'live' | 'deleted' | 'missing'> {
  const [row] = await sql<{ deleted: boolean }[]>`select deleted_at is not null as deleted from products where id = ${id}`
  return !row ? 'missing' : row.deleted ? 'deleted' : 'live'
}

/**
 * Summaries of the given products that are live AND in stock, in the given order — the
 * exclusion rule of every recommendation list (a deleted or sold-out product is no suggestion).
 */
export async function recommendableSummaries(ids: readonly string[]): Promise<ProductSummary[]> {
  if (ids.length === 0) return []
  const rows = await sql<{ id: string; name: string; price_cents: number; currency: string; rating_count: number; rating_sum: number }[]>`
    select id, name, price_cents, currency, rating_count, rating_sum from products
    where id = any(${ids as string[]}::uuid[]) and deleted_at is null`
  const stock = await availableByProductIds(
    db,
    rows.map((r) => r.id),
  )
  const byId = new Map(rows.map((r) => [r.id, r]))
  const out: ProductSummary[] = []
  for (const id of ids) {
    const r = byId.get(id)
    const available = stock.get(id) ?? 0
    if (!r || available <= 0) continue
    out.push({
      id,
      name: r.name,
      priceCents: r.price_cents,
      currency: r.currency,
      ratingAvg: r.rating_count > 0 ? Math.round((r.rating_sum / r.rating_count) * 100) / 100 : null,
      ratingCount: r.rating_count,
      available,
    })
  }
  return out
}

/** Fallback popularity before the first rebuild: the catalog's denormalised purchase counter. */
export async function bestSellersByCounter(limit: number): Promise<string[]> {
  const rows = await sql<{ id: string }[]>`
    select id from products where deleted_at is null
    order by purchase_count desc, rating_count desc, id limit ${limit}`
  return rows.map((r) => r.id)
}
