// Dashboard figures, read from the rollups (rollup.ts) through analytics_range(): whole hours from
// analytics_hourly, partial edge hours from the per-order facts, so every window is exact. Sales
// are counted in the hour the order was PLACED (orders.created_at); an order counts as a sale once
// paid (gross: a later refund stays in revenue and is reported in refundsCents); cancellations are
// orders placed in the window that were cancelled. Results are cached per window (cache.ts).
import { sql } from '../../infra/db'
import { ValidationProblem } from '../../lib/errors'
import { cached } from './cache'

export const iso = (d: Date): string => d.toISOString()
/** A timestamptz as postgres.js hands it here (text: Drizzle swaps the parsers) → Date. */
export const asDate = (v: string | Date): Date =>
  v instanceof Date
    ? v
    : new Date(
        String(v)
          .replace(' ', 'T')
          .replace(/([+-]\d\d)$/, '$1:00'),
      )

export type Window = '24h' | '7d' | '30d'
const DAYS: Record<Window, number> = { '24h': 1, '7d': 7, '30d': 30 }

export type Figures = {
  revenueCents: number
  orders: number
  unitsSold: number
  averageOrderCents: number
  activeCustomers: number
  newCustomers: number
  returningCustomers: number
  refundsCents: number
  cancellations: number
}
export type Overview = Figures & { window: Window; from: string; to: string; previous: Figures & { from: string; to: string } }

let zones: Set<string> | null = null
/** An IANA zone Postgres knows (its names are what the queries use); 422 naming `query.tz` otherwise. */
export async function checkTz(tz: string | undefined): Promise<string> {
  if (tz === undefined || tz === '') return 'UTC'
  zones ??= new Set((await sql<{ name: string }[]>`select name from pg_timezone_names`).map((r) => r.name))
  if (!zones.has(tz)) throw ValidationProblem.field('query.tz', 'must be an IANA time zone name, e.g. Europe/Berlin or UTC')
  return tz
}

/**
 * The window's bounds. 24h is rolling; 7d and 30d are whole local days in `tz`: today so far plus
 * the 6 (29) days before it, so a dashboard's "last 7 days" starts at a local midnight. The
 * previous window is the same length right before it.
 */
export async function windowBounds(window: Window, tz: string, now = new Date()) {
  const days = DAYS[window]
  const [b] = await sql<{ from: Date; to: Date; prevFrom: Date }[]>`
    select case when ${days}::int = 1 then ${iso(now)}::timestamptz - interval '24 hours'
                else (date_trunc('day', ${iso(now)}::timestamptz at time zone ${tz}) - make_interval(days => ${days}::int - 1)) at time zone ${tz} end as "from",
           ${iso(now)}::timestamptz as "to",
           case when ${days}::int = 1 then ${iso(now)}::timestamptz - interval '48 hours'
                else (date_trunc('day', ${iso(now)}::timestamptz at time zone ${tz}) - make_interval(days => 2 * ${days}::int - 1)) at time zone ${tz} end as "prevFrom"`
  if (!b) throw new Error('window bounds: no row')
  return { from: asDate(b.from), to: asDate(b.to), prevFrom: asDate(b.prevFrom) }
}

type Row = { revenue: string; orders: string; units: string; refunds: string; cancellations: string; active: string; fresh: string }

async function figures(from: Date, to: Date): Promise<Figures> {
  const [r] = await sql<Row[]>`
    select r.revenue_cents as revenue, r.orders, r.units, r.refunds_cents as refunds, r.cancellations,
      (select count(distinct user_id) from analytics_order_facts where paid and created_at >= ${iso(from)} and created_at < ${iso(to)}) as active,
      (select count(*) from analytics_customers where first_order_at >= ${iso(from)} and first_order_at < ${iso(to)}) as fresh
    from analytics_range(${iso(from)}, ${iso(to)}) r`
  if (!r) throw new Error('figures: no row')
  const n = (v: string) => Number(v)
  const orders = n(r.orders)
  const active = n(r.active)
  const fresh = n(r.fresh)
  return {
    revenueCents: n(r.revenue),
    orders,
    unitsSold: n(r.units),
    averageOrderCents: orders ? Math.round(n(r.revenue) / orders) : 0,
    activeCustomers: active,
    newCustomers: fresh,
    returningCustomers: active - fresh,
    refundsCents: n(r.refunds),
    cancellations: n(r.cancellations),
  }
}

export function overview(window: Window, tz: string, now?: Date): Promise<Overview> {
  return cached(`overview:${window}:${tz}`, now, async () => {
    const b = await windowBounds(window, tz, now)
    const [cur, prev] = await Promise.all([figures(b.from, b.to), figures(b.prevFrom, b.from)])
    return {
      window,
      from: b.from.toISOString(),
      to: b.to.toISOString(),
      ...cur,
      previous: { from: b.prevFrom.toISOString(), to: b.from.toISOString(), ...prev },
    }
  })
}

export type Granularity = 'hour' | 'day'
export type SeriesPoint = { start: string; revenueCents: number; orders: number; units: number }
export const MAX_BUCKETS = 2000

/** Parses from/to: an ISO date-time with offset (an instant) or a date (local midnight in tz). */
export async function parseRange(fromRaw: string | undefined, toRaw: string | undefined, tz: string, defaultDays: number) {
  const parse = async (raw: string, field: string): Promise<Date> => {
    if (/^\d{4}-\d{2}-\d{2}$/.test(raw)) {
      const [r] = await sql<{ at: Date }[]>`select (${raw}::date::timestamp at time zone ${tz}) as at`
      return asDate((r as { at: Date }).at)
    }
    const d = new Date(raw)
    if (!/^\d{4}-\d{2}-\d{2}T/.test(raw) || Number.isNaN(d.getTime()))
      throw ValidationProblem.field(field, 'must be a date (YYYY-MM-DD, local midnight in tz) or an ISO 8601 date-time with offset')
    return d
  }
  const to = toRaw ? await parse(toRaw, 'query.to') : new Date()
  const from = fromRaw ? await parse(fromRaw, 'query.from') : new Date(to.getTime() - defaultDays * 86_400_000)
  if (from.getTime() >= to.getTime()) throw ValidationProblem.field('query.from', 'must be before `to`')
  return { from, to }
}

/** Zero-filled series of [from, to) in buckets that start at local hour/day boundaries of `tz`. */
export function salesSeries(granularity: Granularity, from: Date, to: Date, tz: string): Promise<SeriesPoint[]> {
  const hours = (to.getTime() - from.getTime()) / 3_600_000
  if ((granularity === 'hour' ? hours : hours / 24) > MAX_BUCKETS)
    throw ValidationProblem.field('query.to', `at most ${MAX_BUCKETS} ${granularity} buckets per request`)
  return cached(`sales:${granularity}:${from.toISOString()}:${to.toISOString()}:${tz}`, undefined, async () => {
    // Hours are absolute (a DST day has 23 or 25); days are local calendar days.
    const rows =
      granularity === 'hour'
        ? await sql<{ s: Date; revenue: string; orders: string; units: string }[]>`
            with b as (
              select s, s + interval '1 hour' as e
              from generate_series(date_trunc('hour', ${iso(from)}::timestamptz, ${tz}), ${iso(to)}::timestamptz - interval '1 microsecond', interval '1 hour') s)
            select b.s, r.revenue_cents as revenue, r.orders, r.units
            from b, analytics_range(greatest(b.s, ${iso(from)}::timestamptz), least(b.e, ${iso(to)}::timestamptz)) r order by b.s`
        : await sql<{ s: Date; revenue: string; orders: string; units: string }[]>`
            with b as (
              select g at time zone ${tz} as s, (g + interval '1 day') at time zone ${tz} as e
              from generate_series(date_trunc('day', ${iso(from)}::timestamptz at time zone ${tz}),
                                   (${iso(to)}::timestamptz - interval '1 microsecond') at time zone ${tz}, interval '1 day') g)
            select b.s, r.revenue_cents as revenue, r.orders, r.units
            from b, analytics_range(greatest(b.s, ${iso(from)}::timestamptz), least(b.e, ${iso(to)}::timestamptz)) r order by b.s`
    return rows.map((r) => ({
      start: asDate(r.s).toISOString(),
      revenueCents: Number(r.revenue),
      orders: Number(r.orders),
      units: Number(r.units),
    }))
  })
}

export type ProductSales = { productId: string; name: string; revenueCents: number; units: number }

/**
 * Per-product gross sales of [from, to): whole hours from analytics_product_hourly, the edge hours
 * from the paid facts' order lines. `limit` null = every product (the category roll-up).
 */
async function productSales(from: Date, to: Date, by: 'revenue' | 'units', limit: number | null): Promise<ProductSales[]> {
  const order = by === 'units' ? sql`units desc, revenue desc` : sql`revenue desc, units desc`
  // Whole UTC hours [ha, hb) from the rollup, the edges from the facts. Computed here, not in a
  // CTE: bounds the planner cannot see make it scan the whole product rollup (measured 2–5 s at 1M).
  const H = 3_600_000
  const ha = new Date(Math.ceil(from.getTime() / H) * H)
  const hb = new Date(Math.max(ha.getTime(), Math.floor(to.getTime() / H) * H))
  const edgeA = new Date(Math.min(ha.getTime(), to.getTime()))
  const rows = await sql<{ productId: string; name: string; revenue: string; units: string }[]>`
    with parts as (
      select p.product_id, p.revenue_cents, p.units::bigint as units from analytics_product_hourly p
      where p.hour >= ${iso(ha)} and p.hour < ${iso(hb)}
      union all
      select i.product_id, i.quantity::bigint * i.unit_price_cents, i.quantity::bigint
      from analytics_order_facts f join order_items i on i.order_id = f.order_id
      where f.paid and f.created_at >= ${iso(from)} and f.created_at < ${iso(edgeA)}
      union all
      select i.product_id, i.quantity::bigint * i.unit_price_cents, i.quantity::bigint
      from analytics_order_facts f join order_items i on i.order_id = f.order_id
      where f.paid and f.created_at >= ${iso(hb)} and f.created_at < ${iso(to)})
    select x.product_id as "productId", pr.name, x.revenue, x.units
    from (select product_id, sum(revenue_cents) as revenue, sum(units) as units from parts group by product_id) x
    join products pr on pr.id = x.product_id
    order by ${order}, x.product_id
    ${limit === null ? sql`` : sql`limit ${limit}`}`
  return rows.map((r) => ({ productId: r.productId, name: r.name, revenueCents: Number(r.revenue), units: Number(r.units) }))
}

export function topProducts(window: Window, by: 'revenue' | 'units', limit: number, tz = 'UTC', now?: Date) {
  return cached(`top:${window}:${by}:${limit}:${tz}`, now, async () => {
    const b = await windowBounds(window, tz, now)
    return { window, by, from: b.from.toISOString(), to: b.to.toISOString(), items: await productSales(b.from, b.to, by, limit) }
  })
}

export type CategorySales = {
  categoryId: string
  name: string
  parentId: string | null
  revenueCents: number
  units: number
  subtreeRevenueCents: number
  subtreeUnits: number
}

/** Revenue by category: each category's own products and its whole subtree (children summed in). */
export function categorySales(window: Window, tz = 'UTC', now?: Date) {
  return cached(`categories:${window}:${tz}`, now, async () => {
    const b = await windowBounds(window, tz, now)
    const sales = await productSales(b.from, b.to, 'revenue', null)
    const cats = await sql<{ id: string; name: string; parentId: string | null }[]>`
      select id, name, parent_id as "parentId" from categories order by name, id`
    const own = new Map<string, { revenue: number; units: number }>()
    const catOf = new Map(
      (
        await sql<
          { id: string; categoryId: string | null }[]
        >`select id, category_id as "categoryId" from products where id = any(${sales.map((s) => s.productId)}::uuid[])`
      ).map((p) => [p.id, p.categoryId]),
    )
    for (const s of sales) {
      const c = catOf.get(s.productId)
      if (!c) continue
      const o = own.get(c) ?? { revenue: 0, units: 0 }
      o.revenue += s.revenueCents
      o.units += s.units
      own.set(c, o)
    }
    const items = new Map<string, CategorySales>(
      cats.map((c) => {
        const o = own.get(c.id) ?? { revenue: 0, units: 0 }
        return [
          c.id,
          {
            categoryId: c.id,
            name: c.name,
            parentId: c.parentId,
            revenueCents: o.revenue,
            units: o.units,
            subtreeRevenueCents: 0,
            subtreeUnits: 0,
          },
        ]
      }),
    )
    // Add each category's own figures to itself and every ancestor (the tree is acyclic: CHECK +
    // the catalog's move rules; the depth guard stops a corrupt loop anyway).
    for (const c of items.values()) {
      let at: CategorySales | undefined = c
      for (let depth = 0; at && depth < 64; depth++) {
        at.subtreeRevenueCents += c.revenueCents
        at.subtreeUnits += c.units
        at = at.parentId ? items.get(at.parentId) : undefined
      }
    }
    const list = [...items.values()].sort(
      (x, y) => y.subtreeRevenueCents - x.subtreeRevenueCents || x.categoryId.localeCompare(y.categoryId),
    )
    return { window, from: b.from.toISOString(), to: b.to.toISOString(), items: list }
  })
}

export type InventoryRow = {
  productId: string
  name: string
  available: number
  reorderPoint: number
  unitsPerDay: number
  daysOfCover: number | null
}

/**
 * Low-stock list (available ≤ reorder point), stock value at price, and days of cover (available ÷
 * units sold per day over the last 30 days). Cost prices are not modelled in this catalog, so the
 * value at cost is null. Reads inventory read-only, as the alerts module does.
 */
export function inventoryReport(limit = 100) {
  return cached(`inventory:${limit}`, undefined, async () => {
    const rows = await sql<{ productId: string; name: string; available: number; reorderPoint: number; units30: string }[]>`
      select i.product_id as "productId", p.name, (i.on_hand - i.reserved) as available, i.reorder_point as "reorderPoint",
        coalesce((select sum(units) from analytics_product_hourly h where h.product_id = i.product_id
                  and h.hour >= date_trunc('hour', now(), 'UTC') - interval '30 days'), 0) as units30
      from inventory i join products p on p.id = i.product_id
      where i.on_hand - i.reserved <= i.reorder_point and p.deleted_at is null
      order by (i.on_hand - i.reserved) - i.reorder_point, i.product_id limit ${limit}`
    const [v] = await sql<{ value: string; units: string; products: string }[]>`
      select coalesce(sum(i.on_hand::bigint * p.price_cents), 0) as value, coalesce(sum(i.on_hand), 0) as units, count(*) as products
      from inventory i join products p on p.id = i.product_id where p.deleted_at is null`
    const lowStock: InventoryRow[] = rows.map((r) => {
      const perDay = Number(r.units30) / 30
      return {
        productId: r.productId,
        name: r.name,
        available: r.available,
        reorderPoint: r.reorderPoint,
        unitsPerDay: Math.round(perDay * 100) / 100,
        daysOfCover: perDay > 0 ? Math.round((Math.max(0, r.available) / perDay) * 10) / 10 : null,
      }
    })
    return {
      lowStock,
      products: Number(v?.products ?? 0),
      unitsOnHand: Number(v?.units ?? 0),
      stockValueAtPriceCents: Number(v?.value ?? 0),
      stockValueAtCostCents: null,
    }
  })
}
