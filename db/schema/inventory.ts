// Inventory per product. The CHECK constraints are the oversell fence: whatever the code does,
// Postgres refuses reserved > on_hand or negative counters.
import { sql } from 'drizzle-orm'
import { check, integer, pgTable, timestamp, uuid } from 'drizzle-orm/pg-core'
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
    updatedAt: timestamp({ withTimezone: true }).notNull().defaultNow(),
  },
  (t) => [
    check('inventory_on_hand_nonnegative', sql`${t.onHand} >= 0`),
    check('inventory_reserved_nonnegative', sql`${t.reserved} >= 0`),
    check('inventory_reserved_le_on_hand', sql`${t.reserved} <= ${t.onHand}`),
    check('inventory_reorder_point_nonnegative', sql`${t.reorderPoint} >= 0`),
  ],
)
