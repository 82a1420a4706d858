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
import { asDate } from './service'

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
    return reconcileOrder(tx, orderId)
  })
  applied.inc({ result })
  return result
}

type Contribution = { fact: Fact; sign: 1 | -1 }

/** Adds (sign 1) or removes (-1) one fact's share of the hourly, product and customer rollups. */
async function contribute(tx: postgres.TransactionSql, orderId: string, { fact: f, sign }: Contribution): Promise<void> {
  if (!f.paid && !f.cancelled) return
  const v = (on: boolean, x: number) => (on ? sign * x : 0)
  await tx`
    insert into analytics_hourly as h (hour, revenue_cents, orders, units, refunds_cents, refunds, cancellations)
    values (date_trunc('hour', ${f.createdAt}::timestamptz, 'UTC'), ${v(f.paid, f.revenueCents)}, ${v(f.paid, 1)}, ${v(f.paid, f.units)},
      ${v(f.refunded, f.revenueCents)}, ${v(f.refunded, 1)}, ${v(f.cancelled, 1)})
    on conflict (hour) do update set revenue_cents = h.revenue_cents + excluded.revenue_cents, orders = h.orders + excluded.orders,
      units = h.units + excluded.units, refunds_cents = h.refunds_cents + excluded.refunds_cents,
      refunds = h.refunds + excluded.refunds, cancellations = h.cancellations + excluded.cancellations`
  if (!f.paid) return
  // Product rows in product order: two orders of one hour lock them in the same order.
  await tx`
    insert into analytics_product_hourly as p (hour, product_id, revenue_cents, units)
    select date_trunc('hour', ${f.createdAt}::timestamptz, 'UTC'), product_id, ${sign} * quantity::bigint * unit_price_cents, ${sign} * quantity
    from order_items where order_id = ${orderId} order by product_id
    on conflict (hour, product_id) do update set revenue_cents = p.revenue_cents + excluded.revenue_cents, units = p.units + excluded.units`
}

const FACT_COLUMNS = ['paid', 'refunded', 'cancelled', 'revenueCents', 'units', 'userId', 'createdAt'] as const

/**
 * Moves the order's fact row to the order's current state (the caller holds the rollup lock,
 * shared or exclusive): the old contribution out of the rollups, the new one in. Also the repair
 * the rebuild uses for a fact that drifted, whatever field differs.
 */
export async function reconcileOrder(tx: postgres.TransactionSql, orderId: string): Promise<'applied' | 'unchanged' | 'missing'> {
  const now = await sourceFact(tx, orderId)
  // Lock (or create) the fact row first: every writer of this order's figures queues here, so two
  // events of one order cannot both add their difference.
  if (now)
    await tx`insert into analytics_order_facts (order_id, user_id, created_at, revenue_cents, units)
      values (${orderId}, ${now.userId}, ${now.createdAt}, ${now.revenueCents}, ${now.units})
      on conflict do nothing`
  const [row] = await tx<Fact[]>`
    select paid, refunded, cancelled, revenue_cents::bigint as "revenueCents", units, user_id as "userId", created_at as "createdAt"
    from analytics_order_facts where order_id = ${orderId} for update`
  if (!row) return 'missing'
  const old: Fact = { ...row, revenueCents: Number(row.revenueCents), createdAt: asDate(row.createdAt).toISOString() }
  const cur = now ? { ...now, createdAt: asDate(now.createdAt).toISOString() } : null
  if (cur && FACT_COLUMNS.every((k) => old[k] === cur[k])) return 'unchanged'
  await contribute(tx, orderId, { fact: old, sign: -1 })
  if (cur) {
    await tx`update analytics_order_facts set paid = ${cur.paid}, refunded = ${cur.refunded}, cancelled = ${cur.cancelled},
      revenue_cents = ${cur.revenueCents}, units = ${cur.units}, user_id = ${cur.userId}, created_at = ${cur.createdAt}
      where order_id = ${orderId}`
    await contribute(tx, orderId, { fact: cur, sign: 1 })
  } else await tx`delete from analytics_order_facts where order_id = ${orderId}`
  if (old.paid) await refreshCustomer(tx, old.userId)
  if (cur?.paid && (cur.userId !== old.userId || !old.paid || cur.createdAt !== old.createdAt)) await refreshCustomer(tx, cur.userId)
  return cur ? 'applied' : 'missing'
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

const SRC_FACTS = (tx: postgres.TransactionSql, graceSeconds: number) => tx`create temp table src_facts on commit drop as
  select o.id as order_id, o.user_id, o.created_at, o.status in ${tx(SOLD_STATUSES)} as paid,
         o.status = 'refunded' as refunded, o.status = 'cancelled' as cancelled,
         o.total_cents::bigint as revenue_cents, coalesce(u.units, 0)::int as units,
         o.updated_at < now() - make_interval(secs => ${graceSeconds}) as settled
  from orders o left join (select order_id, sum(quantity) as units from order_items group by order_id) u on u.order_id = o.id`

const HOURLY_OF_FACTS = (tx: postgres.TransactionSql) => tx`
  select date_trunc('hour', created_at, 'UTC') as hour,
         sum(case when paid then revenue_cents else 0 end)::bigint as revenue_cents, count(*) filter (where paid)::int as orders,
         sum(case when paid then units else 0 end)::int as units, sum(case when refunded then revenue_cents else 0 end)::bigint as refunds_cents,
         count(*) filter (where refunded)::int as refunds, count(*) filter (where cancelled)::int as cancellations
  from analytics_order_facts group by 1 having count(*) filter (where paid or cancelled) > 0`

const PRODUCTS_OF_FACTS = (tx: postgres.TransactionSql) => tx`
  select date_trunc('hour', f.created_at, 'UTC') as hour, i.product_id, sum(i.quantity::bigint * i.unit_price_cents)::bigint as revenue_cents,
         sum(i.quantity)::int as units
  from analytics_order_facts f join order_items i on i.order_id = f.order_id where f.paid group by 1, 2`

const CUSTOMERS_OF_FACTS = (tx: postgres.TransactionSql) => tx`
  select user_id, min(created_at) as first_order_at, max(created_at) as last_order_at, count(*)::int as orders, sum(revenue_cents)::bigint as revenue_cents
  from analytics_order_facts where paid group by user_id`

type Found = { orders: string[]; hours: string[]; productHours: string[]; users: string[] }

/**
 * Checks the read model against the source tables and repairs what differs. Drift = fact rows
 * that disagree with their order (orders changed in the last `graceSeconds` are left out: their
 * event may still be on its way, and will fix them) + rollup rows that disagree with the facts
 * (a bug, never lag). The comparison runs in one REPEATABLE READ snapshot WITHOUT the rollup lock
 * (facts and rollups change together in every event transaction, so a snapshot sees them
 * consistent); only the repair of the rows found takes the lock, so events are not held up for
 * the minutes a full comparison takes at 1M orders. The first build into empty tables is one bulk
 * load under the lock and reports no drift.
 */
export async function rebuildRollups(graceSeconds = 60): Promise<RebuildResult> {
  const t0 = performance.now()
  const [{ n: existing }] = (await sql`select count(*)::int as n from (select 1 from analytics_order_facts limit 1) x`) as unknown as [
    { n: number },
  ]
  if (existing === 0) {
    const facts = await sql.begin(async (tx) => {
      await tx`set local statement_timeout = 0`
      await tx`select pg_advisory_xact_lock(${LOCK})`
      await SRC_FACTS(tx, graceSeconds)
      await tx`insert into analytics_order_facts (order_id, user_id, created_at, paid, refunded, cancelled, revenue_cents, units)
        select order_id, user_id, created_at, paid, refunded, cancelled, revenue_cents, units from src_facts on conflict do nothing`
      await rebuildAggregates(tx)
      const [{ n }] = (await tx`select count(*)::int as n from analytics_order_facts`) as unknown as [{ n: number }]
      return n
    })
    rollupDrift.set(0)
    return { drift: 0, factsDrift: 0, rollupDrift: 0, facts, initial: true, ms: Math.round(performance.now() - t0) }
  }
  const found = await sql.begin('isolation level repeatable read', async (tx): Promise<Found & { facts: number }> => {
    await tx`set local statement_timeout = 0`
    await SRC_FACTS(tx, graceSeconds)
    await tx`alter table src_facts add primary key (order_id)`
    const orders = await tx<{ id: string }[]>`
      select coalesce(s.order_id, f.order_id) as id from src_facts s full join analytics_order_facts f using (order_id)
      where (s.order_id is null or s.settled)
        and (s.user_id, s.created_at, s.paid, s.refunded, s.cancelled, s.revenue_cents, s.units)
          is distinct from (f.user_id, f.created_at, f.paid, f.refunded, f.cancelled, f.revenue_cents, f.units)`
    const hours = await tx<{ hour: string }[]>`
      select coalesce(x.hour, h.hour) as hour from (${HOURLY_OF_FACTS(tx)}) x full join analytics_hourly h using (hour)
      where (x.revenue_cents, x.orders, x.units, x.refunds_cents, x.refunds, x.cancellations)
          is distinct from (h.revenue_cents, h.orders, h.units, h.refunds_cents, h.refunds, h.cancellations)
        and not (x.hour is null and h.revenue_cents = 0 and h.orders = 0 and h.units = 0 and h.refunds_cents = 0 and h.refunds = 0 and h.cancellations = 0)`
    const productHours = await tx<{ hour: string }[]>`
      select distinct coalesce(x.hour, p.hour) as hour from (${PRODUCTS_OF_FACTS(tx)}) x full join analytics_product_hourly p using (hour, product_id)
      where (x.revenue_cents, x.units) is distinct from (p.revenue_cents, p.units) and not (x.hour is null and p.revenue_cents = 0 and p.units = 0)`
    const users = await tx<{ id: string }[]>`
      select coalesce(x.user_id, c.user_id) as id from (${CUSTOMERS_OF_FACTS(tx)}) x full join analytics_customers c using (user_id)
      where (x.first_order_at, x.last_order_at, x.orders, x.revenue_cents) is distinct from (c.first_order_at, c.last_order_at, c.orders, c.revenue_cents)`
    const [{ n: facts }] = (await tx`select count(*)::int as n from analytics_order_facts`) as unknown as [{ n: number }]
    return {
      orders: orders.map((r) => r.id),
      hours: hours.map((r) => r.hour),
      productHours: productHours.map((r) => r.hour),
      users: users.map((r) => r.id),
      facts,
    }
  })
  if (found.orders.length + found.hours.length + found.productHours.length + found.users.length > 0)
    await sql.begin(async (tx) => {
      await tx`set local statement_timeout = 0`
      await tx`select pg_advisory_xact_lock(${LOCK})`
      for (const id of found.orders) await reconcileOrder(tx, id)
      for (const hour of found.hours) {
        await tx`delete from analytics_hourly where hour = ${hour}`
        await tx`insert into analytics_hourly select * from (${HOURLY_OF_FACTS(tx)}) x where x.hour = ${hour}`
      }
      for (const hour of found.productHours) {
        await tx`delete from analytics_product_hourly where hour = ${hour}`
        await tx`insert into analytics_product_hourly select * from (${PRODUCTS_OF_FACTS(tx)}) x where x.hour = ${hour}`
      }
      for (const id of found.users) await refreshCustomer(tx, id)
    })
  const factsDrift = found.orders.length
  const rollup = found.hours.length + found.productHours.length + found.users.length
  rollupDrift.set(factsDrift + rollup)
  return {
    drift: factsDrift + rollup,
    factsDrift,
    rollupDrift: rollup,
    facts: found.facts,
    initial: false,
    ms: Math.round(performance.now() - t0),
  }
}

/** Rewrites the three rollups from the facts (the initial build, under the exclusive lock). */
async function rebuildAggregates(tx: postgres.TransactionSql): Promise<void> {
  await tx`delete from analytics_hourly`
  await tx`insert into analytics_hourly select * from (${HOURLY_OF_FACTS(tx)}) x`
  await tx`delete from analytics_product_hourly`
  // In (hour, product) order: a window's rows then sit in few heap pages (measured: 24 h read
  // 2,712 pages for 2,962 rows when inserted in hash order).
  await tx`insert into analytics_product_hourly select * from (${PRODUCTS_OF_FACTS(tx)}) x order by hour, product_id`
  await tx`delete from analytics_customers`
  await tx`insert into analytics_customers select * from (${CUSTOMERS_OF_FACTS(tx)}) x`
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
