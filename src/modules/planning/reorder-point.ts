// Reorder arithmetic, pure (no I/O): reorder point, safety stock, order quantity, supplier choice.
//
// Reorder point = forecast demand over the lead time + safety stock, never below the manual
// `reorderPoint` inventory keeps (a product without history still gets suggestions from it).
// Safety stock = z(service level) × σ₁ × √L, σ₁ being the forecast's one-step error — the textbook
// formula for independent daily errors. When available + on order ≤ the reorder point, suggest
// enough to reach the reorder point + REVIEW_DAYS of forecast demand, rounded up to the MOQ and to
// whole packs. The supplier: lowest unit cost, each day of lead time costing 1 %, divided by
// reliability (no history counts as 0.9), so a cheap but late or short-shipping supplier loses.
import { serviceZ } from './forecast'
import type { Candidate } from './suppliers'

export const REVIEW_DAYS = 14

export type Plan = { reorderPoint: number; leadDemand: number; safetyStock: number; quantity: number; stockoutDay: number | null }

/** Pure arithmetic of one product (exported for the unit tests). */
export function planQuantity(x: {
  forecast: number[]
  sigma: number
  leadTime: number
  serviceLevel: number
  manualReorderPoint: number
  available: number
  onOrder: number
  moq: number
  packSize: number
}): Plan {
  const daily = (d: number) => x.forecast[d] ?? (x.forecast.length ? mean(x.forecast.slice(-7)) : 0)
  let leadDemand = 0
  for (let d = 0; d < x.leadTime; d++) leadDemand += daily(d)
  const safetyStock = serviceZ(x.serviceLevel) * x.sigma * Math.sqrt(x.leadTime)
  const reorderPoint = Math.max(x.manualReorderPoint, Math.ceil(leadDemand + safetyStock))
  let stockoutDay: number | null = null
  let left = x.available
  for (let d = 0; d < x.forecast.length && stockoutDay === null; d++) {
    if (left <= 0) stockoutDay = d
    left -= daily(d)
  }
  const position = x.available + x.onOrder
  let quantity = 0
  if (position <= reorderPoint) {
    let review = 0
    for (let d = x.leadTime; d < x.leadTime + REVIEW_DAYS; d++) review += daily(d)
    quantity = Math.max(1, Math.ceil(reorderPoint + review - position), x.moq)
    quantity = Math.ceil(quantity / x.packSize) * x.packSize
  }
  return { reorderPoint, leadDemand, safetyStock, quantity, stockoutDay }
}

const mean = (xs: number[]) => (xs.length ? xs.reduce((a, b) => a + b, 0) / xs.length : 0)

/** Lower is better: see the header. */
export const supplierCost = (c: Pick<Candidate, 'unitCostCents' | 'leadTime' | 'reliability'>) =>
  (c.unitCostCents * (1 + 0.01 * c.leadTime)) / Math.max(0.1, c.reliability ?? 0.9)

/**
 * The drop in available since the last plan that counts as a big sale: `days` of the forecast's
 * mean daily demand over its first week, at least `minUnits`. Plans run at least every 12 h (the
 * sweep) and after every restock and crossing, so ordinary demand (half a day between sweeps) never
 * reaches 3 days' worth; a promotion or one large order does.
 */
export function bigSaleUnits(forecast: readonly number[], days: number, minUnits: number): number {
  return Math.max(minUnits, Math.ceil(days * mean(forecast.slice(0, 7) as number[])))
}

/**
 * The available level at or below which inventory tells planning (stock.replan): the reorder
 * point while stock is above it, and in any case the level a big sale would reach; never below 0.
 */
export function replanLevel(available: number, reorderPoint: number, bigSale: number): number {
  const afterBigSale = available - bigSale
  return Math.max(0, available > reorderPoint ? Math.max(reorderPoint, afterBigSale) : afterBigSale)
}
