// TypeBox schemas of the recommendation routes (single source of truth for validation and OpenAPI).
import { t } from 'elysia'

export const ALSO_BOUGHT_MAX = 30
export const FOR_YOU_MAX = 50

// Bounds are checked in the controller (checkLimit), not with minimum/maximum here: Elysia 1.4
// reports a failed bound on a coerced query number as property "root", so the 422 could not name
// `query.limit`. A non-integer still fails schema validation with the right field.
const limit = (max: number) => t.Optional(t.Integer({ description: `1–${max}, default 10` }))

export const RecommendationsModel = {
  productParams: t.Object({ id: t.String({ format: 'uuid', description: 'product id (UUID)' }) }),
  alsoBoughtQuery: t.Object({ limit: limit(ALSO_BOUGHT_MAX) }),
  forYouQuery: t.Object({ limit: limit(FOR_YOU_MAX) }),
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
