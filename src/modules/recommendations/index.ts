// Recommendation routes: "frequently bought together" per product and "recommended for you".
import { Elysia } from 'elysia'
import { problems } from '../../lib/problem-schema'
import { authPlugin } from '../../plugins/auth'
import { AlsoBoughtResponse, RecommendationsModel, RecommendationsResponse } from './model'
import { alsoBought, recommendationsFor } from './service'

export const recommendationsModule = new Elysia({ name: 'recommendations', tags: ['recommendations'] })
  .use(authPlugin)
  .get(
    '/products/:id/also-bought',
    async ({ params, query }) => ({ productId: params.id, items: await alsoBought(params.id, query.limit ?? 10) }),
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
  .get('/recommendations', async ({ user, query }) => ({ items: await recommendationsFor(user.id, query.limit ?? 10) }), {
    auth: 'customer',
    query: RecommendationsModel.forYouQuery,
    response: { 200: RecommendationsResponse, ...problems(401, 422, 429, 500) },
    detail: {
      tags: ['recommendations'],
      summary: 'Recommended for you',
      description:
        "Aggregates the neighbour lists of the caller's purchases, excluding what they already bought; new customers get best sellers. Cached per user for ~10 minutes and invalidated when they buy.",
    },
  })
