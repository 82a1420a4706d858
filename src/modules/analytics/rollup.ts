// Keeps the analytics read model (db/schema/analytics.ts) current. Two ways in, one truth:
// - applyOrderEvent: an order event from the outbox re-reads the order and moves its fact row to the
//   order's CURRENT state, adding the difference to the rollups. Idempotent per event id (applied
//   events table) and per order state (a duplicate, late or reordered event finds nothing to add).
// - rebuildRollups: the scheduled job recomputes facts and rollups from orders/order_items, counts
//   what differed (analytics_rollup_drift) and repairs it.
// Both take one advisory lock (events shared, rebuild exclusive), so a rebuild never interleaves
// with a half-applied event. Orders/order_items are read here, read-only: this module owns a
// derived model of them, as the recommendations rebuild does.
import type postgres from 'postgres'
import { COMPLETED_ORDER_STATUSES } from '../../../db/schema'
import { sql } from '../../infra/db'
import { counter, gauge } from '../../infra/metrics'

const LOCK = 0x616e6c74 // 'anlt': the rollup lock (pg advisory key)
/** Statuses that mean "was paid": a sale, even when refunded later (refunds are reported apart). */
export const SOLD_STATUSES = [...COMPLETED_ORDER_STATUSES, 'refunded'] as const

export const rollupDrift = gauge('analytics_rollup_drift', 'Rows the last analytics rebuild found different from the source tables')
const applied = counter('analytics_events_applied_total', 'Order events folded into the analytics rollups', ['result'])

type Fact = { paid: boolean; refunded: boolean; cancelled: boolean; revenueCents: number; units: number; userId: string; createdAt: string }

/** The order's current truth, as the fact row should say. null: no such order. */
async function sourceFact(tx: postgres.TransactionSql, orderId: string): Promise<Fact | null> {
  const [row] = await tx<Fact[]>`
    select o.user_id as "userId", o.created_at as "createdAt", o.status in ${tx(SOLD_STATUSES)} as paid,
           o.status = 'refunded' as refunded, o.status = 'cancelled' as cancelled,
           o.total_cents::bigint as "revenueCents",
           coalesce((select sum(quantity) from order_items where order_id = o.id), 0)::int as units
    from orders o where o.id = ${orderId}`
  return row ? { ...row, revenueCents: Number(row.revenueCents) } : null
}

export type ApplyResult = 'applied' | 'unchanged' | 'duplicate' | 'missing'

/**
 * Folds one outbox event about `orderId` into the rollups. Returns what happened; the caller
 * publishes to the live feed only when it was not a duplicate.
 */
export async function applyOrderEvent(eventId: string, orderId: string): Promise<ApplyResult> {
  const result = await sql.begin(async (tx) => {
    await tx`select pg_advisory_xact_lock_shared(${LOCK})`
    const fresh = await tx`insert into analytics_applied_events (event_id) values (${eventId}) on conflict do nothing returning 1`
    if (fresh.length === 0) return 'duplicate' as const
    const now = await sourceFact(tx, orderId)
    if (!now) return 'missing' as const
    // Lock (or create) the fact row first: every writer of this order's figures queues here, so
    // two events of one order cannot both add their difference.
    await tx`insert into analytics_order_facts (order_id, user_id, created_at, revenue_cents, units)
      values (${orderId}, ${now.userId}, ${now.createdAt}, ${now.revenueCents}, ${now.units})
      on conflict do nothing`
    const [old] = await tx<Fact[]>`
      select paid, refunded, cancelled, revenue_cents::bigint as "revenueCents", units from analytics_order_facts
      where order_id = ${orderId} for update`
    if (!old) throw new Error('analytics fact row vanished under its lock')
    const d = (a: boolean, b: boolean) => Number(a) - Number(b)
    const dPaid = d(now.paid, old.paid)
    const dRefunded = d(now.refunded, old.refunded)
    const dCancelled = d(now.cancelled, old.cancelled)
    if (dPaid === 0 && dRefunded === 0 && dCancelled === 0) return 'unchanged' as const
    await tx`update analytics_order_facts set paid = ${now.paid}, refunded = ${now.refunded}, cancelled = ${now.cancelled},
      revenue_cents = ${now.revenueCents}, units = ${now.units} where order_id = ${orderId}`
    // The old contribution out, the new one in (the totals of an order never change once placed,
    // but subtracting what the row says keeps a repaired row consistent too).
    const oldRev = Number(old.revenueCents)
    const rev = (p: boolean, v: number) => (p ? v : 0)
    await tx`
      insert into analytics_hourly as h (hour, revenue_cents, orders, units, refunds_cents, refunds, cancellations)
      values (date_trunc('hour', ${now.createdAt}::timestamptz, 'UTC'),
        ${rev(now.paid, now.revenueCents) - rev(old.paid, oldRev)}, ${dPaid}, ${rev(now.paid, now.units) - rev(old.paid, old.units)},
        ${rev(now.refunded, now.revenueCents) - rev(old.refunded, oldRev)}, ${dRefunded}, ${dCancelled})
      on conflict (hour) do update set revenue_cents = h.revenue_cents + excluded.revenue_cents, orders = h.orders + excluded.orders,
        units = h.units + excluded.units, refunds_cents = h.refunds_cents + excluded.refunds_cents,
        refunds = h.refunds + excluded.refunds, cancellations = h.cancellations + excluded.cancellations`
    if (dPaid !== 0) {
      // Product rows in product order: two orders of one hour lock them in the same order.
      await tx`
        insert into analytics_product_hourly as p (hour, product_id, revenue_cents, units)
        select date_trunc('hour', ${now.createdAt}::timestamptz, 'UTC'), product_id,
               ${dPaid} * quantity::bigint * unit_price_cents, ${dPaid} * quantity
        from order_items where order_id = ${orderId} order by product_id
        on conflict (hour, product_id) do update set revenue_cents = p.revenue_cents + excluded.revenue_cents, units = p.units + excluded.units`
      await refreshCustomer(tx, now.userId)
    }
    return 'applied' as const
  })
  applied.inc({ result })
  return result
}

/** Recomputes one customer's row from their paid facts (first/last cannot be "subtracted"). */
async function refreshCustomer(tx: postgres.TransactionSql, userId: string): Promise<void> {
  const rows = await tx`
    insert into analytics_customers as c (user_id, first_order_at, last_order_at, orders, revenue_cents)
    select user_id, min(created_at), max(created_at), count(*), sum(revenue_cents)
    from analytics_order_facts where user_id = ${userId} and paid group by user_id
    on conflict (user_id) do update set first_order_at = excluded.first_order_at, last_order_at = excluded.last_order_at,
      orders = excluded.orders, revenue_cents = excluded.revenue_cents
    returning 1`
  if (rows.length === 0) await tx`delete from analytics_customers where user_id = ${userId}`
}

export type RebuildResult = { drift: number; factsDrift: number; rollupDrift: number; facts: number; ms: number; initial: boolean }

/**
 * Recomputes everything from the source tables. Drift = fact rows that disagree with their order
 * (orders changed in the last `graceSeconds` are left out of the count: their event may still be
 * on its way) + rollup rows that disagree with the facts they were built from (a bug, never lag).
 * Everything found is repaired. The first build into empty tables reports no drift.
 */
export async function rebuildRollups(graceSeconds = 60): Promise<RebuildResult> {
  const t0 = performance.now()
  const r = await sql.begin(async (tx) => {
    await tx`set local statement_timeout = 0`
    await tx`select pg_advisory_xact_lock(${LOCK})`
    const [{ n: existing }] = (await tx`select count(*)::int as n from (select 1 from analytics_order_facts limit 1) x`) as unknown as [
      { n: number },
    ]
    await tx`create temp table src_facts on commit drop as
      select o.id as order_id, o.user_id, o.created_at, o.status in ${tx(SOLD_STATUSES)} as paid,
             o.status = 'refunded' as refunded, o.status = 'cancelled' as cancelled,
             o.total_cents::bigint as revenue_cents, coalesce(u.units, 0)::int as units,
             o.updated_at < now() - make_interval(secs => ${graceSeconds}) as settled
      from orders o left join (select order_id, sum(quantity) as units from order_items group by order_id) u on u.order_id = o.id`
    await tx`alter table src_facts add primary key (order_id)`
    // Rollup drift: the stored rollups against what the stored facts add up to.
    const [{ n: rollupDrift }] = (await tx`
      with f as (select * from analytics_order_facts),
      hourly as (
        select date_trunc('hour', created_at, 'UTC') as hour,
               sum(case when paid then revenue_cents else 0 end)::bigint as revenue_cents, count(*) filter (where paid)::int as orders,
               sum(case when paid then units else 0 end)::int as units, sum(case when refunded then revenue_cents else 0 end)::bigint as refunds_cents,
               count(*) filter (where refunded)::int as refunds, count(*) filter (where cancelled)::int as cancellations
        from f group by 1 having count(*) filter (where paid or cancelled) > 0),
      products as (
        select date_trunc('hour', f.created_at, 'UTC') as hour, i.product_id, sum(i.quantity::bigint * i.unit_price_cents)::bigint as revenue_cents,
               sum(i.quantity)::int as units
        from f join order_items i on i.order_id = f.order_id where f.paid group by 1, 2),
      customers as (
        select user_id, min(created_at) as first_order_at, max(created_at) as last_order_at, count(*)::int as orders, sum(revenue_cents)::bigint as revenue_cents
        from f where paid group by user_id)
      select (
        (select count(*) from hourly x full join analytics_hourly h using (hour)
          where (x.revenue_cents, x.orders, x.units, x.refunds_cents, x.refunds, x.cancellations)
            is distinct from (h.revenue_cents, h.orders, h.units, h.refunds_cents, h.refunds, h.cancellations)
            and not (x.hour is null and h.revenue_cents = 0 and h.orders = 0 and h.units = 0 and h.refunds_cents = 0 and h.refunds = 0 and h.cancellations = 0))
        + (select count(*) from products x full join analytics_product_hourly p using (hour, product_id)
          where (x.revenue_cents, x.units) is distinct from (p.revenue_cents, p.units) and not (x.hour is null and p.revenue_cents = 0 and p.units = 0))
        + (select count(*) from customers x full join analytics_customers c using (user_id)
          where (x.first_order_at, x.last_order_at, x.orders, x.revenue_cents) is distinct from (c.first_order_at, c.last_order_at, c.orders, c.revenue_cents))
      )::int as n`) as unknown as [{ n: number }]
    // Fact drift: facts against their orders (settled orders only), then the repair.
    const [{ n: factsDrift }] = (await tx`
      select count(*)::int as n from src_facts s full join analytics_order_facts f using (order_id)
      where (s.order_id is null or s.settled)
        and (s.user_id, s.created_at, s.paid, s.refunded, s.cancelled, s.revenue_cents, s.units)
          is distinct from (f.user_id, f.created_at, f.paid, f.refunded, f.cancelled, f.revenue_cents, f.units)`) as unknown as [
      { n: number },
    ]
    await tx`delete from analytics_order_facts f where not exists (select 1 from src_facts s where s.order_id = f.order_id)`
    await tx`
      insert into analytics_order_facts as f (order_id, user_id, created_at, paid, refunded, cancelled, revenue_cents, units)
      select order_id, user_id, created_at, paid, refunded, cancelled, revenue_cents, units from src_facts
      on conflict (order_id) do update set user_id = excluded.user_id, created_at = excluded.created_at, paid = excluded.paid,
        refunded = excluded.refunded, cancelled = excluded.cancelled, revenue_cents = excluded.revenue_cents, units = excluded.units
      where (f.user_id, f.created_at, f.paid, f.refunded, f.cancelled, f.revenue_cents, f.units)
        is distinct from (excluded.user_id, excluded.created_at, excluded.paid, excluded.refunded, excluded.cancelled, excluded.revenue_cents, excluded.units)`
    await rebuildAggregates(tx)
    const [{ n: facts }] = (await tx`select count(*)::int as n from analytics_order_facts`) as unknown as [{ n: number }]
    const initial = existing === 0
    return { factsDrift: initial ? 0 : factsDrift, rollupDrift: initial ? 0 : rollupDrift, facts, initial }
  })
  const drift = r.factsDrift + r.rollupDrift
  rollupDrift.set(drift)
  return { ...r, drift, ms: Math.round(performance.now() - t0) }
}

/** Rewrites the three rollups from the (repaired) facts, touching only rows that differ. */
async function rebuildAggregates(tx: postgres.TransactionSql): Promise<void> {
  await tx`create temp table new_hourly on commit drop as
    select date_trunc('hour', created_at, 'UTC') as hour,
           sum(case when paid then revenue_cents else 0 end)::bigint as revenue_cents, count(*) filter (where paid)::int as orders,
           sum(case when paid then units else 0 end)::int as units, sum(case when refunded then revenue_cents else 0 end)::bigint as refunds_cents,
           count(*) filter (where refunded)::int as refunds, count(*) filter (where cancelled)::int as cancellations
    from analytics_order_facts group by 1 having count(*) filter (where paid or cancelled) > 0`
  await tx`delete from analytics_hourly h where not exists (select 1 from new_hourly n where n.hour = h.hour)`
  await tx`insert into analytics_hourly as h select * from new_hourly
    on conflict (hour) do update set revenue_cents = excluded.revenue_cents, orders = excluded.orders, units = excluded.units,
      refunds_cents = excluded.refunds_cents, refunds = excluded.refunds, cancellations = excluded.cancellations
    where (h.revenue_cents, h.orders, h.units, h.refunds_cents, h.refunds, h.cancellations)
      is distinct from (excluded.revenue_cents, excluded.orders, excluded.units, excluded.refunds_cents, excluded.refunds, excluded.cancellations)`
  await tx`create temp table new_products on commit drop as
    select date_trunc('hour', f.created_at, 'UTC') as hour, i.product_id, sum(i.quantity::bigint * i.unit_price_cents)::bigint as revenue_cents,
           sum(i.quantity)::int as units
    from analytics_order_facts f join order_items i on i.order_id = f.order_id where f.paid group by 1, 2`
  await tx`alter table new_products add primary key (hour, product_id)`
  await tx`delete from analytics_product_hourly p where not exists (select 1 from new_products n where n.hour = p.hour and n.product_id = p.product_id)`
  await tx`insert into analytics_product_hourly as p select * from new_products
    on conflict (hour, product_id) do update set revenue_cents = excluded.revenue_cents, units = excluded.units
    where (p.revenue_cents, p.units) is distinct from (excluded.revenue_cents, excluded.units)`
  await tx`create temp table new_customers on commit drop as
    select user_id, min(created_at) as first_order_at, max(created_at) as last_order_at, count(*)::int as orders, sum(revenue_cents)::bigint as revenue_cents
    from analytics_order_facts where paid group by user_id`
  await tx`delete from analytics_customers c where not exists (select 1 from new_customers n where n.user_id = c.user_id)`
  await tx`insert into analytics_customers as c select * from new_customers
    on conflict (user_id) do update set first_order_at = excluded.first_order_at, last_order_at = excluded.last_order_at,
      orders = excluded.orders, revenue_cents = excluded.revenue_cents
    where (c.first_order_at, c.last_order_at, c.orders, c.revenue_cents)
      is distinct from (excluded.first_order_at, excluded.last_order_at, excluded.orders, excluded.revenue_cents)`
}

/** Forgets applied event ids older than the outbox keeps events (a redelivery cannot be older). */
export async function purgeAppliedEvents(days: number): Promise<number> {
  const rows = await sql`delete from analytics_applied_events where applied_at < now() - make_interval(days => ${days}) returning 1`
  return rows.length
}

/** Records a non-order event (stock) as seen: 'duplicate' when it was already. */
export async function markEventApplied(eventId: string): Promise<'applied' | 'duplicate'> {
  const rows = await sql`insert into analytics_applied_events (event_id) values (${eventId}) on conflict do nothing returning 1`
  return rows.length ? 'applied' : 'duplicate'
}
