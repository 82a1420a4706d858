// Orders: the order row (status guarded by a CHECK of the state machine's states), its lines with
// the price snapshotted at checkout, and an append-only status history.
import { sql } from 'drizzle-orm'
import { bigint, bigserial, check, index, integer, pgTable, primaryKey, text, timestamp, uniqueIndex, uuid } from 'drizzle-orm/pg-core'
import { products } from './catalog'
import { users } from './users'

/** Every state of the order state machine (transitions live in src/modules/orders/state.ts). */
export const ORDER_STATUSES = [
  'pending_payment',
  'paid',
  'fulfilled',
  'shipped',
  'delivered',
  'cancelled',
  'expired',
  'payment_failed',
  'refunded',
  // Held for a risk review: stock stays reserved, payment is refused until an admin approves.
  'on_hold',
] as const
export type OrderStatus = (typeof ORDER_STATUSES)[number]
/** Paid or any later fulfilment state: a purchase (verified reviews, recommendations, popularity). */
export const COMPLETED_ORDER_STATUSES = ['paid', 'fulfilled', 'shipped', 'delivered'] as const satisfies readonly OrderStatus[]

const statusList = sql.raw(ORDER_STATUSES.map((s) => `'${s}'`).join(', '))

export const orders = pgTable(
  'orders',
  {
    id: uuid().primaryKey(),
    userId: uuid()
      .notNull()
      .references(() => users.id, { onDelete: 'restrict' }),
    status: text().$type<OrderStatus>().notNull().default('pending_payment'),
    /** bigint: 50 lines × 100 units × 2,000,000,000 cents is past int4 (exact in a JS number up to 2^53). */
    totalCents: bigint({ mode: 'number' }).notNull(),
    currency: text().notNull(),
    /** The client's Idempotency-Key of the creating request: a second fence against duplicates. */
    idempotencyKey: text(),
    reservationExpiresAt: timestamp({ withTimezone: true }).notNull(),
    createdAt: timestamp({ withTimezone: true }).notNull().defaultNow(),
    updatedAt: timestamp({ withTimezone: true }).notNull().defaultNow(),
  },
  (t) => [
    index('orders_user_idx').on(t.userId, t.id),
    // The expiry sweep scans only unpaid orders (a failed payment keeps its reservation until expiry;
    // a held order keeps it until the maximum hold, its reservation_expires_at).
    index('orders_unpaid_expiry_idx')
      .on(t.reservationExpiresAt)
      .where(sql`${t.status} in ('pending_payment', 'payment_failed', 'on_hold')`),
    uniqueIndex('orders_user_idempotency_key').on(t.userId, t.idempotencyKey),
    check('orders_status_check', sql`${t.status} in (${statusList})`),
    check('orders_total_nonnegative', sql`${t.totalCents} >= 0`),
    check('orders_currency_check', sql`${t.currency} ~ '^[A-Z]{3}$'`),
  ],
)

export const orderItems = pgTable(
  'order_items',
  {
    orderId: uuid()
      .notNull()
      .references(() => orders.id, { onDelete: 'cascade' }),
    productId: uuid()
      .notNull()
      .references(() => products.id, { onDelete: 'restrict' }),
    quantity: integer().notNull(),
    unitPriceCents: integer().notNull(),
  },
  (t) => [
    primaryKey({ columns: [t.orderId, t.productId] }),
    index('order_items_product_idx').on(t.productId),
    check('order_items_quantity_positive', sql`${t.quantity} > 0`),
    check('order_items_price_nonnegative', sql`${t.unitPriceCents} >= 0`),
  ],
)

export const orderStatusHistory = pgTable(
  'order_status_history',
  {
    id: bigserial({ mode: 'number' }).primaryKey(),
    orderId: uuid()
      .notNull()
      .references(() => orders.id, { onDelete: 'cascade' }),
    /** null for the creation entry */
    fromStatus: text().$type<OrderStatus>(),
    toStatus: text().$type<OrderStatus>().notNull(),
    /** who caused it: user:<id>, admin:<id>, system:<job>, gateway:<event> */
    actor: text().notNull(),
    reason: text(),
    at: timestamp({ withTimezone: true }).notNull().defaultNow(),
  },
  (t) => [
    index('order_status_history_order_idx').on(t.orderId, t.id),
    check('order_status_history_to_check', sql`${t.toStatus} in (${statusList})`),
  ],
)
