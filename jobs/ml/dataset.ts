// The training data, read once per training from Postgres: orders (completed = purchases, pending =
// intent), recommendation clicks/add-to-carts (views and cart adds we can observe), and the live
// catalogue with each product's category path and root. Plain arrays, so the offline eval and the
// tests build the same shape without a database.
import { COMPLETED_ORDER_STATUSES } from '../../db/schema'
import type { ProductText } from './content'

export type DOrder = { userId: string; at: number; items: string[]; totalCents: number; completed: boolean }
export type DEvent = { userId: string; productId: string; type: 'click' | 'add_to_cart'; at: number }
export type DProduct = ProductText & { root: number; priceCents: number }
export type Dataset = { orders: DOrder[]; events: DEvent[]; products: DProduct[]; from: number; asOf: number }

// biome-ignore lint/suspicious/noExplicitAny: postgres.js Sql of any database (the eval passes its own)
export async function loadDataset(db: any, windowDays: number, asOf = new Date()): Promise<Dataset> {
  const from = new Date(asOf.getTime() - windowDays * 86_400_000)
  const products: {
    id: string
    name: string
    description: string
    brand: string | null
    price_cents: number
    path: string | null
    root: string | null
  }[] = await db`
    with recursive tree as (
      select id, name::text as path, id as root from categories where parent_id is null
      union all
      select c.id, tree.path || ' > ' || c.name, tree.root from categories c join tree on c.parent_id = tree.id)
    select p.id, p.name, p.description, p.brand, p.price_cents, tree.path, tree.root::text as root
    from products p left join tree on tree.id = p.category_id
    where p.deleted_at is null order by p.id`
  const roots = new Map<string, number>()
  const rootOf = (r: string | null) => {
    const k = r ?? ''
    let i = roots.get(k)
    if (i === undefined) {
      i = roots.size
      roots.set(k, i)
    }
    return i
  }
  const orders: { user_id: string; at: Date; p: string[]; total: string; status: string }[] = await db`
    select o.user_id, o.created_at as at, array_agg(oi.product_id order by oi.product_id) as p, o.total_cents::text as total, o.status
    from orders o join order_items oi on oi.order_id = o.id
    where (o.status in ${db(COMPLETED_ORDER_STATUSES)} or o.status = 'pending_payment')
      and o.created_at >= ${from.toISOString()} and o.created_at <= ${asOf.toISOString()}
    group by o.id order by o.created_at, o.id`
  const events: { user_id: string; product_id: string; type: 'click' | 'add_to_cart'; at: Date }[] = await db`
    select l.user_id, e.product_id, e.type, e.created_at as at
    from recommendation_events e join recommendation_lists l on l.id = e.recommendation_id
    where e.type in ('click', 'add_to_cart') and e.created_at >= ${from.toISOString()} and e.created_at <= ${asOf.toISOString()}`
  return {
    products: products.map((p) => ({
      id: p.id,
      name: p.name,
      description: p.description,
      brand: p.brand,
      categoryPath: p.path ?? '',
      root: rootOf(p.root),
      priceCents: p.price_cents,
    })),
    orders: orders.map((o) => ({
      userId: o.user_id,
      at: new Date(o.at).getTime(),
      items: o.p,
      totalCents: Number(o.total),
      completed: o.status !== 'pending_payment',
    })),
    events: events.map((e) => ({ userId: e.user_id, productId: e.product_id, type: e.type, at: new Date(e.at).getTime() })),
    from: from.getTime(),
    asOf: asOf.getTime(),
  }
}
