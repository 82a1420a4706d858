// Inventory per product, reservations held by orders, and the append-only movement ledger.
// The CHECK constraints are the oversell fence: whatever the code does, Postgres refuses
// reserved > on_hand or negative counters. Every counter can be recomputed from the ledger
// (scripts/inventory-check.ts does exactly that).
import { sql } from 'drizzle-orm'
import { check, index, integer, pgTable, text, timestamp, uniqueIndex, uuid } from 'drizzle-orm/pg-core'
import { products } from './catalog'

export const inventory = pgTable(
  'inventory',
  {
    productId: uuid()
      .primaryKey()
      .references(() => products.id, { onDelete: 'cascade' }),
    onHand: integer().notNull().default(0),
    reserved: integer().notNull().default(0),
    version: integer().notNull().default(0),
    reorderPoint: integer().notNull().default(10),
    /**
     * A level of `available` another module (planning) asked to hear about: a change taking
     * available from above it to at or below emits `stock.replan`. null = nobody asked. Not stock:
     * set through setReplanLevel(), never part of the oversell fence.
     */
    replanLevel: integer(),
    updatedAt: timestamp({ withTimezone: true }).notNull().defaultNow(),
  },
  (t) => [
    check('inventory_on_hand_nonnegative', sql`${t.onHand} >= 0`),
    check('inventory_reserved_nonnegative', sql`${t.reserved} >= 0`),
    check('inventory_reserved_le_on_hand', sql`${t.reserved} <= ${t.onHand}`),
    check('inventory_reorder_point_nonnegative', sql`${t.reorderPoint} >= 0`),
    check('inventory_replan_level_nonnegative', sql`${t.replanLevel} is null or ${t.replanLevel} >= 0`),
  ],
)

export const RESERVATION_STATUSES = ['active', 'committed', 'released', 'expired'] as const
export type ReservationStatus = (typeof RESERVATION_STATUSES)[number]

/**
 * Units held for one order line. `order_id` is deliberately not a foreign key: the orders module
 * owns its table and writes it in the same transaction (orders' checkout); a module never reaches
 * into another module's tables. One row per (order, product): a second reservation of the same
 * line is refused by the unique index.
 */
export const reservations = pgTable(
  'reservations',
  {
    id: uuid()
      .primaryKey()
      .$defaultFn(() => Bun.randomUUIDv7()),
    orderId: uuid().notNull(),
    productId: uuid()
      .notNull()
      .references(() => inventory.productId, { onDelete: 'cascade' }),
    quantity: integer().notNull(),
    status: text().$type<ReservationStatus>().notNull().default('active'),
    expiresAt: timestamp({ withTimezone: true }).notNull(),
    /** Set when the units came from a sale's pool (see sales.ts): release/commit settle the pool too. */
    saleId: uuid(),
    createdAt: timestamp({ withTimezone: true }).notNull().defaultNow(),
    updatedAt: timestamp({ withTimezone: true }).notNull().defaultNow(),
  },
  (t) => [
    uniqueIndex('reservations_order_product_key').on(t.orderId, t.productId),
    index('reservations_product_idx').on(t.productId),
    index('reservations_active_expiry_idx').on(t.expiresAt).where(sql`${t.status} = 'active'`),
    check('reservations_quantity_positive', sql`${t.quantity} > 0`),
    check('reservations_status_check', sql`${t.status} in ('active', 'committed', 'released', 'expired')`),
  ],
)

/** `pool`: units moved between the product's sellable stock and a sale's pool (reserved_delta ±q). */
export const MOVEMENT_KINDS = ['restock', 'reserve', 'release', 'expire', 'commit', 'adjust', 'pool'] as const
export type MovementKind = (typeof MOVEMENT_KINDS)[number]

/**
 * Append-only ledger: Σ on_hand_delta = inventory.on_hand and Σ reserved_delta = inventory.reserved
 * for every product. A trigger (custom migration) refuses UPDATE and DELETE.
 */
export const inventoryMovements = pgTable(
  'inventory_movements',
  {
    id: uuid()
      .primaryKey()
      .$defaultFn(() => Bun.randomUUIDv7()),
    productId: uuid().notNull(),
    kind: text().$type<MovementKind>().notNull(),
    onHandDelta: integer().notNull().default(0),
    reservedDelta: integer().notNull().default(0),
    reservationId: uuid(),
    orderId: uuid(),
    reason: text(),
    createdAt: timestamp({ withTimezone: true }).notNull().defaultNow(),
  },
  (t) => [
    index('inventory_movements_product_idx').on(t.productId, t.id),
    check('inventory_movements_kind_check', sql`${t.kind} in ('restock', 'reserve', 'release', 'expire', 'commit', 'adjust', 'pool')`),
    check('inventory_movements_nonzero', sql`${t.onHandDelta} <> 0 or ${t.reservedDelta} <> 0`),
  ],
)
