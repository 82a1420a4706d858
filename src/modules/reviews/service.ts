// Reviews: one per user per product (unique index → 409), rating aggregates on the product row kept
// exact by updating them in the same transaction as the insert.
import { sql } from 'drizzle-orm'
import { reviews } from '../../../db/schema'
import { db } from '../../infra/db'
import { decodeCursor, isPgTimestamp, type Page, toPage } from '../../lib/cursor'
import { ConflictError, NotFoundError, ValidationProblem } from '../../lib/errors'
import { isUuid } from '../../lib/uuid'
import { invalidateProduct } from '../catalog/cache'
import { isLiveProduct } from '../catalog/service'
import { hasPurchased } from '../orders/purchases'
import type { Review, ReviewCreate } from './model'

type ReviewRow = typeof reviews.$inferSelect

const toReview = (r: ReviewRow): Review => ({
  id: r.id,
  productId: r.productId,
  userId: r.userId,
  rating: r.rating,
  title: r.title,
  body: r.body,
  verifiedPurchase: r.verifiedPurchase,
  createdAt: r.createdAt.toISOString(),
})

export async function createReview(productId: string, userId: string, input: ReviewCreate): Promise<Review> {
  const review = await db.transaction(async (tx) => {
    // Conditional update first: it proves the product is live and locks its row, so concurrent
    // reviews of one product serialise their aggregate updates.
    const bumped = await tx.execute(sql`
      update products set rating_count = rating_count + 1, rating_sum = rating_sum + ${input.rating}
      where id = ${productId} and deleted_at is null returning id`)
    if (bumped.length === 0) throw new NotFoundError('Product')
    const verifiedPurchase = await hasPurchased(tx, userId, productId)
    const [row] = await tx
      .insert(reviews)
      .values({ productId, userId, rating: input.rating, title: input.title ?? null, body: input.body ?? null, verifiedPurchase })
      .onConflictDoNothing({ target: [reviews.productId, reviews.userId] })
      .returning()
    // Throwing rolls back the aggregate bump above.
    if (!row) throw new ConflictError('You have already reviewed this product', 'review_exists')
    return toReview(row)
  })
  await invalidateProduct(productId)
  return review
}

/** Newest first, keyset on (created_at, id). */
export async function listReviews(productId: string, limit: number, cursor?: string): Promise<Page<Review>> {
  if (!(await isLiveProduct(productId))) throw new NotFoundError('Product')
  const after = decodeCursor(cursor, 2) as [string, string] | undefined
  if (after && (!isPgTimestamp(after[0]) || !isUuid(after[1]))) {
    throw ValidationProblem.field('query.cursor', 'is not a cursor of this endpoint')
  }
  const rows = (await db.execute(sql`
    select id, product_id, user_id, rating, title, body, verified_purchase, created_at, created_at::text as k
    from reviews where product_id = ${productId}
    ${after ? sql`and (created_at, id) < (${String(after[0])}::timestamptz, ${String(after[1])}::uuid)` : sql``}
    order by created_at desc, id desc limit ${limit + 1}`)) as unknown as (Record<string, unknown> & { k: string })[]
  const page = toPage(rows, limit, (r) => [r.k, r.id])
  return {
    nextCursor: page.nextCursor,
    items: page.items.map((r) =>
      toReview({
        id: r.id as string,
        productId: r.product_id as string,
        userId: r.user_id as string,
        rating: Number(r.rating),
        title: (r.title as string | null) ?? null,
        body: (r.body as string | null) ?? null,
        verifiedPurchase: Boolean(r.verified_purchase),
        createdAt: new Date(r.created_at as string),
      }),
    ),
  }
}
