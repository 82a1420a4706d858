// What a sale left behind, read from Postgres (the source of truth): units sold, and everything the
// system still owes its buyers — confirmation and receipt emails, payments that should have
// settled — plus the inventory ledger check. Pure SQL over one sale's orders, so several sales
// can share a database.
import type postgres from 'postgres'
import { checkInventory } from '../../scripts/inventory-check'

export type Audit = {
  /** units held by orders that still count (not cancelled, expired or failed) */
  sold: number
  orders: number
  paidOrders: number
  /** orders (any status) whose confirmation was not delivered (mail_log `sent`, or `logged` without SMTP) */
  missingConfirmations: number
  /** paid orders whose receipt was not delivered */
  missingReceipts: number
  /** payments still `pending` */
  pendingPayments: number
  /** paid orders without a succeeded payment */
  paidWithoutPayment: number
  /** succeeded payments whose order is not paid */
  chargedNotPaid: number
  /** orders with more than one succeeded payment or gateway charge */
  chargedTwice: number
  /** outbox events of these orders not yet published */
  unpublished: number
  /** inventory:check mismatches of this product */
  ledgerMismatches: number
}

export const lostEmails = (a: Audit) => a.missingConfirmations + a.missingReceipts
export const lostPayments = (a: Audit) => a.pendingPayments + a.paidWithoutPayment + a.chargedNotPaid + a.chargedTwice

export async function audit(sql: postgres.Sql, productIds: string[]): Promise<Audit> {
  const [r] = await sql<Omit<Audit, 'ledgerMismatches'>[]>`
    with o as (
      select o.id, o.status, i.quantity from orders o join order_items i on i.order_id = o.id
      where i.product_id in ${sql(productIds)}
    ), pay as (
      select p.order_id,
        count(*) filter (where p.status = 'pending')::int as pending,
        count(*) filter (where p.status = 'succeeded')::int as succeeded,
        (select count(*)::int from gateway_charges g
          where g.idempotency_key in (select p2.idempotency_key from payments p2 where p2.order_id = p.order_id)
          and g.status = 'succeeded') as charges
      from payments p where p.order_id in (select id from o) group by p.order_id
    )
    select
      coalesce(sum(o.quantity) filter (where o.status not in ('cancelled', 'expired')), 0)::int as sold,
      count(*)::int as orders,
      count(*) filter (where o.status in ('paid', 'fulfilled', 'shipped', 'delivered'))::int as "paidOrders",
      count(*) filter (where not exists (
        select 1 from mail_log m where m.order_id = o.id and m.kind = 'order_confirmation' and m.status in ('sent', 'logged')))::int as "missingConfirmations",
      count(*) filter (where o.status in ('paid', 'fulfilled', 'shipped', 'delivered') and not exists (
        select 1 from mail_log m where m.order_id = o.id and m.kind = 'payment_receipt' and m.status in ('sent', 'logged')))::int as "missingReceipts",
      coalesce(sum(pay.pending), 0)::int as "pendingPayments",
      count(*) filter (where o.status in ('paid', 'fulfilled', 'shipped', 'delivered')
        and coalesce(pay.succeeded, 0) = 0)::int as "paidWithoutPayment",
      count(*) filter (where coalesce(pay.succeeded, 0) > 0
        and o.status not in ('paid', 'fulfilled', 'shipped', 'delivered', 'refunded'))::int as "chargedNotPaid",
      count(*) filter (where coalesce(pay.succeeded, 0) > 1 or coalesce(pay.charges, 0) > 1)::int as "chargedTwice",
      (select count(*)::int from outbox_events e where e.published_at is null
        and e.aggregate_id in (select id from o)) as unpublished
    from o left join pay on pay.order_id = o.id`
  const report = await checkInventory(sql)
  return {
    ...(r as Omit<Audit, 'ledgerMismatches'>),
    ledgerMismatches: report.mismatches.filter((m) => productIds.includes(m.productId)).length,
  }
}

/** Everything owed has happened (or nothing more will: the caller bounds the wait). */
export const settled = (a: Audit) => lostEmails(a) === 0 && a.pendingPayments === 0 && a.unpublished === 0

/** Polls `audit` until settled or `ms` have passed; returns the last audit and how long it took. */
export async function settle(sql: postgres.Sql, productIds: string[], ms: number): Promise<{ audit: Audit; ms: number }> {
  const t = Date.now()
  for (;;) {
    const a = await audit(sql, productIds)
    if (settled(a) || Date.now() - t >= ms) return { audit: a, ms: Date.now() - t }
    await Bun.sleep(250)
  }
}
