// Review schemas (the single source of truth for types).
import { t } from 'elysia'

const Uuid = t.String({ format: 'uuid' })
const Timestamp = t.String({ format: 'date-time' })

export const Review = t.Object({
  id: Uuid,
  productId: Uuid,
  userId: Uuid,
  rating: t.Integer({ minimum: 1, maximum: 5 }),
  title: t.Nullable(t.String()),
  body: t.Nullable(t.String()),
  verifiedPurchase: t.Boolean(),
  createdAt: Timestamp,
})
export type Review = typeof Review.static

export const ReviewCreate = t.Object({
  rating: t.Integer({ minimum: 1, maximum: 5 }),
  title: t.Optional(t.String({ maxLength: 200 })),
  body: t.Optional(t.String({ maxLength: 5000 })),
})
export type ReviewCreate = typeof ReviewCreate.static
