// TypeBox schemas of the recommendation routes (single source of truth for validation and OpenAPI).
import { t } from 'elysia'

export const ALSO_BOUGHT_MAX = 30
export const FOR_YOU_MAX = 50

// Bounds are checked in the controller (checkLimit), not with minimum/maximum here: Elysia 1.4
// reports a failed bound on a coerced query number as property "root", so the 422 could not name
// `query.limit`. A non-integer still fails schema validation with the right field.
const limit = (max: number) => t.Optional(t.Integer({ description: `1–${max}, default 10` }))

export const STRATEGY_NAMES = ['auto', 'blend', 'als', 'content', 'cooccurrence', 'segment', 'popular'] as const
export const EVENT_TYPES = ['impression', 'click', 'add_to_cart', 'purchase'] as const
const concrete = t.UnionEnum(['blend', 'als', 'content', 'cooccurrence', 'segment', 'popular'], {
  description: 'the strategy that produced the list (auto resolved; a model strategy without a usable model falls back to cooccurrence)',
})

export const RecommendationsModel = {
  productParams: t.Object({ id: t.String({ format: 'uuid', description: 'product id (UUID)' }) }),
  alsoBoughtQuery: t.Object({ limit: limit(ALSO_BOUGHT_MAX) }),
  forYouQuery: t.Object({
    limit: limit(FOR_YOU_MAX),
    strategy: t.Optional(
      t.UnionEnum(STRATEGY_NAMES, {
        description:
          'default: your A/B arm when RECS_EXPERIMENT is set, else auto (cold start → segment/popular, else blend, else co-occurrence)',
      }),
    ),
  }),
  eventBody: t.Object({
    recommendationId: t.String({ format: 'uuid', description: 'from a GET /recommendations response' }),
    productId: t.String({ format: 'uuid', description: 'an item of that list' }),
    type: t.UnionEnum(EVENT_TYPES),
  }),
  metricsQuery: t.Object({
    window: t.Optional(
      t.String({
        pattern: '^[1-9][0-9]{0,3}[hd]$',
        description: 'lists served in the last N hours (h) or days (d); default 7d',
        examples: ['24h', '7d'],
      }),
    ),
    strategy: t.Optional(t.UnionEnum(['blend', 'als', 'content', 'cooccurrence', 'segment', 'popular'])),
  }),
}

export const EventResponse = t.Object({ recorded: t.Boolean({ description: 'false when this event was already recorded (counted once)' }) })

export const MetricsResponse = t.Object({
  window: t.String(),
  items: t.Array(
    t.Object({
      strategy: t.String(),
      arm: t.String({ description: "the A/B arm ('' = explicit strategy or no experiment)" }),
      lists: t.Integer(),
      impressions: t.Integer(),
      clicks: t.Integer(),
      addToCarts: t.Integer(),
      purchases: t.Integer(),
      ctr: t.Nullable(t.Number({ description: 'clicks / impressions; null without impressions' })),
      addToCartRate: t.Nullable(t.Number()),
      conversionRate: t.Nullable(t.Number({ description: 'purchases / impressions' })),
    }),
  ),
})

const summary = {
  id: t.String({ format: 'uuid' }),
  name: t.String(),
  priceCents: t.Integer({ description: 'price in minor units' }),
  currency: t.String({ examples: ['USD'] }),
  ratingAvg: t.Nullable(t.Number({ description: 'average rating 1–5, null when unrated' })),
  ratingCount: t.Integer(),
  available: t.Integer({ description: 'units in stock now (always > 0 here)' }),
  score: t.Number({
    description:
      'the strategy score: cosine (co-purchase or content), ALS affinity, blend probability, best-seller position; 0 for popularity fill',
  }),
}

export const AlsoBoughtResponse = t.Object({
  productId: t.String({ format: 'uuid' }),
  items: t.Array(t.Object(summary)),
})

export const SimilarResponse = t.Object({
  productId: t.String({ format: 'uuid' }),
  strategy: t.UnionEnum(['content', 'cooccurrence'], { description: 'content; cooccurrence when no content model is usable' }),
  items: t.Array(t.Object(summary)),
})

export const RecommendationsResponse = t.Object({
  recommendationId: t.String({ format: 'uuid', description: 'send it back with POST /recommendations/events' }),
  strategy: concrete,
  items: t.Array(
    t.Object({
      ...summary,
      reason: t.UnionEnum(['bought_together', 'popular', 'similar_customers', 'similar_products', 'segment_best_seller', 'blend'], {
        description:
          'bought_together = neighbours of your purchases; popular = best-seller fill (cold start); similar_customers = ALS; similar_products = content; segment_best_seller = your segment; blend = the learned ranker',
      }),
    }),
  ),
})
