// Catalog: a category tree and products. Prices are integer minor units; products are soft-deleted.
import { sql } from 'drizzle-orm'
import { type AnyPgColumn, check, index, integer, pgTable, text, timestamp, uniqueIndex, uuid } from 'drizzle-orm/pg-core'

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
    ratingCount: integer().notNull().default(0),
    ratingSum: integer().notNull().default(0),
    purchaseCount: integer().notNull().default(0),
    createdAt: timestamp({ withTimezone: true }).notNull().defaultNow(),
    updatedAt: timestamp({ withTimezone: true }).notNull().defaultNow(),
    deletedAt: timestamp({ withTimezone: true }),
  },
  (t) => [
    index('products_category_idx').on(t.categoryId),
    index('products_created_idx').on(t.createdAt),
    check('products_price_check', sql`${t.priceCents} >= 0`),
    check('products_currency_check', sql`${t.currency} ~ '^[A-Z]{3}$'`),
    check('products_rating_check', sql`${t.ratingCount} >= 0 and ${t.ratingSum} between ${t.ratingCount} and 5 * ${t.ratingCount}`),
    check('products_purchase_count_check', sql`${t.purchaseCount} >= 0`),
  ],
)
