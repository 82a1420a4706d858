// Risk admin routes (tag `risk`): the rules (GET/PUT, audited) and the review queue (list, read,
// approve, reject). The app hands in what a decision does to an order (orders implements it), so
// this module never imports orders.
import { Elysia } from 'elysia'
import { clientIp } from '../../lib/client-ip'
import { problems } from '../../lib/problem-schema'
import { authPlugin } from '../../plugins/auth'
import { requestIdPlugin } from '../../plugins/request-id'
import { ReviewDetail, ReviewListQuery, ReviewPage, ReviewParams, RiskRules, RiskRulesView } from './model'
import { decideReview, getReview, listReviews, type OrderReviewActions } from './review'
import { getRules, putRules } from './rules'

const tags = ['risk', 'admin']

export const riskModule = (actions: OrderReviewActions) =>
  new Elysia({ name: 'risk', prefix: '/admin/risk', tags })
    .use(requestIdPlugin)
    .use(authPlugin)
    .get('/rules', () => getRules(), {
      auth: 'admin',
      response: { 200: RiskRulesView, ...problems(401, 403, 429) },
      detail: { tags, summary: 'Risk rules: thresholds, weights and windows (built-in defaults until saved)' },
    })
    .put('/rules', ({ body, user, request, server, requestId }) => putRules(body, user.id, { ip: clientIp(server, request), requestId }), {
      auth: 'admin',
      body: RiskRules,
      response: { 200: RiskRulesView, ...problems(400, 401, 403, 422, 429) },
      detail: {
        tags,
        summary: 'Replace the risk rules',
        description:
          'The whole document (every rule). Audited (`risk_rules_change`, before and after). Takes effect at once in this process, within 2 s in the others. `blockThreshold` < `reviewThreshold` → 422.',
      },
    })
    .get('/reviews', ({ query }) => listReviews(query), {
      auth: 'admin',
      query: ReviewListQuery,
      response: { 200: ReviewPage, ...problems(401, 403, 422, 429) },
      detail: { tags, summary: 'Orders that reached the review threshold, newest first (filter by status)' },
    })
    .get('/reviews/:orderId', ({ params }) => getReview(params.orderId, actions), {
      auth: 'admin',
      params: ReviewParams,
      response: { 200: ReviewDetail, ...problems(401, 403, 404, 422, 429) },
      detail: { tags, summary: "One review: score, reasons, the customer's pattern and linked accounts" },
    })
    .post(
      '/reviews/:orderId/approve',
      ({ params, user, request, server, requestId }) =>
        decideReview(params.orderId, 'approve', user, { ip: clientIp(server, request), requestId }, actions),
      {
        auth: 'admin',
        params: ReviewParams,
        response: { 200: ReviewDetail, ...problems(401, 403, 404, 409, 422, 429) },
        detail: {
          tags,
          summary: 'Approve: a held order continues to payment',
          description:
            'Audited, idempotent (approving again → 200, nothing more happens). A held order becomes `pending_payment` with a fresh reservation window. Already rejected → 409 `review_already_decided`.',
        },
      },
    )
    .post(
      '/reviews/:orderId/reject',
      ({ params, user, request, server, requestId }) =>
        decideReview(params.orderId, 'reject', user, { ip: clientIp(server, request), requestId }, actions),
      {
        auth: 'admin',
        params: ReviewParams,
        response: { 200: ReviewDetail, ...problems(401, 403, 404, 409, 422, 429) },
        detail: {
          tags,
          summary: 'Reject: the order is cancelled (stock released) or, if paid, refunded',
          description: 'Audited, idempotent (rejecting again → 200). Already approved → 409 `review_already_decided`.',
        },
      },
    )
