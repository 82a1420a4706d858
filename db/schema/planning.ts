// Inventory planning (issue 26): suppliers and their offers, purchase orders with their lines and
// receipts, the stored demand forecasts and reorder suggestions. The planning module owns these
// tables (its alerts go to the alerts module's planning_alerts, db/schema/jobs.ts); stock itself
// is only ever changed through the inventory module.
// What must never happen is refused here, not only in code: a line received beyond what was
// ordered (CHECK), one receipt per Idempotency-Key and order (unique), one open suggestion per
// product (partial unique index).
import { sql } from 'drizzle-orm'
import { bigint, check, date, index, integer, jsonb, pgTable, text, timestamp, uniqueIndex, uuid } from 'drizzle-orm/pg-core'
import { products } from './catalog'

/** UUIDv7 primary keys: ids sort by creation time, so lists page by id. */
const timestamps = () => ({
  createdAt: timestamp({ withTimezone: true }).notNull().defaultNow(),
  updatedAt: timestamp({ withTimezone: true }).notNull().defaultNow(),
})
const idColumn = () =>
  uuid()
    .primaryKey()
    .$defaultFn(() => Bun.randomUUIDv7())

export const suppliers = pgTable(
  'suppliers',
  {
    id: idColumn(),
    name: text().notNull(),
    contactEmail: text().notNull(),
    leadTimeDays: integer().notNull(),
    ...timestamps(),
  },
  (t) => [check('suppliers_lead_time_range', sql`${t.leadTimeDays} between 0 and 365`)],
)

export const supplierOffers = pgTable(
  'supplier_offers',
  {
    id: idColumn(),
    supplierId: uuid()
      .notNull()
      .references(() => suppliers.id, { onDelete: 'cascade' }),
    productId: uuid()
      .notNull()
      .references(() => products.id, { onDelete: 'cascade' }),
    unitCostCents: bigint({ mode: 'number' }).notNull(),
    minOrderQuantity: integer().notNull().default(1),
    packSize: integer().notNull().default(1),
    /** null = the supplier's lead time */
    leadTimeDays: integer(),
    createdAt: timestamp({ withTimezone: true }).notNull().defaultNow(),
  },
  (t) => [
    uniqueIndex('supplier_offers_supplier_product_key').on(t.supplierId, t.productId),
    index('supplier_offers_product_idx').on(t.productId),
    check('supplier_offers_cost_positive', sql`${t.unitCostCents} > 0`),
    check('supplier_offers_moq_positive', sql`${t.minOrderQuantity} >= 1`),
    check('supplier_offers_pack_positive', sql`${t.packSize} >= 1`),
    check('supplier_offers_lead_time_range', sql`${t.leadTimeDays} is null or ${t.leadTimeDays} between 0 and 365`),
  ],
)

export const PURCHASE_ORDER_STATUSES = ['draft', 'sent', 'partially_received', 'received', 'closed', 'cancelled'] as const
export type PurchaseOrderStatus = (typeof PURCHASE_ORDER_STATUSES)[number]

export const purchaseOrders = pgTable(
  'purchase_orders',
  {
    id: idColumn(),
    // restrict: a supplier with purchase-order history is its reliability record.
    supplierId: uuid()
      .notNull()
      .references(() => suppliers.id, { onDelete: 'restrict' }),
    status: text().$type<PurchaseOrderStatus>().notNull().default('draft'),
    expectedAt: timestamp({ withTimezone: true }),
    sentAt: timestamp({ withTimezone: true }),
    receivedAt: timestamp({ withTimezone: true }),
    closedAt: timestamp({ withTimezone: true }),
    cancelledAt: timestamp({ withTimezone: true }),
    ...timestamps(),
  },
  (t) => [
    check('purchase_orders_status_check', sql`${t.status} in ('draft', 'sent', 'partially_received', 'received', 'closed', 'cancelled')`),
    check('purchase_orders_sent_has_date', sql`${t.status} in ('draft', 'cancelled') or ${t.sentAt} is not null`),
    index('purchase_orders_supplier_idx').on(t.supplierId, t.id),
    // The overdue sweep only ever looks at orders still on their way.
    index('purchase_orders_open_expected_idx').on(t.expectedAt).where(sql`${t.status} in ('sent', 'partially_received')`),
  ],
)

export const purchaseOrderLines = pgTable(
  'purchase_order_lines',
  {
    id: idColumn(),
    purchaseOrderId: uuid()
      .notNull()
      .references(() => purchaseOrders.id, { onDelete: 'cascade' }),
    productId: uuid()
      .notNull()
      .references(() => products.id, { onDelete: 'restrict' }),
    quantity: integer().notNull(),
    received: integer().notNull().default(0),
    unitCostCents: bigint({ mode: 'number' }).notNull(),
  },
  (t) => [
    uniqueIndex('purchase_order_lines_po_product_key').on(t.purchaseOrderId, t.productId),
    index('purchase_order_lines_product_idx').on(t.productId),
    check('purchase_order_lines_quantity_positive', sql`${t.quantity} > 0`),
    // The over-receipt fence: concurrent receipts of one line serialise on its row, and whatever
    // the code does, received can never pass what was ordered.
    check('purchase_order_lines_received_range', sql`${t.received} >= 0 and ${t.received} <= ${t.quantity}`),
    check('purchase_order_lines_cost_positive', sql`${t.unitCostCents} > 0`),
  ],
)

/** One row per applied receipt; the unique key makes a replayed Idempotency-Key restock once. */
export const purchaseOrderReceipts = pgTable(
  'purchase_order_receipts',
  {
    id: idColumn(),
    purchaseOrderId: uuid()
      .notNull()
      .references(() => purchaseOrders.id, { onDelete: 'cascade' }),
    idempotencyKey: text().notNull(),
    lines: jsonb().$type<{ productId: string; quantity: number }[]>().notNull(),
    createdAt: timestamp({ withTimezone: true }).notNull().defaultNow(),
  },
  (t) => [uniqueIndex('purchase_order_receipts_key').on(t.purchaseOrderId, t.idempotencyKey)],
)

/** The latest forecast per product (derived: the forecast job rewrites it). */
export const productForecasts = pgTable('product_forecasts', {
  productId: uuid()
    .primaryKey()
    .references(() => products.id, { onDelete: 'cascade' }),
  method: text().notNull(),
  accuracy: jsonb().notNull(),
  history: jsonb().notNull(),
  forecast: jsonb().notNull(),
  /** one-step-ahead error (units/day), the safety stock's σ */
  sigma: jsonb().$type<number>().notNull(),
  computedAt: timestamp({ withTimezone: true }).notNull().defaultNow(),
  /** the last plan: its reorder point and the available stock it saw (a later drop of more than
   *  the big-sale size refits the forecast; see docs/planning.md) */
  reorderPoint: integer(),
  plannedAvailable: integer(),
  plannedAt: timestamp({ withTimezone: true }),
})

export const SUGGESTION_STATUSES = ['open', 'accepted', 'dismissed'] as const
export type SuggestionStatus = (typeof SUGGESTION_STATUSES)[number]

export const reorderSuggestions = pgTable(
  'reorder_suggestions',
  {
    id: idColumn(),
    productId: uuid()
      .notNull()
      .references(() => products.id, { onDelete: 'cascade' }),
    supplierId: uuid()
      .notNull()
      .references(() => suppliers.id, { onDelete: 'cascade' }),
    quantity: integer().notNull(),
    projectedStockoutDate: date({ mode: 'string' }),
    reason: text().notNull(),
    status: text().$type<SuggestionStatus>().notNull().default('open'),
    purchaseOrderId: uuid().references(() => purchaseOrders.id, { onDelete: 'set null' }),
    ...timestamps(),
  },
  (t) => [
    check('reorder_suggestions_quantity_positive', sql`${t.quantity} > 0`),
    check('reorder_suggestions_status_check', sql`${t.status} in ('open', 'accepted', 'dismissed')`),
    // At most one open suggestion per product: recomputes update it instead of piling up.
    uniqueIndex('reorder_suggestions_open_product_key').on(t.productId).where(sql`${t.status} = 'open'`),
  ],
)
