// Flash-sale events (issue 21): the sale (owned by the sales module: price, schedule, limit) and
// its unit pool (owned by the inventory module, src/modules/inventory/pool.ts: the only writer of
// stock). Postgres is the fence: a pool can never hand out more than it holds
// (held + sold + returned ≤ units), a buyer can never hold more than the limit (units ≤ max_units),
// and a pool takes nothing outside [opens_at, closes_at) — whatever Redis or the code says.
import { sql } from 'drizzle-orm'
import { bigint, check, index, integer, pgTable, primaryKey, text, timestamp, uuid } from 'drizzle-orm/pg-core'
import { products } from './catalog'
import { users } from './users'

/** Stored states; `live`, `sold_out` and `ended` are derived from the clock and the pool. */
export const SALE_STATES = ['scheduled', 'cancelled'] as const
export type SaleState = (typeof SALE_STATES)[number]

export const sales = pgTable(
  'sales',
  {
    id: uuid()
      .primaryKey()
      .$defaultFn(() => Bun.randomUUIDv7()),
    productId: uuid()
      .notNull()
      .references(() => products.id, { onDelete: 'restrict' }),
    salePriceCents: bigint({ mode: 'number' }).notNull(),
    startsAt: timestamp({ withTimezone: true, precision: 3 }).notNull(),
    endsAt: timestamp({ withTimezone: true, precision: 3 }).notNull(),
    perCustomerLimit: integer().notNull(),
    state: text().$type<SaleState>().notNull().default('scheduled'),
    createdAt: timestamp({ withTimezone: true }).notNull().defaultNow(),
    updatedAt: timestamp({ withTimezone: true }).notNull().defaultNow(),
  },
  (t) => [
    index('sales_ends_idx').on(t.endsAt),
    index('sales_product_idx').on(t.productId),
    check('sales_window', sql`${t.endsAt} > ${t.startsAt}`),
    check('sales_price_nonnegative', sql`${t.salePriceCents} >= 0`),
    check('sales_limit_positive', sql`${t.perCustomerLimit} >= 1`),
    check('sales_state_check', sql`${t.state} in ('scheduled', 'cancelled')`),
  ],
)

/**
 * The units moved out of the product's sellable stock for one sale. They stay counted in
 * `inventory.reserved` (free = units − held − sold − returned), so the product's own CHECKs and
 * ledger still cover them; `held` = units of active sale orders, `sold` = paid, `returned` = given
 * back to the product (end, cancel, or an order released after the close). `closed_at` set = the
 * pool takes nothing more and its free units went back.
 */
export const salePools = pgTable(
  'sale_pools',
  {
    saleId: uuid()
      .primaryKey()
      .references(() => sales.id, { onDelete: 'cascade' }),
    productId: uuid().notNull(),
    units: integer().notNull(),
    held: integer().notNull().default(0),
    sold: integer().notNull().default(0),
    returned: integer().notNull().default(0),
    opensAt: timestamp({ withTimezone: true, precision: 3 }).notNull(),
    closesAt: timestamp({ withTimezone: true, precision: 3 }).notNull(),
    closedAt: timestamp({ withTimezone: true }),
  },
  (t) => [
    check('sale_pools_counts_nonnegative', sql`${t.units} >= 0 and ${t.held} >= 0 and ${t.sold} >= 0 and ${t.returned} >= 0`),
    check('sale_pools_no_oversell', sql`${t.held} + ${t.sold} + ${t.returned} <= ${t.units}`),
    index('sale_pools_open_idx').on(t.closesAt).where(sql`${t.closedAt} is null`),
  ],
)

/** Units a customer holds or bought in one sale (active + paid orders); the limit is the CHECK. */
export const salePoolBuyers = pgTable(
  'sale_pool_buyers',
  {
    saleId: uuid()
      .notNull()
      .references(() => salePools.saleId, { onDelete: 'cascade' }),
    userId: uuid()
      .notNull()
      .references(() => users.id, { onDelete: 'cascade' }),
    units: integer().notNull(),
    maxUnits: integer().notNull(),
  },
  (t) => [
    primaryKey({ columns: [t.saleId, t.userId] }),
    check('sale_pool_buyers_limit', sql`${t.units} >= 0 and ${t.units} <= ${t.maxUnits}`),
  ],
)

/** Which order took how many units for whom (release and commit settle the pool and the buyer). */
export const salePoolOrders = pgTable(
  'sale_pool_orders',
  {
    orderId: uuid().primaryKey(),
    saleId: uuid()
      .notNull()
      .references(() => salePools.saleId, { onDelete: 'cascade' }),
    userId: uuid().notNull(),
    quantity: integer().notNull(),
    createdAt: timestamp({ withTimezone: true }).notNull().defaultNow(),
  },
  (t) => [index('sale_pool_orders_sale_idx').on(t.saleId), check('sale_pool_orders_quantity_positive', sql`${t.quantity} > 0`)],
)
