// TypeBox schemas of the recommendation routes (single source of truth for validation and OpenAPI).
import { t } from 'elysia'

export const ALSO_BOUGHT_MAX = 30

export const RecommendationsModel = {
  productParams: t.Object({ id: t.String({ format: 'uuid', description: 'product id (UUID)' }) }),
  alsoBoughtQuery: t.Object({
    limit: t.Optional(t.Integer({ minimum: 1, maximum: ALSO_BOUGHT_MAX, default: 10, description: `1–${ALSO_BOUGHT_MAX}` })),
  }),
  forYouQuery: t.Object({
    limit: t.Optional(t.Integer({ minimum: 1, maximum: 50, default: 10, description: '1–50' })),
  }),
}

const summary = {
  id: t.String({ format: 'uuid' }),
  name: t.String(),
  priceCents: t.Integer({ description: 'price in minor units' }),
  currency: t.String({ examples: ['USD'] }),
  ratingAvg: t.Nullable(t.Number({ description: 'average rating 1–5, null when unrated' })),
  ratingCount: t.Integer(),
  available: t.Integer({ description: 'units in stock now (always > 0 here)' }),
  score: t.Number({ description: 'similarity (cosine of co-purchase); 0 for popularity fill' }),
}

export const AlsoBoughtResponse = t.Object({
  productId: t.String({ format: 'uuid' }),
  items: t.Array(t.Object(summary)),
})

export const RecommendationsResponse = t.Object({
  items: t.Array(
    t.Object({
      ...summary,
      reason: t.Union([t.Literal('bought_together'), t.Literal('popular')], {
        description: 'bought_together = from the neighbours of your purchases; popular = best-seller fill (cold start)',
      }),
    }),
  ),
})
