// Measured CTR: every served list is recorded (recommendation_lists) and what the user did with it
// arrives as events (impression, click, add_to_cart, purchase). Purchases are also attributed by
// the server when an order is paid: a product bought within RECS_ATTRIBUTION_HOURS of being shown
// in one of the buyer's lists counts for that list. A/B arms are a deterministic hash of the user.
import { COMPLETED_ORDER_STATUSES } from '../../../db/schema'
import { config } from '../../config'
import { sql } from '../../infra/db'
import { ValidationProblem } from '../../lib/errors'
import type { StrategyName } from './strategies'

export type EventType = 'impression' | 'click' | 'add_to_cart' | 'purchase'

/** Parses RECS_EXPERIMENT ("blend:50,cooccurrence:50"); arms with weight 0 never win. */
export function parseExperiment(spec: string): { arm: StrategyName; weight: number }[] {
  if (!spec) return []
  return spec.split(',').map((part) => {
    const [arm, w] = part.split(':')
    return { arm: arm as StrategyName, weight: Number(w) }
  })
}

/** Same user + same experiment → same arm, in every process (FNV-1a of "spec|user"). */
export function assignArm(userId: string, spec: string = config.RECS_EXPERIMENT): StrategyName | null {
  const arms = parseExperiment(spec).filter((a) => a.weight > 0)
  const total = arms.reduce((s, a) => s + a.weight, 0)
  if (total === 0) return null
  let h = 2166136261
  const s = `${spec}|${userId}`
  for (let i = 0; i < s.length; i++) h = Math.imul(h ^ s.charCodeAt(i), 16777619)
  let x = (h >>> 0) % total
  for (const a of arms) {
    if (x < a.weight) return a.arm
    x -= a.weight
  }
  return null
}

export async function recordList(userId: string, strategy: string, arm: string, productIds: string[]): Promise<string> {
  const id = Bun.randomUUIDv7()
  await sql`insert into recommendation_lists (id, user_id, strategy, arm, product_ids) values (${id}, ${userId}, ${strategy}, ${arm}, ${productIds}::uuid[])`
  return id
}

/** Records one event of the caller on one of THEIR lists; unknown list or product → 422 naming it. */
export async function recordEvent(
  userId: string,
  e: { recommendationId: string; productId: string; type: EventType },
): Promise<{ recorded: boolean }> {
  const [list] = await sql<{ product_ids: string[]; fresh: boolean }[]>`
    select product_ids, created_at > now() - make_interval(hours => ${config.RECS_ATTRIBUTION_HOURS}) as fresh
    from recommendation_lists where id = ${e.recommendationId} and user_id = ${userId}`
  // Another user's list is "unknown" too: ids are not a way to probe other people's lists.
  if (!list) throw ValidationProblem.field('recommendationId', 'unknown recommendationId')
  if (!list.product_ids.includes(e.productId)) throw ValidationProblem.field('productId', 'not in this recommendation list')
  if (e.type === 'purchase' && !list.fresh)
    throw ValidationProblem.field('type', `purchases are attributed within ${config.RECS_ATTRIBUTION_HOURS} h of the list`)
  const rows = await sql`insert into recommendation_events (recommendation_id, product_id, type)
    values (${e.recommendationId}, ${e.productId}, ${e.type}) on conflict do nothing returning 1`
  return { recorded: rows.length > 0 }
}

/** Server-side attribution of a paid order (idempotent: one row per list/product/type). */
export async function attributePurchases(orderId: string): Promise<number> {
  const rows = await sql`
    insert into recommendation_events (recommendation_id, product_id, type)
    select l.id, oi.product_id, 'purchase'
    from orders o join order_items oi on oi.order_id = o.id
    join recommendation_lists l on l.user_id = o.user_id and oi.product_id = any(l.product_ids)
      and l.created_at <= o.created_at and l.created_at > o.created_at - make_interval(hours => ${config.RECS_ATTRIBUTION_HOURS})
    where o.id = ${orderId} and o.status in ${sql(COMPLETED_ORDER_STATUSES)}
    on conflict do nothing returning 1`
  return rows.length
}

export type ArmMetrics = {
  strategy: string
  arm: string
  lists: number
  impressions: number
  clicks: number
  addToCarts: number
  purchases: number
  ctr: number | null
  addToCartRate: number | null
  conversionRate: number | null
}

/** Counts per strategy/arm over lists served in the last `hours`; rates are per impression. */
export async function recommendationMetrics(hours: number, strategy?: string): Promise<ArmMetrics[]> {
  const rows = await sql<
    { strategy: string; arm: string; lists: number; impression: number; click: number; add_to_cart: number; purchase: number }[]
  >`
    with l as (select id, strategy, arm from recommendation_lists
               where created_at > now() - make_interval(hours => ${hours}) ${strategy ? sql`and strategy = ${strategy}` : sql``})
    select l.strategy, l.arm, count(distinct l.id)::int as lists,
      count(e.*) filter (where e.type = 'impression')::int as impression,
      count(e.*) filter (where e.type = 'click')::int as click,
      count(e.*) filter (where e.type = 'add_to_cart')::int as add_to_cart,
      count(e.*) filter (where e.type = 'purchase')::int as purchase
    from l left join recommendation_events e on e.recommendation_id = l.id
    group by l.strategy, l.arm order by l.strategy, l.arm`
  const rate = (x: number, n: number) => (n > 0 ? Math.round((x / n) * 1e4) / 1e4 : null)
  return rows.map((r) => ({
    strategy: r.strategy,
    arm: r.arm,
    lists: r.lists,
    impressions: r.impression,
    clicks: r.click,
    addToCarts: r.add_to_cart,
    purchases: r.purchase,
    ctr: rate(r.click, r.impression),
    addToCartRate: rate(r.add_to_cart, r.impression),
    conversionRate: rate(r.purchase, r.impression),
  }))
}
