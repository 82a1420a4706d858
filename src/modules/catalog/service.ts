// Catalog service: products (CRUD, cached reads, featured) and the hooks other modules call
// (getProductsForOrder, recordPurchases). No Elysia here; domain errors only.
import { and, eq, inArray, isNull, sql } from 'drizzle-orm'
import { categories, products } from '../../../db/schema'
import { type DbOrTx, db, pgOf } from '../../infra/db'
import { coalesce } from '../../lib/coalesce'
import { NotFoundError, ValidationProblem } from '../../lib/errors'
import { isUuid, uuidArray } from '../../lib/uuid'
import type { StockLine } from '../inventory/model'
import { availableByProductIds, createInventory, onStockChange, retireProductStock } from '../inventory/service'
import {
  type CachedBody,
  cachedBody,
  FEATURED_KEY,
  featuredCache,
  invalidateListings,
  invalidateProduct,
  productCache,
  productKey,
} from './cache'
import type { Product, ProductCreate, ProductPatch } from './model'

// Inventory announces stock changes; the cached product bodies (which show `available`) drop them.
onStockChange((ids) => invalidateProduct(...ids))

export type OrderableProduct = { id: string; name: string; priceCents: number; currency: string }

async function selectOrderable(tx: DbOrTx, ids: readonly string[]): Promise<OrderableProduct[]> {
  // Every checkout runs this: a prepared statement (see pgOf).
  return pgOf(tx)<OrderableProduct[]>`
    select id, name, price_cents as "priceCents", currency from products
    where id = any(${uuidArray(ids)}::uuid[]) and deleted_at is null`
}

/** Outside a transaction, the checkouts of one event-loop turn share one read (a flash sale's all
 * ask for the same product): still read from Postgres at that moment, never from a cache. */
const readOrderable = coalesce<readonly string[], OrderableProduct[]>(async (asks) => {
  // A malformed id matches no product; it must not fail the other callers' shared read.
  const rows = await selectOrderable(db, [...new Set(asks.flat().filter(isUuid))])
  return asks.map((ids) => rows.filter((r) => ids.includes(r.id)))
})

/** Live (not deleted) products by id, with the price the server will charge. */
export async function getProductsForOrder(tx: DbOrTx, ids: string[]): Promise<Map<string, OrderableProduct>> {
  if (ids.length === 0) return new Map()
  const rows = tx === db ? await readOrderable(ids) : await selectOrderable(tx, ids)
  return new Map(rows.map((r) => [r.id, r]))
}

/**
 * Adds sold quantities to purchase_count (the popularity term of the ranking) inside the caller's
 * transaction. Returns the product ids touched: the caller must `await invalidateProduct(...ids)`
 * AFTER its transaction commits (invalidating earlier would let a reader re-cache the old count).
 */
export async function recordPurchases(tx: DbOrTx, lines: StockLine[]): Promise<string[]> {
  const merged = new Map<string, number>()
  for (const l of lines) {
    if (!Number.isInteger(l.quantity) || l.quantity <= 0) throw ValidationProblem.field('quantity', 'must be a positive integer')
    merged.set(l.productId, (merged.get(l.productId) ?? 0) + l.quantity)
  }
  if (merged.size === 0) return []
  const ids = [...merged.keys()]
  const qty = [...merged.values()]
  const idArr = sql`array[${sql.join(
    ids.map((i) => sql`${i}`),
    sql`, `,
  )}]::uuid[]`
  const qtyArr = sql`array[${sql.join(
    qty.map((q) => sql`${q}`),
    sql`, `,
  )}]::int[]`
  await tx.execute(sql`
    update products p set purchase_count = p.purchase_count + v.qty
    from unnest(${idArr}, ${qtyArr}) as v(id, qty)
    where p.id = v.id`)
  return ids
}

type ProductRow = typeof products.$inferSelect

const productColumns = {
  id: products.id,
  name: products.name,
  description: products.description,
  brand: products.brand,
  priceCents: products.priceCents,
  currency: products.currency,
  categoryId: products.categoryId,
  ratingCount: products.ratingCount,
  ratingSum: products.ratingSum,
  purchaseCount: products.purchaseCount,
  createdAt: products.createdAt,
  updatedAt: products.updatedAt,
}
type ProductCore = Pick<ProductRow, keyof typeof productColumns>

export function toProduct(r: ProductCore, available: number): Product {
  return {
    id: r.id,
    name: r.name,
    description: r.description,
    brand: r.brand,
    priceCents: r.priceCents,
    currency: r.currency,
    categoryId: r.categoryId,
    ratingAvg: r.ratingCount > 0 ? Math.round((r.ratingSum / r.ratingCount) * 100) / 100 : null,
    ratingCount: r.ratingCount,
    purchaseCount: r.purchaseCount,
    createdAt: r.createdAt.toISOString(),
    updatedAt: r.updatedAt.toISOString(),
    available,
  }
}

/** Reads one live product straight from Postgres (the cache loader). */
export async function loadProduct(tx: DbOrTx, id: string): Promise<Product | null> {
  return (await loadProducts(tx, [id])).get(id) ?? null
}

/** Live products by id (unknown or deleted ids are absent). Two queries whatever the count. */
export async function loadProducts(tx: DbOrTx, ids: string[]): Promise<Map<string, Product>> {
  if (ids.length === 0) return new Map()
  const rows = await tx
    .select(productColumns)
    .from(products)
    .where(and(inArray(products.id, ids), isNull(products.deletedAt)))
  const available = await availableByProductIds(
    tx,
    rows.map((r) => r.id),
  )
  return new Map(rows.map((r) => [r.id, toProduct(r, available.get(r.id) ?? 0)]))
}

/** Product bodies for a list page, through the product cache (one MGET, one batch load for misses). */
export async function getProductBodies(ids: string[]): Promise<CachedBody[]> {
  const keys = ids.map(productKey)
  const idOf = new Map(keys.map((k, i) => [k, ids[i] as string]))
  const bodies = await productCache.getMany(keys, async (missing) => {
    const loaded = await loadProducts(
      db,
      missing.map((k) => idOf.get(k) as string),
    )
    return new Map([...loaded].map(([id, p]) => [productKey(id), cachedBody(p)]))
  })
  // A product deleted since the page was cached is simply left out.
  return bodies.filter((b): b is CachedBody => b !== null)
}

/** The product's JSON and ETag, via the cache. Null when unknown or deleted (cached briefly too). */
export async function getProductBody(id: string): Promise<CachedBody | null> {
  return productCache.get(productKey(id), async () => {
    const p = await loadProduct(db, id)
    return p ? cachedBody(p) : null
  })
}

/** Resolves a category id to its name (for the denormalised search column); 422 if unknown. */
async function categoryNameOf(tx: DbOrTx, categoryId: string | null | undefined): Promise<string> {
  if (!categoryId) return ''
  const [c] = await tx.select({ name: categories.name }).from(categories).where(eq(categories.id, categoryId))
  if (!c) throw ValidationProblem.field('categoryId', 'no such category')
  return c.name
}

export async function createProduct(input: ProductCreate): Promise<Product> {
  const id = Bun.randomUUIDv7()
  const product = await db.transaction(async (tx) => {
    const categoryName = await categoryNameOf(tx, input.categoryId)
    await tx.insert(products).values({
      id,
      name: input.name.trim(),
      description: input.description ?? '',
      brand: input.brand ?? null,
      priceCents: input.priceCents,
      currency: input.currency ?? 'USD',
      categoryId: input.categoryId ?? null,
      categoryName,
    })
    await createInventory(tx, id, input.initialStock ?? 0)
    return loadProduct(tx, id)
  })
  // A 404 for this id may have been cached by a reader who guessed it; new lists should show it.
  await invalidateAfterProductWrite(id)
  return product as Product
}

export async function updateProduct(id: string, patch: ProductPatch): Promise<Product> {
  const product = await db.transaction(async (tx) => {
    const set: Partial<typeof products.$inferInsert> = { updatedAt: new Date() }
    if (patch.name !== undefined) set.name = patch.name.trim()
    if (patch.description !== undefined) set.description = patch.description
    if (patch.brand !== undefined) set.brand = patch.brand
    if (patch.priceCents !== undefined) set.priceCents = patch.priceCents
    if (patch.currency !== undefined) set.currency = patch.currency
    if (patch.categoryId !== undefined) {
      set.categoryId = patch.categoryId
      set.categoryName = await categoryNameOf(tx, patch.categoryId)
    }
    const [row] = await tx
      .update(products)
      .set(set)
      .where(and(eq(products.id, id), isNull(products.deletedAt)))
      .returning({ id: products.id })
    if (!row) throw new NotFoundError('Product')
    return loadProduct(tx, id)
  })
  await invalidateAfterProductWrite(id)
  return product as Product
}

export async function deleteProduct(id: string): Promise<void> {
  const [row] = await db
    .update(products)
    .set({ deletedAt: new Date(), updatedAt: new Date() })
    .where(and(eq(products.id, id), isNull(products.deletedAt)))
    .returning({ id: products.id })
  if (!row) throw new NotFoundError('Product')
  await Promise.all([invalidateAfterProductWrite(id), retireProductStock(id)])
}

/** A product was created, changed or deleted: its page, the featured list and every list page. */
function invalidateAfterProductWrite(id: string): Promise<unknown> {
  return Promise.all([invalidateProduct(id), featuredCache.invalidate(FEATURED_KEY()), invalidateListings()])
}

/** True for a product that exists and is not deleted (through the product cache). */
export async function isLiveProduct(id: string): Promise<boolean> {
  return (await getProductBody(id)) !== null
}
