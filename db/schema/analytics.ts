// Analytics read model: per-order facts and hourly rollups the dashboard reads instead of scanning
// orders. Derived tables only: src/modules/analytics/rollup.ts keeps them current from the order
// events of the outbox (idempotent per event id AND per order state), and the scheduled rebuild
// recomputes them from orders/order_items and reports any drift. Every counter is CHECKed ≥ 0, so
// a double-subtracted delta fails loudly instead of going negative.
import { sql } from 'drizzle-orm'
import { bigint, boolean, check, index, integer, pgTable, primaryKey, timestamp, uuid } from 'drizzle-orm/pg-core'

/**
 * One row per order the analytics side has seen: its placement hour is the bucket every figure is
 * counted in (sales are attributed to the hour the order was placed; a later refund or
 * cancellation changes that hour's figures, so a window's numbers are stable under re-reads).
 */
export const analyticsOrderFacts = pgTable(
  'analytics_order_facts',
  {
    orderId: uuid().primaryKey(),
    userId: uuid().notNull(),
    createdAt: timestamp({ withTimezone: true }).notNull(),
    /** reached `paid` (then maybe fulfilled…delivered or refunded): a sale */
    paid: boolean().notNull().default(false),
    refunded: boolean().notNull().default(false),
    cancelled: boolean().notNull().default(false),
    revenueCents: bigint({ mode: 'number' }).notNull().default(0),
    units: integer().notNull().default(0),
  },
  (t) => [
    // Partial-hour window edges, the live tick's "last minute" and the exports' keyset pages.
    index('analytics_order_facts_created_idx').on(t.createdAt, t.orderId),
    // Distinct purchasing customers of a window: an index-only scan, no heap visits.
    index('analytics_order_facts_paid_created_user_idx').on(t.createdAt, t.userId).where(sql`${t.paid}`),
    index('analytics_order_facts_user_idx').on(t.userId, t.createdAt).where(sql`${t.paid}`),
    check('analytics_order_facts_nonnegative', sql`${t.revenueCents} >= 0 and ${t.units} >= 0`),
    check('analytics_order_facts_refund_paid', sql`not ${t.refunded} or ${t.paid}`),
  ],
)

/** Shop-wide totals per UTC hour (of order placement). */
export const analyticsHourly = pgTable(
  'analytics_hourly',
  {
    hour: timestamp({ withTimezone: true }).primaryKey(),
    revenueCents: bigint({ mode: 'number' }).notNull().default(0),
    orders: integer().notNull().default(0),
    units: integer().notNull().default(0),
    refundsCents: bigint({ mode: 'number' }).notNull().default(0),
    refunds: integer().notNull().default(0),
    cancellations: integer().notNull().default(0),
  },
  (t) => [
    check(
      'analytics_hourly_nonnegative',
      sql`${t.revenueCents} >= 0 and ${t.orders} >= 0 and ${t.units} >= 0 and ${t.refundsCents} >= 0 and ${t.refunds} >= 0 and ${t.cancellations} >= 0`,
    ),
    check('analytics_hourly_aligned', sql`${t.hour} = date_trunc('hour', ${t.hour}, 'UTC')`),
  ],
)

/** Gross sales per product per UTC hour (of order placement). */
export const analyticsProductHourly = pgTable(
  'analytics_product_hourly',
  {
    hour: timestamp({ withTimezone: true }).notNull(),
    productId: uuid().notNull(),
    revenueCents: bigint({ mode: 'number' }).notNull().default(0),
    units: integer().notNull().default(0),
  },
  (t) => [
    primaryKey({ columns: [t.hour, t.productId] }),
    check('analytics_product_hourly_nonnegative', sql`${t.revenueCents} >= 0 and ${t.units} >= 0`),
  ],
)

/** Per customer: first and last purchase (placement time of paid orders), count and gross spend. */
export const analyticsCustomers = pgTable(
  'analytics_customers',
  {
    userId: uuid().primaryKey(),
    firstOrderAt: timestamp({ withTimezone: true }).notNull(),
    lastOrderAt: timestamp({ withTimezone: true }).notNull(),
    orders: integer().notNull(),
    revenueCents: bigint({ mode: 'number' }).notNull(),
  },
  (t) => [
    index('analytics_customers_first_idx').on(t.firstOrderAt),
    check('analytics_customers_nonnegative', sql`${t.orders} > 0 and ${t.revenueCents} >= 0 and ${t.firstOrderAt} <= ${t.lastOrderAt}`),
  ],
)

/** Outbox event ids already folded in: a redelivered event is a no-op. Purged with the outbox. */
export const analyticsAppliedEvents = pgTable('analytics_applied_events', {
  eventId: uuid().primaryKey(),
  appliedAt: timestamp({ withTimezone: true }).notNull().defaultNow(),
})
