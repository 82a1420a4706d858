// Payments: one row per payment attempt of an order (driven by the `payments` BullMQ job),
// processed webhook event ids (dedupe), and the ledger of the SIMULATED gateway (a real gateway
// keeps that on its side; ours lives here so tests can prove a retry never charges twice).
import { sql } from 'drizzle-orm'
import { bigint, check, index, integer, jsonb, pgTable, text, timestamp, uniqueIndex, uuid } from 'drizzle-orm/pg-core'
import { orders } from './orders'

/** The payment methods the (simulated) gateway accepts; anything else is refused at the API. */
export const PAYMENT_METHODS = ['pm_card_ok', 'pm_card_declined', 'pm_card_flaky', 'pm_card_timeout'] as const

export const PAYMENT_STATUSES = ['pending', 'succeeded', 'failed', 'cancelled', 'refunded'] as const
export type PaymentStatus = (typeof PAYMENT_STATUSES)[number]

export const payments = pgTable(
  'payments',
  {
    id: uuid().primaryKey(),
    orderId: uuid()
      .notNull()
      .references(() => orders.id, { onDelete: 'cascade' }),
    status: text().$type<PaymentStatus>().notNull().default('pending'),
    method: text().notNull(),
    attempts: integer().notNull().default(0),
    /** bigint: an order total can pass int4 (50 lines × 100 units × 2,000,000,000 cents). */
    amountCents: bigint({ mode: 'number' }).notNull(),
    currency: text().notNull(),
    gatewayChargeId: text(),
    /** sent to the gateway with every try of this payment: the gateway charges it at most once */
    idempotencyKey: text().notNull(),
    /** the client's Idempotency-Key of the /pay request (recovery after a lost response) */
    requestKey: text(),
    lastError: text(),
    createdAt: timestamp({ withTimezone: true }).notNull().defaultNow(),
    updatedAt: timestamp({ withTimezone: true }).notNull().defaultNow(),
  },
  (t) => [
    index('payments_order_idx').on(t.orderId),
    uniqueIndex('payments_idempotency_key').on(t.idempotencyKey),
    // At most one live (pending or succeeded) payment per order: a second /pay cannot start a
    // second charge even if two requests race past the application check.
    uniqueIndex('payments_one_live_per_order').on(t.orderId).where(sql`${t.status} in ('pending', 'succeeded')`),
    check('payments_status_check', sql`${t.status} in ('pending', 'succeeded', 'failed', 'cancelled', 'refunded')`),
    check('payments_amount_nonnegative', sql`${t.amountCents} >= 0`),
    check('payments_attempts_nonnegative', sql`${t.attempts} >= 0`),
  ],
)

export const paymentWebhookEvents = pgTable('payment_webhook_events', {
  eventId: text().primaryKey(),
  type: text().notNull(),
  payload: jsonb().notNull().$type<Record<string, unknown>>(),
  receivedAt: timestamp({ withTimezone: true }).notNull().defaultNow(),
})

/** The simulated gateway's own records, keyed by the idempotency key the merchant sends. */
export const gatewayCharges = pgTable(
  'gateway_charges',
  {
    idempotencyKey: text().primaryKey(),
    chargeId: text().notNull(),
    status: text().$type<'processing' | 'succeeded' | 'declined' | 'refunded'>().notNull(),
    method: text().notNull(),
    amountCents: bigint({ mode: 'number' }).notNull(),
    currency: text().notNull(),
    /** how many times the merchant called with this key (drives pm_card_flaky) */
    calls: integer().notNull().default(1),
    createdAt: timestamp({ withTimezone: true }).notNull().defaultNow(),
    updatedAt: timestamp({ withTimezone: true }).notNull().defaultNow(),
  },
  (t) => [check('gateway_charges_status_check', sql`${t.status} in ('processing', 'succeeded', 'declined', 'refunded')`)],
)
