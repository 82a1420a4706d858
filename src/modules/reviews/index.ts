// Reviews routes: a product's reviews, and reviewing a product (verified when the reviewer bought
// it: reviews reads catalog and orders, neither of which knows about reviews). HTTP only.
import { Elysia, t } from 'elysia'
import { problems } from '../../lib/problem-schema'
import { authPlugin } from '../../plugins/auth'
import { IdParams, PageQuery } from '../catalog/model'
import { Review, ReviewCreate } from './model'
import { createReview, listReviews } from './service'

const tags = ['catalog']

export const reviewsModule = new Elysia({ name: 'reviews' })
  .use(authPlugin)
  .get('/products/:id/reviews', ({ params, query }) => listReviews(params.id, query.limit, query.cursor), {
    params: IdParams,
    query: PageQuery,
    response: { 200: t.Object({ items: t.Array(Review), nextCursor: t.Nullable(t.String()) }), ...problems(404, 422) },
    detail: { tags, summary: 'Reviews of a product, newest first' },
  })
  .post(
    '/products/:id/reviews',
    async ({ params, body, user, set }) => {
      const r = await createReview(params.id, user.id, body)
      set.status = 201
      return r
    },
    {
      auth: 'customer',
      params: IdParams,
      body: ReviewCreate,
      response: { 201: Review, ...problems(401, 404, 409, 422) },
      detail: { tags, summary: 'Review a product (one per user; rating aggregates updated atomically)' },
    },
  )
