// Recommendations: the durable copy of the co-occurrence model. Redis holds the same neighbours as
// sorted sets for fast reads; these tables are what survives a Redis loss (reads fall back here and
// repopulate Redis). Rows are derived data, rewritten by every full rebuild.
import { sql } from 'drizzle-orm'
import { check, doublePrecision, index, integer, pgTable, primaryKey, smallint, timestamp, uuid } from 'drizzle-orm/pg-core'

/**
 * Top-K "bought together" neighbours per product. No foreign keys on purpose: the table is a
 * rebuildable projection, and deleting a product must not be blocked by (or cascade through) it;
 * reads filter deleted products anyway.
 */
export const productNeighbours = pgTable(
  'product_neighbours',
  {
    productId: uuid().notNull(),
    neighbourId: uuid().notNull(),
    /** cosine similarity of the two products' order sets, in (0, 1] */
    score: doublePrecision().notNull(),
    /** completed orders containing both products */
    support: integer().notNull(),
    /** 1 = best neighbour */
    rank: smallint().notNull(),
  },
  (t) => [
    primaryKey({ columns: [t.productId, t.neighbourId] }),
    index('product_neighbours_rank_idx').on(t.productId, t.rank),
    check('product_neighbours_not_self', sql`${t.productId} <> ${t.neighbourId}`),
    check('product_neighbours_support_positive', sql`${t.support} > 0`),
  ],
)

/** Best-selling products over completed orders (cold-start fallback), rewritten by each rebuild. */
export const productPopularity = pgTable(
  'product_popularity',
  {
    productId: uuid().primaryKey(),
    orders: integer().notNull(),
    rank: integer().notNull(),
  },
  (t) => [index('product_popularity_rank_idx').on(t.rank)],
)

/** Orders already folded into the model incrementally: makes onOrderPaid a no-op the second time. */
export const recommendationAppliedOrders = pgTable('recommendation_applied_orders', {
  orderId: uuid().primaryKey(),
  appliedAt: timestamp({ withTimezone: true }).notNull().defaultNow(),
})
