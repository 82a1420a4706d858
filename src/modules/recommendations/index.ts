// Recommendation routes: "frequently bought together" per product and "recommended for you".
import { Elysia } from 'elysia'
import { ValidationProblem } from '../../lib/errors'
import { problems } from '../../lib/problem-schema'
import { authPlugin } from '../../plugins/auth'
import { ALSO_BOUGHT_MAX, AlsoBoughtResponse, FOR_YOU_MAX, RecommendationsModel, RecommendationsResponse } from './model'
import { alsoBought, recommendationsFor } from './service'

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
    '/recommendations',
    async ({ user, query }) => ({ items: await recommendationsFor(user.id, checkLimit(query.limit, FOR_YOU_MAX)) }),
    {
      auth: 'customer',
      query: RecommendationsModel.forYouQuery,
      response: { 200: RecommendationsResponse, ...problems(401, 422, 429, 500) },
      detail: {
        tags: ['recommendations'],
        summary: 'Recommended for you',
        description:
          "Aggregates the neighbour lists of the caller's purchases, excluding what they already bought; new customers get best sellers. Cached per user for ~10 minutes and invalidated when they buy.",
      },
    },
  )
