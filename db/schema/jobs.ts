// Tables owned by background jobs: the mail log (one row per email ever attempted), low-stock
// alerts and the alerts other modules raise. Both carry the uniqueness that makes their jobs idempotent, so a retried or duplicated
// job cannot send a second email or open a second alert.
import { sql } from 'drizzle-orm'
import { check, index, integer, pgTable, text, timestamp, uniqueIndex, uuid } from 'drizzle-orm/pg-core'
import { products } from './catalog'

export const MAIL_STATUSES = ['pending', 'sending', 'sent', 'logged'] as const
/**
 * The emails an order can owe, each at most once (UNIQUE (order_id, kind)). `order_confirmation`
 * is the "order received" email sent at checkout and `payment_receipt` the "order confirmed"
 * receipt; their names predate the other kinds and stay, because logged rows carry them.
 */
export const ORDER_MAIL_KINDS = ['order_confirmation', 'payment_receipt', 'payment_failed', 'order_cancelled', 'order_refunded'] as const
export type OrderMailKind = (typeof ORDER_MAIL_KINDS)[number]

export const mailLog = pgTable(
  'mail_log',
  {
    id: uuid()
      .primaryKey()
      .$defaultFn(() => Bun.randomUUIDv7()),
    /** No FK: the orders table lives in another module; the event id ties the row to its cause.
     *  Null for account emails (password reset), which belong to no order. */
    orderId: uuid(),
    kind: text({ enum: [...ORDER_MAIL_KINDS, 'password_reset'] }).notNull(),
    eventId: uuid(),
    toAddress: text().notNull(),
    subject: text().notNull(),
    textBody: text().notNull(),
    htmlBody: text().notNull(),
    /** `logged` = no SMTP configured, the row is the delivery; `sent` = accepted by SMTP. */
    status: text({ enum: MAIL_STATUSES }).notNull().default('pending'),
    transport: text({ enum: ['smtp', 'log'] }).notNull(),
    messageId: text().notNull(),
    attempts: integer().notNull().default(0),
    claimedAt: timestamp({ withTimezone: true }),
    sentAt: timestamp({ withTimezone: true }),
    lastError: text(),
    createdAt: timestamp({ withTimezone: true }).notNull().defaultNow(),
  },
  (t) => [
    uniqueIndex('mail_log_order_kind_key').on(t.orderId, t.kind),
    index('mail_log_created_idx').on(t.createdAt, t.id),
    check('mail_log_status_check', sql`${t.status} in ('pending', 'sending', 'sent', 'logged')`),
    check('mail_log_order_check', sql`${t.kind} = 'password_reset' or ${t.orderId} is not null`),
  ],
)

export const stockAlerts = pgTable(
  'stock_alerts',
  {
    id: uuid()
      .primaryKey()
      .$defaultFn(() => Bun.randomUUIDv7()),
    productId: uuid()
      .notNull()
      .references(() => products.id, { onDelete: 'cascade' }),
    /** available and reorder point when the alert opened */
    availableAtOpen: integer().notNull(),
    reorderPoint: integer().notNull(),
    /** what opened it: `stock.low` event or the scheduled check */
    source: text().notNull(),
    openedAt: timestamp({ withTimezone: true }).notNull().defaultNow(),
    resolvedAt: timestamp({ withTimezone: true }),
    availableAtResolve: integer(),
  },
  (t) => [
    // The dedup guarantee: at most one open alert per product, whatever races the jobs run.
    uniqueIndex('stock_alerts_one_open_per_product').on(t.productId).where(sql`${t.resolvedAt} is null`),
    index('stock_alerts_opened_idx').on(t.openedAt, t.id),
  ],
)

export const PLANNING_ALERT_KINDS = ['stockout_risk', 'purchase_order_overdue', 'supplier_reliability'] as const
export type PlanningAlertKind = (typeof PLANNING_ALERT_KINDS)[number]

/**
 * Alerts other modules raise into the alerts module's list (raised.ts): planning's stock-out
 * risks, overdue purchase orders and supplier reliability. Only the alerts module writes it.
 */
export const planningAlerts = pgTable(
  'planning_alerts',
  {
    id: uuid()
      .primaryKey()
      .$defaultFn(() => Bun.randomUUIDv7()),
    kind: text().$type<PlanningAlertKind>().notNull(),
    severity: text().$type<'warning' | 'critical'>().notNull(),
    /** product, purchase order or supplier id, by kind */
    subjectId: uuid().notNull(),
    message: text().notNull(),
    openedAt: timestamp({ withTimezone: true }).notNull().defaultNow(),
    resolvedAt: timestamp({ withTimezone: true }),
  },
  (t) => [
    check('planning_alerts_kind_check', sql`${t.kind} in ('stockout_risk', 'purchase_order_overdue', 'supplier_reliability')`),
    check('planning_alerts_severity_check', sql`${t.severity} in ('warning', 'critical')`),
    uniqueIndex('planning_alerts_open_key').on(t.kind, t.subjectId).where(sql`${t.resolvedAt} is null`),
  ],
)
