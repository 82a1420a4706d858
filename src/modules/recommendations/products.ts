// Product reads the recommendation routes need: summaries of live, in-stock products. They come
// from the catalog's product cache (bodies carry live availability; stock changes invalidate them).
import { sql } from '../../infra/db'
import type { Product } from '../catalog/model'
import { getProductBodies } from '../catalog/service'

export type ProductSummary = {
  id: string
  name: string
  priceCents: number
  currency: string
  ratingAvg: number | null
  ratingCount: number
  available: number
}

/**
 * Summaries of the given products that are live AND in stock, in the given order — the
 * exclusion rule of every recommendation list (a deleted or sold-out product is no suggestion).
 */
export async function recommendableSummaries(ids: readonly string[]): Promise<ProductSummary[]> {
  const out: ProductSummary[] = []
  for (const body of await getProductBodies([...ids])) {
    const p = JSON.parse(body.json) as Product
    if (p.available <= 0) continue
    out.push({
      id: p.id,
      name: p.name,
      priceCents: p.priceCents,
      currency: p.currency,
      ratingAvg: p.ratingAvg,
      ratingCount: p.ratingCount,
      available: p.available,
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
