// Customer purchase patterns (seed 003's CustomerPurchasePattern), from the paid order facts:
// per customer the order count, average order, purchase frequency and last purchase; the top
// customers of a window and the distribution of order counts. Exported for other modules (risk).
import { sql } from '../../infra/db'
import { cached } from './cache'
import { asDate, iso, type Window, windowBounds } from './service'

export type PurchasePattern = {
  userId: string
  orders: number
  revenueCents: number
  averageOrderCents: number
  /** mean days between consecutive purchases in the window; null with fewer than 2 */
  frequencyDays: number | null
  firstPurchaseAt: string
  lastPurchaseAt: string
}

type Row = { userId: string; orders: string; revenue: string; first: Date; last: Date }

const toPattern = (row: Row): PurchasePattern => {
  const r = { ...row, first: asDate(row.first), last: asDate(row.last) }
  const orders = Number(r.orders)
  const revenue = Number(r.revenue)
  const spanDays = (r.last.getTime() - r.first.getTime()) / 86_400_000
  return {
    userId: r.userId,
    orders,
    revenueCents: revenue,
    averageOrderCents: Math.round(revenue / orders),
    frequencyDays: orders > 1 ? Math.round((spanDays / (orders - 1)) * 100) / 100 : null,
    firstPurchaseAt: r.first.toISOString(),
    lastPurchaseAt: r.last.toISOString(),
  }
}

/** The patterns of the given customers over [from, to) (customers with no paid order are absent). */
export async function purchasePatterns(userIds: string[], from: Date, to: Date): Promise<PurchasePattern[]> {
  if (userIds.length === 0) return []
  const rows = await sql<Row[]>`
    select user_id as "userId", count(*) as orders, sum(revenue_cents) as revenue, min(created_at) as first, max(created_at) as last
    from analytics_order_facts
    where paid and user_id = any(${userIds}::uuid[]) and created_at >= ${iso(from)} and created_at < ${iso(to)}
    group by user_id order by user_id`
  return rows.map(toPattern)
}

export const DISTRIBUTION_BUCKETS = [
  { label: '1', min: 1, max: 1 },
  { label: '2', min: 2, max: 2 },
  { label: '3-5', min: 3, max: 5 },
  { label: '6-10', min: 6, max: 10 },
  { label: '11+', min: 11, max: null },
] as const

export function customerReport(window: Window, limit: number, tz = 'UTC', now?: Date) {
  return cached(`customers:${window}:${limit}:${tz}`, now, async () => {
    const b = await windowBounds(window, tz, now)
    const per = sql`
      select user_id, count(*) as orders, sum(revenue_cents) as revenue, min(created_at) as first, max(created_at) as last
      from analytics_order_facts where paid and created_at >= ${iso(b.from)} and created_at < ${iso(b.to)} group by user_id`
    const [top, dist] = await Promise.all([
      sql<Row[]>`select user_id as "userId", orders, revenue, first, last from (${per}) x order by revenue desc, user_id limit ${limit}`,
      sql<{ bucket: string; customers: string; revenue: string; orders: string }[]>`
        select case when orders = 1 then '1' when orders = 2 then '2' when orders <= 5 then '3-5' when orders <= 10 then '6-10' else '11+' end as bucket,
               count(*) as customers, sum(revenue) as revenue, sum(orders) as orders
        from (${per}) x group by 1`,
    ])
    const byBucket = new Map(dist.map((d) => [d.bucket, d]))
    const customers = dist.reduce((s, d) => s + Number(d.customers), 0)
    const orders = dist.reduce((s, d) => s + Number(d.orders), 0)
    const revenue = dist.reduce((s, d) => s + Number(d.revenue), 0)
    return {
      window,
      from: b.from.toISOString(),
      to: b.to.toISOString(),
      customers,
      averageOrderCents: orders ? Math.round(revenue / orders) : 0,
      ordersPerCustomer: customers ? Math.round((orders / customers) * 100) / 100 : 0,
      topCustomers: top.map(toPattern),
      distribution: DISTRIBUTION_BUCKETS.map((d) => ({
        orders: d.label,
        customers: Number(byBucket.get(d.label)?.customers ?? 0),
        revenueCents: Number(byBucket.get(d.label)?.revenue ?? 0),
      })),
    }
  })
}
