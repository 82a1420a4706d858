// Recommendation routes: "frequently bought together", "similar products" (content model),
// "recommended for you" by strategy, recommendation events, and the admin CTR metrics.
import { Elysia } from 'elysia'
import { ValidationProblem } from '../../lib/errors'
import { problems } from '../../lib/problem-schema'
import { authPlugin } from '../../plugins/auth'
import { recommendationMetrics, recordEvent } from './events'
import {
  ALSO_BOUGHT_MAX,
  AlsoBoughtResponse,
  EventResponse,
  FOR_YOU_MAX,
  MetricsResponse,
  RecommendationsModel,
  RecommendationsResponse,
  SimilarResponse,
} from './model'
import { serveRecommendations } from './serve'
import { alsoBought } from './service'
import { similarProducts } from './similar'

function checkLimit(limit: number | undefined, max: number): number {
  if (limit === undefined) return 10
  if (limit < 1 || limit > max) throw ValidationProblem.field('query.limit', `must be between 1 and ${max}`)
  return limit
}

export const recommendationsModule = new Elysia({ name: 'recommendations', tags: ['recommendations'] })
  .use(authPlugin)
  .get(
    '/products/:id/also-bought',
    async ({ params, query }) => ({ productId: params.id, items: await alsoBought(params.id, checkLimit(query.limit, ALSO_BOUGHT_MAX)) }),
    {
      params: RecommendationsModel.productParams,
      query: RecommendationsModel.alsoBoughtQuery,
      response: { 200: AlsoBoughtResponse, ...problems(404, 422, 429, 500) },
      detail: {
        tags: ['recommendations'],
        summary: 'Frequently bought together',
        description:
          'Top co-purchased products (cosine similarity over completed orders, min support applied), excluding the product itself, deleted and out-of-stock products.',
      },
    },
  )
  .get(
    '/products/:id/similar',
    async ({ params, query }) => ({
      productId: params.id,
      ...(await similarProducts(params.id, checkLimit(query.limit, ALSO_BOUGHT_MAX))),
    }),
    {
      params: RecommendationsModel.productParams,
      query: RecommendationsModel.alsoBoughtQuery,
      response: { 200: SimilarResponse, ...problems(404, 422, 429, 500) },
      detail: {
        tags: ['recommendations'],
        summary: 'Similar products (content)',
        description:
          'Nearest products by TF-IDF cosine over name, description and category path (the active content model), excluding the product itself, deleted and out-of-stock products. Without a usable content model: co-occurrence neighbours.',
      },
    },
  )
  .get(
    '/recommendations',
    async ({ user, query }) => {
      const r = await serveRecommendations(user.id, query.strategy, checkLimit(query.limit, FOR_YOU_MAX))
      return { recommendationId: r.recommendationId, strategy: r.strategy, items: r.items }
    },
    {
      auth: 'customer',
      query: RecommendationsModel.forYouQuery,
      response: { 200: RecommendationsResponse, ...problems(401, 422, 429, 500) },
      detail: {
        tags: ['recommendations'],
        summary: 'Recommended for you',
        description:
          'Products for the caller by `strategy` (default: their A/B arm, else auto), never what they bought or have in a pending order. Every response has a `recommendationId` for POST /recommendations/events. The co-occurrence list is cached per user for ~10 minutes and invalidated when they buy.',
      },
    },
  )
  .post('/recommendations/events', async ({ user, body }) => recordEvent(user.id, body), {
    auth: 'customer',
    body: RecommendationsModel.eventBody,
    response: { 200: EventResponse, ...problems(400, 401, 422, 429, 500) },
    detail: {
      tags: ['recommendations'],
      summary: 'Record what the user did with a recommendation',
      description:
        "impression | click | add_to_cart | purchase of one item of one of the caller's lists. Counted once per (list, product, type). Unknown recommendationId (or another user's) → 422; a product not in the list → 422; a purchase more than RECS_ATTRIBUTION_HOURS after the list → 422 (paid orders are also attributed by the server).",
    },
  })
  .get(
    '/admin/recommendations/metrics',
    async ({ query }) => {
      const window = query.window ?? '7d'
      const hours = Number(window.slice(0, -1)) * (window.endsWith('d') ? 24 : 1)
      return { window, items: await recommendationMetrics(hours, query.strategy) }
    },
    {
      auth: 'admin',
      query: RecommendationsModel.metricsQuery,
      response: { 200: MetricsResponse, ...problems(401, 403, 422, 429, 500) },
      detail: {
        tags: ['recommendations'],
        summary: 'Recommendation metrics per strategy and A/B arm',
        description:
          'Over lists served in the window: impressions, clicks, add-to-carts and purchases (counts), CTR, add-to-cart and conversion rates per impression.',
      },
    },
  )
