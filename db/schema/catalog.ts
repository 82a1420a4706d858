// Catalog: a category tree, products (soft-deleted, integer minor-unit prices), reviews and search
// analytics. Search runs on a generated, weighted tsvector; a generated column can only read its own
// row, so the category name is denormalised into `category_name` (kept current by the catalog service).
import { sql } from 'drizzle-orm'
import {
  type AnyPgColumn,
  boolean,
  check,
  customType,
  doublePrecision,
  index,
  integer,
  pgTable,
  smallint,
  text,
  timestamp,
  uniqueIndex,
  uuid,
} from 'drizzle-orm/pg-core'
import { users } from './users'

const tsvector = customType<{ data: string }>({ dataType: () => 'tsvector' })

export const categories = pgTable(
  'categories',
  {
    id: uuid()
      .primaryKey()
      .$defaultFn(() => Bun.randomUUIDv7()),
    name: text().notNull(),
    slug: text().notNull(),
    parentId: uuid().references((): AnyPgColumn => categories.id, { onDelete: 'restrict' }),
    createdAt: timestamp({ withTimezone: true }).notNull().defaultNow(),
    updatedAt: timestamp({ withTimezone: true }).notNull().defaultNow(),
  },
  (t) => [
    uniqueIndex('categories_slug_key').on(t.slug),
    index('categories_parent_idx').on(t.parentId),
    check('categories_not_own_parent', sql`${t.parentId} <> ${t.id}`),
  ],
)

export const products = pgTable(
  'products',
  {
    id: uuid()
      .primaryKey()
      .$defaultFn(() => Bun.randomUUIDv7()),
    name: text().notNull(),
    description: text().notNull().default(''),
    brand: text(),
    priceCents: integer().notNull(),
    currency: text().notNull().default('USD'),
    categoryId: uuid().references(() => categories.id, { onDelete: 'restrict' }),
    /** Denormalised categories.name for the search vector; written only by the catalog service. */
    categoryName: text().notNull().default(''),
    ratingCount: integer().notNull().default(0),
    ratingSum: integer().notNull().default(0),
    purchaseCount: integer().notNull().default(0),
    createdAt: timestamp({ withTimezone: true }).notNull().defaultNow(),
    updatedAt: timestamp({ withTimezone: true }).notNull().defaultNow(),
    deletedAt: timestamp({ withTimezone: true }),
    // Weights: name A, brand + category B, description C (ts_rank favours A matches).
    searchVector: tsvector()
      .notNull()
      .generatedAlwaysAs(
        sql`setweight(to_tsvector('english', coalesce(name, '')), 'A') || setweight(to_tsvector('english', coalesce(brand, '') || ' ' || coalesce(category_name, '')), 'B') || setweight(to_tsvector('english', coalesce(description, '')), 'C')`,
      ),
  },
  (t) => [
    index('products_category_idx').on(t.categoryId),
    index('products_created_idx').on(t.createdAt),
    index('products_search_idx').using('gin', t.searchVector),
    index('products_name_trgm_idx').using('gin', t.name.op('gin_trgm_ops')),
    // max(purchase_count) — the popularity normaliser — becomes an index probe.
    index('products_purchase_idx').on(t.purchaseCount),
    index('products_price_idx').on(t.priceCents, t.id),
    check('products_price_check', sql`${t.priceCents} >= 0`),
    check('products_currency_check', sql`${t.currency} ~ '^[A-Z]{3}$'`),
    check('products_rating_check', sql`${t.ratingCount} >= 0 and ${t.ratingSum} between ${t.ratingCount} and 5 * ${t.ratingCount}`),
    check('products_purchase_count_check', sql`${t.purchaseCount} >= 0`),
  ],
)

export const reviews = pgTable(
  'reviews',
  {
    id: uuid()
      .primaryKey()
      .$defaultFn(() => Bun.randomUUIDv7()),
    productId: uuid()
      .notNull()
      .references(() => products.id, { onDelete: 'cascade' }),
    userId: uuid()
      .notNull()
      .references(() => users.id, { onDelete: 'cascade' }),
    rating: smallint().notNull(),
    title: text(),
    body: text(),
    verifiedPurchase: boolean().notNull().default(false),
    createdAt: timestamp({ withTimezone: true }).notNull().defaultNow(),
  },
  (t) => [
    // One review per user per product: the database says so, not just the service.
    uniqueIndex('reviews_product_user_key').on(t.productId, t.userId),
    index('reviews_product_created_idx').on(t.productId, t.createdAt, t.id),
    check('reviews_rating_check', sql`${t.rating} between 1 and 5`),
  ],
)

/** One row per search (first page only), for zero-result analytics. */
export const searchQueries = pgTable(
  'search_queries',
  {
    id: uuid()
      .primaryKey()
      .$defaultFn(() => Bun.randomUUIDv7()),
    query: text().notNull(),
    resultCount: integer().notNull(),
    /** 'fts' or 'trigram': which matcher produced the results. */
    matcher: text().notNull(),
    userId: uuid().references(() => users.id, { onDelete: 'set null' }),
    /** The mode that actually served it (hybrid / keyword / semantic); null before issue 24. */
    mode: text(),
    /** What was asked for; differs from `mode` when a fallback served the search. */
    requestedMode: text(),
    /** Server time to the first page, milliseconds. */
    latencyMs: doublePrecision(),
    /** Fallbacks taken (e.g. `semantic_unavailable`, `ranking_fallback`); empty = none. */
    degraded: text().array().notNull().default(sql`'{}'::text[]`),
    createdAt: timestamp({ withTimezone: true }).notNull().defaultNow(),
  },
  (t) => [
    index('search_queries_zero_idx').on(t.createdAt).where(sql`${t.resultCount} = 0`),
    // Analytics windows scan by time.
    index('search_queries_created_idx').on(t.createdAt),
  ],
)
