// Demand history and stored forecasts. History = units ordered per UTC day (orders that were not
// abandoned at payment), with days on which the product was out of stock marked missing: what
// sold on those days says nothing about what people wanted. Stock-outs are read from the
// inventory ledger (running on_hand − reserved): planning is a reader of the orders and the
// ledger, never a writer; both are read with plain SELECTs, as the alerts module reads stock.
import { sql } from 'drizzle-orm'
import { productForecasts } from '../../../db/schema'
import { db } from '../../infra/db'
import { NotFoundError } from '../../lib/errors'
import { getInventory } from '../inventory/service'
import { type Band, type Fit, forecastSeries, HORIZON, type Method, type Obs, score } from './forecast'

export const HISTORY_DAYS = 182
const DAY = 86_400_000
const dayKey = (ms: number) => new Date(ms).toISOString().slice(0, 10)
const r2 = (x: number) => Math.round(x * 100) / 100

/** Daily demand for each product over the `days` full UTC days before `now` (oldest first). */
export async function demandHistory(productIds: string[], now = new Date(), days = HISTORY_DAYS): Promise<Map<string, Obs[]>> {
  const out = new Map<string, Obs[]>()
  if (productIds.length === 0) return out
  const to = Date.UTC(now.getUTCFullYear(), now.getUTCMonth(), now.getUTCDate())
  const from = to - days * DAY
  const fromTs = new Date(from).toISOString()
  const toTs = new Date(to).toISOString()
  const units = await db.execute<{ product_id: string; day: string; units: number }>(sql`
    select oi.product_id, to_char(o.created_at at time zone 'UTC', 'YYYY-MM-DD') as day, sum(oi.quantity)::int as units
    from order_items oi join orders o on o.id = oi.order_id
    where oi.product_id in ${productIds} and o.created_at >= ${fromTs} and o.created_at < ${toTs}
      and o.status not in ('payment_failed', 'expired')
    group by 1, 2`)
  // The balance before the window (a plain sum), then each day's lowest and closing balance inside
  // it relative to that opening: the running sum only spans the window, not a best-seller's whole
  // ledger.
  const ledger = await db.execute<{ product_id: string; day: string | null; low: number; close: number }>(sql`
    with m as (
      select product_id, created_at, id, on_hand_delta - reserved_delta as d
      from inventory_movements where product_id in ${productIds} and created_at < ${toTs}
    ), r as (
      select product_id, created_at, sum(d) over (partition by product_id order by created_at, id) as bal
      from m where created_at >= ${fromTs}
    )
    select product_id, null as day, 0 as low, coalesce(sum(d), 0)::int as close from m where created_at < ${fromTs} group by 1
    union all
    select product_id, to_char(created_at at time zone 'UTC', 'YYYY-MM-DD'), min(bal)::int,
      (array_agg(bal order by created_at desc))[1]::int
    from r group by 1, 2`)
  const unitsBy = new Map(units.map((u) => [`${u.product_id}|${u.day}`, u.units]))
  const opening = new Map<string, number>()
  const dayBal = new Map<string, { low: number; close: number }>()
  for (const l of ledger) {
    if (l.day === null) opening.set(l.product_id, l.close)
    else dayBal.set(`${l.product_id}|${l.day}`, { low: l.low, close: l.close })
  }
  for (const id of productIds) {
    const open = opening.get(id) ?? 0
    let bal = open
    const series: Obs[] = []
    for (let d = 0; d < days; d++) {
      const k = `${id}|${dayKey(from + d * DAY)}`
      const b = dayBal.get(k)
      const out = b ? open + b.low <= 0 || bal <= 0 : bal <= 0
      if (b) bal = open + b.close
      const u = unitsBy.get(k) ?? 0
      // A day that still sold something was not (entirely) out of stock: keep what it sold.
      series.push(out && u === 0 ? null : u)
    }
    out.set(id, series)
  }
  return out
}

export type ForecastView = {
  productId: string
  method: Method
  accuracy: { mase: number | null; coverage80: number | null; coverage95: number | null; holdoutDays: number }
  history: { date: string; value: number | null; stockout: boolean }[]
  forecast: ({ date: string } & Band)[]
  computedAt: string
}
export type StoredForecast = ForecastView & { sigma: number }

/** Fits one series, with the last 28 days held out first to report the method's accuracy. */
export function buildForecast(productId: string, y: Obs[], now: Date): StoredForecast {
  const to = Date.UTC(now.getUTCFullYear(), now.getUTCMonth(), now.getUTCDate())
  const fit: Fit = forecastSeries(y)
  const cut = y.length - HORIZON
  const train = y.slice(0, cut)
  const heldOut = train.some((v) => v !== null) ? score(train, y.slice(cut), forecastSeries(train, HORIZON, fit.method).points) : null
  const round = (b: Band) => ({
    value: r2(b.value),
    lower80: r2(b.lower80),
    upper80: r2(b.upper80),
    lower95: r2(b.lower95),
    upper95: r2(b.upper95),
  })
  return {
    productId,
    method: fit.method,
    accuracy: {
      mase: heldOut?.mase == null ? null : r2(heldOut.mase),
      coverage80: heldOut?.coverage80 == null ? null : r2(heldOut.coverage80),
      coverage95: heldOut?.coverage95 == null ? null : r2(heldOut.coverage95),
      holdoutDays: heldOut?.n ?? 0,
    },
    history: y.map((v, d) => ({ date: dayKey(to - (y.length - d) * DAY), value: v, stockout: v === null })),
    forecast: fit.points.map((b, k) => ({ date: dayKey(to + k * DAY), ...round(b) })),
    computedAt: now.toISOString(),
    sigma: r2(fit.sigma),
  }
}

async function store(f: StoredForecast): Promise<void> {
  const row = {
    productId: f.productId,
    method: f.method,
    accuracy: f.accuracy,
    history: f.history,
    forecast: f.forecast,
    sigma: f.sigma,
    computedAt: new Date(f.computedAt),
  }
  await db.insert(productForecasts).values(row).onConflictDoUpdate({ target: productForecasts.productId, set: row })
}

/** Recomputes and stores the forecasts of these products; returns them. */
export async function refreshForecasts(productIds: string[], now = new Date()): Promise<StoredForecast[]> {
  const hist = await demandHistory(productIds, now)
  const out: StoredForecast[] = []
  for (const id of productIds) {
    const f = buildForecast(id, hist.get(id) ?? [], now)
    await store(f)
    out.push(f)
  }
  return out
}

/** The stored forecast, recomputed first when missing or older than `maxAgeMs`. */
export async function forecastFor(productId: string, maxAgeMs = 6 * 3_600_000): Promise<StoredForecast> {
  await getInventory(productId) // 404 for an unknown product
  const [row] = await db.select().from(productForecasts).where(sql`${productForecasts.productId} = ${productId}`)
  if (row && Date.now() - row.computedAt.getTime() < maxAgeMs) {
    return {
      productId,
      method: row.method as Method,
      accuracy: row.accuracy as ForecastView['accuracy'],
      history: row.history as ForecastView['history'],
      forecast: row.forecast as ForecastView['forecast'],
      computedAt: row.computedAt.toISOString(),
      sigma: Number(row.sigma),
    }
  }
  const [f] = await refreshForecasts([productId])
  if (!f) throw new NotFoundError('Product')
  return f
}

/** Live (not deleted) products with stock records, `batch` ids at a time, in id order. */
export async function* plannedProducts(batch = 200): AsyncGenerator<string[]> {
  let after = '00000000-0000-0000-0000-000000000000'
  for (;;) {
    const rows = await db.execute<{ product_id: string }>(sql`
      select i.product_id from inventory i join products p on p.id = i.product_id
      where p.deleted_at is null and i.product_id > ${after} order by i.product_id limit ${batch}`)
    if (rows.length === 0) return
    yield rows.map((r) => r.product_id)
    after = (rows[rows.length - 1] as { product_id: string }).product_id
  }
}

/** Every live product (the scheduled job). */
export async function refreshAllForecasts(): Promise<{ products: number }> {
  let n = 0
  for await (const ids of plannedProducts()) {
    await refreshForecasts(ids)
    n += ids.length
  }
  return { products: n }
}
